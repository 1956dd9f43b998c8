"""TopicReader (consume without a group) over the in-memory cluster: bounds, filters, failures."""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest

from kafkactl.config import load_settings
from kafkactl.consumer.filters import build_filter
from kafkactl.consumer.reader import ReadOptions, TopicReader
from kafkactl.errors import KafkactlError, OptionError, UsageError
from kafkactl.handlers.base import HandlerBase
from kafkactl.kafka.ports import TopicPartition
from kafkactl.message import Message
from kafkactl.positions import Position, ReadProgress
from tests.fakes import FakeCluster

SETTINGS = load_settings(env={}, config_path=os.devnull)


class Collect(HandlerBase):
    """A handler that keeps what it saw and fails on the offsets it is told to."""

    def __init__(self, fail_on: set[int] | None = None, exc: BaseException | None = None) -> None:
        self.seen: list[tuple[int, int]] = []
        self.fail_on = fail_on or set()
        self.exc = exc or RuntimeError("downstream said no")
        self.closed = False

    def handle(self, message: Message) -> None:
        if message.offset in self.fail_on:
            raise self.exc
        self.seen.append((message.partition, message.offset))

    def close(self) -> None:
        self.closed = True


def cluster_with(per_partition: int = 5, partitions: int = 2) -> FakeCluster:
    cluster = FakeCluster()
    cluster.create_topic("t", partitions)
    for p in range(partitions):
        for i in range(per_partition):
            cluster.produce("t", b"v%d" % i, b"k%d" % (i % 2), [("n", b"%d" % i)], p, 1000 + i)
    return cluster


def read(cluster: FakeCluster, handler: Any, **options: Any) -> Any:
    defaults: dict[str, Any] = {"stop": Position("end"), "poll_timeout_s": 0.01}
    reader = TopicReader(
        SETTINGS,
        ReadOptions(topics=["t"], **{**defaults, **options}),
        handler,
        connect_consumer=cluster.connect_consumer,
        connect_cluster=cluster.connect_admin,
    )
    return reader.run()


def test_reads_everything_commits_nothing_and_reads_again_the_same() -> None:
    cluster = cluster_with()
    first, second = Collect(), Collect()
    summary = read(cluster, first)
    read(cluster, second)
    assert sorted(first.seen) == sorted(second.seen) == [(p, o) for p in (0, 1) for o in range(5)]
    assert summary.metrics["processed"] == 10 and summary.stopped_by == "end"
    assert cluster.committed_offsets("kafkactl") == {} and first.closed


@pytest.mark.parametrize(
    ("start", "stop", "expected"),
    [
        (Position("offset", 2), Position("offset", 4), [2, 3]),
        (Position("last", 2), Position("end"), [3, 4]),
        (Position("last", 99), Position("end"), [0, 1, 2, 3, 4]),
        (Position("time", 1003), Position("end"), [3, 4]),
        (Position("beginning"), Position("time", 1002), [0, 1]),
        (Position("end"), Position("end"), []),
        (Position("offset", 4), Position("offset", 1), []),
    ],
)
def test_from_and_to(start: Position, stop: Position, expected: list[int]) -> None:
    handler = Collect()
    read(cluster_with(), handler, start=start, stop=stop, partitions=[1])
    assert handler.seen == [(1, o) for o in expected]


def test_partition_out_of_range_and_missing_topic() -> None:
    with pytest.raises(OptionError) as info:
        read(cluster_with(), Collect(), partitions=[7])
    # the core names its field; the CLI words it with the flag
    assert info.value.option == "partitions"
    assert isinstance(info.value, UsageError)
    assert str(info.value.worded("--partition")).startswith("--partition 7: topic ")
    with pytest.raises(KafkactlError, match="does not exist"):
        read(FakeCluster(), Collect())


def test_filters_count_filtered() -> None:
    handler = Collect()
    summary = read(cluster_with(), handler, record_filter=build_filter("k1", ["n"], "v[13]"))
    assert sorted(handler.seen) == [(0, 1), (0, 3), (1, 1), (1, 3)]
    assert summary.metrics["filtered"] == 6


def test_count_stops_after_n_handled() -> None:
    handler = Collect()
    summary = read(cluster_with(), handler, count=3, partitions=[0])
    assert handler.seen == [(0, 0), (0, 1), (0, 2)] and summary.stopped_by == "count"


@pytest.mark.parametrize("exc", [RuntimeError("boom"), KeyboardInterrupt(), SystemExit(3)])
def test_on_failure_stop_names_the_record(exc: BaseException) -> None:
    handler = Collect(fail_on={2}, exc=exc)
    summary = read(cluster_with(), handler, partitions=[0])
    assert summary.stopped_by == "failure" and "t[0]@2" in summary.failure
    assert handler.seen == [(0, 0), (0, 1)]


