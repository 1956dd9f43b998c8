"""ConsumerPipeline with the print handler and with a failing dedupe store (issue 22): output is
part of the commit rule, the printer needs no tiers or DLQ, a failing store stops the run."""

from __future__ import annotations

import errno
import threading

from kafkactl.consumer.dedupe import MemoryDedupeStore
from kafkactl.consumer.options import ConsumeOptions
from kafkactl.handlers import PrintHandler
from kafkactl.kafka.ports import TopicPartition
from kafkactl.message import Message
from tests.fakes import FakeCluster
from tests.unit.test_consumer import (
    DLQ,
    GROUP,
    MAIN,
    PipelineRun,
    ScriptedHandler,
    committed,
    ends,
    make_cluster,
)


class FailingStream:
    """A binary stream whose flushes fail with `errno` once `broken` is set."""

    def __init__(self, error: int = errno.ENOSPC) -> None:
        self.flushed = 0
        self.pending = 0
        self.error = error
        self.broken = threading.Event()

    def write(self, data: bytes) -> int:
        self.pending += data.count(b"\n")
        return len(data)

    def flush(self) -> None:
        if self.broken.is_set():
            raise OSError(self.error, errno.errorcode[self.error])
        self.flushed += self.pending
        self.pending = 0

    def fileno(self) -> int:
        raise OSError("no descriptor")


def printer(stream: FailingStream, **kw: object) -> PrintHandler:
    handler = PrintHandler(stream, **kw)  # type: ignore[arg-type]
    handler.succeeded_at = lambda *a: True  # type: ignore[attr-defined]  # (commit checker)
    return handler


def test_the_printer_in_a_group_needs_no_tiers_or_dlq():
    cluster = FakeCluster()
    cluster.create_topic(MAIN, 2)  # no retry tier, no DLQ
    for i in range(20):
        cluster.produce(MAIN, b"v%d" % i, key=b"k%d" % i)
    stream = FailingStream()

    pipeline = PipelineRun(cluster, printer(stream))  # type: ignore[arg-type]
    summary = pipeline.start().wait()

    assert summary.stopped_by == "end" and summary.failure is None
    assert stream.flushed == 20
    assert committed(cluster, MAIN) == ends(cluster, MAIN)
    assert pipeline.pipeline.options.on_failure == "stop"
    assert cluster.topics() == [MAIN]  # no tier or DLQ asked for, made, or written to


def test_a_printer_that_cannot_encode_a_record_stops_there_without_a_dlq():
    def encoder(message: Message) -> bytes:
        if message.value == b"boom":
            raise ValueError("encoder bug")
        return message.value or b""

    cluster = FakeCluster()
    cluster.create_topic(MAIN, 1)
    for value in (b"ok-0", b"boom", b"ok-2"):
        cluster.produce(MAIN, value, key=value)

    summary = PipelineRun(cluster, printer(FailingStream(), encoder=encoder)).start().wait()  # type: ignore[arg-type]

    assert summary.stopped_by == "failure"
    assert summary.failure is not None and f"{MAIN}[0]@1" in summary.failure
    assert committed(cluster, MAIN) == {TopicPartition(MAIN, 0): 1}


def test_a_full_disk_stops_the_run_and_commits_only_flushed_lines():
    cluster = make_cluster()
    for i in range(5):
        cluster.produce(MAIN, b"ok-%d" % i, key=b"k")
    stream = FailingStream(errno.ENOSPC)
    pipeline = PipelineRun(cluster, printer(stream), exit_at_end=False).start()  # type: ignore[arg-type]
    tp = TopicPartition(MAIN, 0)
    assert cluster.wait_for(lambda: (cluster.committed(GROUP, tp) or (0,))[0] == 5, 5.0)
    stream.broken.set()
    for i in range(5, 10):
        cluster.produce(MAIN, b"ok-%d" % i, key=b"k")  # buffered, never flushed
    summary = pipeline.wait()

    assert summary.stopped_by == "output error"
    assert summary.failure is not None
    assert summary.failure.startswith(
        "cannot write to stdout: ENOSPC (errno 28, ENOSPC); consume stopped: offsets are "
        "committed only up to the last record whose output was written"
    )
    assert cluster.committed(GROUP, tp).offset == 5
    assert cluster.records(DLQ) == []  # an output error is no failure of the record


class MarkFailsAfter(MemoryDedupeStore):
    """A store whose lookups work and whose marks fail after the first `n` (a full disk)."""

    durable = True  # it stands for a store on disk: each success is marked as it comes

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n
        self.marks = 0
        self.failed = 0

    def mark(self, group: str, message_id: str) -> None:
        self.marks += 1
        if self.marks > self.n:
            self.failed += 1
            raise OSError("disk I/O error")
        super().mark(group, message_id)


def test_a_store_that_cannot_record_stops_the_run_with_the_handled_messages_committed():
    cluster = make_cluster()
    for i in range(200):
        cluster.produce(MAIN, b"ok-%d" % i, key=b"k%d" % (i % 7))
    handler = ScriptedHandler()
    pipeline = PipelineRun(cluster, handler, workers=1)
    store = pipeline.pipeline.dedupe = MarkFailsAfter(3)

    summary = pipeline.start().wait()

    assert summary.stopped_by == "dedupe error"
    assert summary.failure is not None
    assert summary.failure.startswith("dedupe store failed (OSError: disk I/O error); ")
    # The fourth message did succeed: complete, committed. Nothing was started after it.
    assert len(handler.succeeded()) == 4 == store.marks and store.failed == 1
    # Committed as far as the commit rule goes: up to the first message not handled (a worker
    # takes a key's run of messages at once, so the ones handled need not be contiguous).
    handled = {call.offset for call in handler.succeeded()}
    first_unhandled = min(set(range(200)) - handled)
    assert first_unhandled >= 1
    assert committed(cluster, MAIN) == {TopicPartition(MAIN, 0): first_unhandled}


def test_the_printer_with_a_store_that_cannot_record_stops_too():
    cluster = FakeCluster()
    cluster.create_topic(MAIN, 1)
    for i in range(50):
        cluster.produce(MAIN, b"v%d" % i, key=b"k")
    stream = FailingStream()
    pipeline = PipelineRun(cluster, printer(stream))  # type: ignore[arg-type]
    pipeline.pipeline.dedupe = MarkFailsAfter(10)

    summary = pipeline.start().wait()

    assert summary.stopped_by == "dedupe error"
    assert committed(cluster, MAIN) == {TopicPartition(MAIN, 0): 11}
    assert stream.flushed == 11


def test_options_settle_on_failure_per_handler():
    options = ConsumeOptions(topics=[MAIN], group=GROUP)
    assert options.for_handler(ScriptedHandler()).on_failure == "dlq"  # type: ignore[arg-type]
    assert options.for_handler(PrintHandler(FailingStream())).on_failure == "stop"  # type: ignore[arg-type]
    chosen = ConsumeOptions(topics=[MAIN], group=GROUP, on_failure="dlq")
    assert chosen.for_handler(PrintHandler(FailingStream())).on_failure == "dlq"  # type: ignore[arg-type]