def test_on_failure_skip_goes_on() -> None:
    handler = Collect(fail_on={1, 3})
    summary = read(cluster_with(), handler, partitions=[0], on_failure="skip")
    assert handler.seen == [(0, 0), (0, 2), (0, 4)]
    assert summary.metrics["skipped"] == 2 and summary.metrics["failed"] == 2


def test_progress_counts_offsets_from_the_resolved_starts_to_the_stops() -> None:
    cluster = cluster_with(per_partition=1200)
    seen: list[ReadProgress | None] = []
    reader = TopicReader(
        SETTINGS,
        ReadOptions(
            topics=["t"],
            start=Position("offset", 100),
            stop=Position("offset", 1100),
            poll_timeout_s=0.01,
        ),
        Collect(),
        connect_consumer=cluster.connect_consumer,
        connect_cluster=cluster.connect_admin,
    )
    assert reader.progress() is None  # not resolved yet
    reader.handler = type(
        "Watch", (HandlerBase,), {"handle": lambda _s, _m: seen.append(reader.progress())}
    )()
    reader.run()
    tp0, tp1 = TopicPartition("t", 0), TopicPartition("t", 1)
    assert reader.range is not None
    assert dict(reader.range.starts) == {tp0: 100, tp1: 100}
    assert dict(reader.range.stops) == {tp0: 1100, tp1: 1100}
    assert seen[0] == ReadProgress(0, 2000)
    done = [p.done for p in seen if p is not None]
    assert done == sorted(done) and any(0 < d < 2000 for d in done)  # moves along, never back
    assert reader.progress() == ReadProgress(2000, 2000)


def test_a_read_to_a_stop_midway_leaves_the_rest_as_lag() -> None:
    summary = read(cluster_with(per_partition=10), Collect(), stop=Position("offset", 4))
    assert summary.metrics["processed"] == 8
    # The consumer fetched past the stop; lag counts from where the read stopped.
    assert summary.metrics["lag"] == 12


def test_following_without_a_stop_has_no_progress_but_a_lag() -> None:
    cluster = cluster_with(per_partition=10)
    reader = TopicReader(
        SETTINGS,
        ReadOptions(topics=["t"], count=5, partitions=[0], poll_timeout_s=0.01),
        Collect(),
        connect_consumer=cluster.connect_consumer,
        connect_cluster=cluster.connect_admin,
    )
    summary = reader.run()
    assert reader.progress() is None
    assert summary.metrics["lag"] == 5  # stopped by --count after 5 of 10


class Lines:
    """A print handler's stream: keeps what was flushed; flushes fail once `error` is set."""

    def __init__(self) -> None:
        self.buffered = b""
        self.flushed = b""
        self.error: OSError | None = None

    def write(self, data: bytes) -> int:
        self.buffered += data
        return len(data)

    def flush(self) -> None:
        if self.error is not None:
            raise self.error
        self.flushed, self.buffered = self.flushed + self.buffered, b""

    def fileno(self) -> int:
        raise OSError("no descriptor")


def test_lines_are_flushed_as_batches_arrive_not_at_exit() -> None:
    from kafkactl.handlers import PrintHandler

    cluster = cluster_with(per_partition=3, partitions=1)
    stream = Lines()
    flushed_while_reading: list[bytes] = []
    reader = TopicReader(
        SETTINGS,
        ReadOptions(topics=["t"], poll_timeout_s=0.01),  # following: no stop
        PrintHandler(stream, encoder=lambda m: m.value or b""),  # type: ignore[arg-type]
        on_tick=lambda _: None,
        connect_consumer=cluster.connect_consumer,
        connect_cluster=cluster.connect_admin,
    )
    thread = threading.Thread(target=reader.run, daemon=True)
    thread.start()
    assert cluster.wait_for(lambda: stream.flushed == b"v0\nv1\nv2\n", 5.0)
    flushed_while_reading.append(stream.flushed)
    reader.request_stop("signal")
    thread.join(5.0)
    assert flushed_while_reading == [b"v0\nv1\nv2\n"]


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (
            OSError(28, "No space left on device"),
            "cannot write to stdout: No space left on device (errno 28, ENOSPC); consume stopped",
        ),
        (
            OSError(27, "File too large"),
            "cannot write to stdout: File too large (errno 27, EFBIG); consume stopped",
        ),
        (
            BrokenPipeError(32, "Broken pipe"),
            "stdout closed (broken pipe): its reader went away; consume stopped",
        ),
    ],
)
def test_output_that_cannot_be_written_stops_the_read_with_its_cause(
    error: OSError, line: str
) -> None:
    from kafkactl.handlers import PrintHandler

    stream = Lines()
    stream.error = error
    summary = read(cluster_with(), PrintHandler(stream))  # type: ignore[arg-type]
    assert summary.stopped_by == "output error"
    assert summary.failure == line
    assert stream.flushed == b""
