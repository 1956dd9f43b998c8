"""ConsumerPipeline end to end over the in-memory cluster: routing, commits, rebalances, stops."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from typing import Any

import pytest

from kafkactl import headers as hdr
from kafkactl.config import Settings, load_settings
from kafkactl.consumer.dedupe import MemoryDedupeStore
from kafkactl.consumer.options import ConsumeOptions, ConsumeSummary
from kafkactl.consumer.pipeline import ConsumerPipeline
from kafkactl.errors import FatalError
from kafkactl.handlers.base import HandlerBase
from kafkactl.kafka.ports import ConsumedRecord, TopicPartition
from kafkactl.message import Message
from kafkactl.metrics import Metrics
from kafkactl.producer import Publisher
from kafkactl.topology import dlq_topic, pipeline_topics, retry_topic
from tests.fakes import FakeCluster, FakeConsumer, FakeProducer

MAIN = "orders"
GROUP = "billing"
SETTINGS = load_settings(env={"KAFKA_RETRY_DELAYS": "100ms,200ms"}, config_path=os.devnull)
T1 = retry_topic(SETTINGS, MAIN, 1, GROUP)
T2 = retry_topic(SETTINGS, MAIN, 2, GROUP)
DLQ = dlq_topic(SETTINGS, MAIN, GROUP)
RUN_TIMEOUT = 10.0


class CustomBaseError(BaseException):
    """A BaseException of a user's own."""


BASE_EXCEPTIONS: dict[str, type[BaseException]] = {
    "KeyboardInterrupt": KeyboardInterrupt,
    "SystemExit": SystemExit,
    "GeneratorExit": GeneratorExit,
    "CustomBaseError": CustomBaseError,
}


@dataclass(frozen=True)
class Call:
    """One handler call."""

    topic: str
    partition: int
    offset: int
    value: bytes | None
    attempt: int
    message_id: str
    at_ms: int
    ok: bool


class ScriptedHandler(HandlerBase):
    """Succeeds or fails by value: `flaky` fails its first attempt, `bad*` always (retryable),
    `fatal` with FatalError, b"\\xff" is not UTF-8 (decode); anything else succeeds.
    `block(value)` makes calls for that value wait for a gate."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._gates: dict[bytes, tuple[threading.Event, threading.Event]] = {}

    def block(self, value: bytes) -> tuple[threading.Event, threading.Event]:
        """(started, gate): `started` is set when a call for `value` begins; it waits for gate."""
        pair = self._gates[value] = (threading.Event(), threading.Event())
        return pair

    def handle(self, message: Message) -> None:
        gate = self._gates.get(message.value or b"")
        if gate is not None:
            gate[0].set()
            assert gate[1].wait(RUN_TIMEOUT), "the test never opened the gate"
        ok = False
        try:
            value = message.value or b""
            text = message.text()  # raises UnicodeDecodeError on b"\xff": a decode failure
            if text.startswith("bad"):
                raise ValueError("bad value")
            if text == "fatal":
                raise FatalError("no such customer")
            if text == "flaky" and message.attempt == 1:
                raise RuntimeError("flaky, try again")
            if text.startswith("raise:"):
                raise BASE_EXCEPTIONS[text[len("raise:") :]](f"{text} from the handler")
            ok = True
        finally:
            call = Call(
                message.topic,
                message.partition,
                message.offset,
                value,
                message.attempt,
                message.message_id,
                int(time.time() * 1000),
                ok,
            )
            with self._lock:
                self.calls.append(call)

    def succeeded(self) -> list[Call]:
        """Calls that returned normally."""
        with self._lock:
            return [c for c in self.calls if c.ok]

    def succeeded_at(self, topic: str, partition: int, offset: int) -> bool:
        """A call for this record returned normally."""
        with self._lock:
            return any(
                c.ok and (c.topic, c.partition, c.offset) == (topic, partition, offset)
                for c in self.calls
            )


def make_cluster(partitions: int = 1) -> FakeCluster:
    """The main topic, its retry tiers and its DLQ."""
    cluster = FakeCluster()
    plans = pipeline_topics(SETTINGS, MAIN, GROUP, with_retry=True)
    cluster.create_topics((p.name for p in plans), partitions)
    return cluster


def copies_of(cluster: FakeCluster, partition: int, offset: int) -> list[ConsumedRecord]:
    """Retry and DLQ copies of orders[partition]@offset."""
    return [
        r
        for topic in (T1, T2, DLQ)
        for r in cluster.records(topic)
        if hdr.get_text(r.headers, hdr.ORIGINAL_TOPIC) == MAIN
        and hdr.get_int(r.headers, hdr.ORIGINAL_PARTITION) == partition
        and hdr.get_int(r.headers, hdr.ORIGINAL_OFFSET) == offset
    ]


class PipelineRun:
    """A ConsumerPipeline on the fakes, run on a thread of its own.

    Every commit of a main-topic partition is checked as it happens: each offset below it must
    have been handled successfully or have a retry/DLQ copy in the cluster already.
    """

    def __init__(
        self,
        cluster: FakeCluster,
        handler: ScriptedHandler,
        settings: Settings = SETTINGS,
        producer: FakeProducer | None = None,
        **options: Any,
    ) -> None:
        self.cluster = cluster
        self.handler = handler
        self.metrics = Metrics()
        self.violations: list[str] = []
        self.summary: ConsumeSummary | None = None
        self.error: BaseException | None = None
        defaults: dict[str, Any] = {
            "workers": 4,
            "exit_at_end": True,
            "commit_interval": 0.05,
            "poll_timeout_ms": 10,
            "drain_timeout": 2.0,
            "shutdown_timeout": 5.0,
        }
        opts = ConsumeOptions(topics=[MAIN], group=GROUP, **{**defaults, **options})

        def connect_publisher(s: Settings, metrics: Metrics) -> Publisher:
            return Publisher(s, metrics, producer=producer or FakeProducer(cluster))

        self.pipeline = ConsumerPipeline(
            settings,
            opts,
            handler,
            MemoryDedupeStore(),
            self.metrics,
            connect_consumer=cluster.connect_consumer,
            connect_publisher=connect_publisher,
            connect_cluster=cluster.connect_admin,
        )
        commit = cluster.commit

        def checked_commit(group: str, offsets: dict, metadata: Any) -> None:
            for tp, offset in offsets.items():
                if tp.topic != MAIN:
                    continue
                for o in range(offset):
                    if not handler.succeeded_at(MAIN, tp.partition, o) and not copies_of(
                        cluster, tp.partition, o
                    ):
                        self.violations.append(f"commit {offset} passed unfinished {tp}@{o}")
            commit(group, offsets, metadata)

        cluster.commit = checked_commit  # type: ignore[method-assign]
        self._thread = threading.Thread(target=self._run, name="pipeline", daemon=True)

    def _run(self) -> None:
        try:
            self.summary = self.pipeline.run()
        except BaseException as exc:
            self.error = exc

    def start(self) -> PipelineRun:
        self._thread.start()
        return self

    @property
    def consumer(self) -> FakeConsumer:
        assert self.cluster.wait_for(lambda: bool(self.cluster.consumers), 5.0)
        return self.cluster.consumers[0]

    def wait(self, timeout: float = RUN_TIMEOUT) -> ConsumeSummary:
        self._thread.join(timeout)
        if self._thread.is_alive():
            self.pipeline.request_stop("test timeout")
            self._thread.join(5.0)
            pytest.fail(f"the pipeline did not stop within {timeout}s: {self.metrics.snapshot()}")
        if self.error is not None:
            raise self.error
        assert self.summary is not None
        assert self.violations == []
        return self.summary


def run(cluster: FakeCluster, handler: ScriptedHandler, **options: Any) -> PipelineRun:
    """Start a pipeline and wait for it to stop by itself."""
    pipeline = PipelineRun(cluster, handler, **options).start()
    pipeline.wait()
    return pipeline


def partitions_of(cluster: FakeCluster, *topics: str) -> list[TopicPartition]:
    return [TopicPartition(t, p) for t in topics for p in range(cluster.partitions(t))]


def ends(cluster: FakeCluster, *topics: str) -> dict[TopicPartition, int]:
    """End offset of every partition of the topics."""
    return {tp: cluster.end_offset(tp) for tp in partitions_of(cluster, *topics)}


def committed(cluster: FakeCluster, *topics: str) -> dict[TopicPartition, int]:
    """The group's committed offset of every partition of the topics (0: nothing committed)."""
    done = cluster.committed_offsets(GROUP)
    return {tp: done.get(tp, 0) for tp in partitions_of(cluster, *topics)}


# --- every message ends processed or in the DLQ ---------------------------------------------


def test_every_message_ends_processed_or_in_the_dlq_with_the_retry_headers():
    cluster = make_cluster(partitions=2)
    values = [b"ok-%d" % i for i in range(8)] + [b"flaky", b"bad", b"fatal", b"\xff"]
    for i, value in enumerate(values):
        cluster.produce(MAIN, value, key=b"key-%d" % i)
    own_id = [(hdr.MESSAGE_ID, b"order-42"), ("trace", b"t-1")]
    cluster.produce(MAIN, b"bad-own-id", key=b"key-x", headers=own_id)
    handler = ScriptedHandler()

    pipeline = run(cluster, handler)

    assert pipeline.summary.stopped_by == "end"
    done = sorted(c.value for c in handler.succeeded())
    assert done == sorted([*values[:8], b"flaky"])
    by_value = {r.value: r for r in cluster.records(MAIN)}
    dead = {r.value: r for r in cluster.records(DLQ)}
    assert sorted(dead) == sorted([b"bad", b"bad-own-id", b"fatal", b"\xff"])
    for value, record in dead.items():
        origin = by_value[value]
        h = record.headers
        assert record.key == origin.key
        assert hdr.get_text(h, hdr.ORIGINAL_TOPIC) == MAIN
        assert hdr.get_int(h, hdr.ORIGINAL_PARTITION) == origin.partition
        assert hdr.get_int(h, hdr.ORIGINAL_OFFSET) == origin.offset
        assert hdr.get_int(h, hdr.ORIGINAL_TIMESTAMP) == origin.timestamp
        assert hdr.get_text(h, hdr.GROUP) == GROUP
        default_id = f"{MAIN}/{origin.partition}/{origin.offset}"
        assert hdr.get_text(h, hdr.MESSAGE_ID) == ("order-42" if origin.headers else default_id)
        assert hdr.get(h, "trace") == hdr.get(origin.headers, "trace")  # other headers kept
        assert hdr.get(h, hdr.NOT_BEFORE) is None  # the DLQ copy is never due
        assert hdr.get_int(h, hdr.FIRST_FAILURE) <= hdr.get_int(h, hdr.LAST_FAILURE)
    bad = dead[b"bad"].headers
    assert hdr.get_int(bad, hdr.ATTEMPT) == 3  # main, tier 1, tier 2
    assert hdr.get_text(bad, hdr.ERROR_KIND) == "retryable"
    assert hdr.get_text(bad, hdr.ERROR_CLASS) == "ValueError"
    assert hdr.get_text(bad, hdr.ERROR_MESSAGE) == "bad value"
    assert "ValueError: bad value" in hdr.get_text(bad, hdr.ERROR_TRACE)
    fatal = dead[b"fatal"].headers
    assert hdr.get_int(fatal, hdr.ATTEMPT) == 1
    assert hdr.get_text(fatal, hdr.ERROR_KIND) == "fatal"
    assert hdr.get_text(fatal, hdr.ERROR_CLASS) == "kafkactl.errors.FatalError"
    decode = dead[b"\xff"].headers
    assert hdr.get_text(decode, hdr.ERROR_KIND) == "decode"
    assert hdr.get_text(decode, hdr.ERROR_CLASS) == "UnicodeDecodeError"

    # The tier copies: due one tier delay after the failure, one attempt further each.
    tier1 = {r.value: r.headers for r in cluster.records(T1)}
    tier2 = {r.value: r.headers for r in cluster.records(T2)}
    assert sorted(tier1) == [b"bad", b"bad-own-id", b"flaky"]
    assert sorted(tier2) == [b"bad", b"bad-own-id"]
    assert hdr.get_text(tier2[b"bad-own-id"], hdr.MESSAGE_ID) == "order-42"
    for headers, attempt, delay in ((tier1[b"flaky"], 1, 100), (tier2[b"bad"], 2, 200)):
        assert hdr.get_int(headers, hdr.ATTEMPT) == attempt
        due = hdr.get_int(headers, hdr.NOT_BEFORE)
        assert due == hdr.get_int(headers, hdr.LAST_FAILURE) + delay
    retried = next(c for c in handler.succeeded() if c.value == b"flaky")
    assert retried.topic == T1 and retried.attempt == 2
    assert retried.at_ms >= hdr.get_int(tier1[b"flaky"], hdr.NOT_BEFORE)
    assert retried.message_id == hdr.get_text(tier1[b"flaky"], hdr.MESSAGE_ID)

    # -e: every partition the group reads is committed up to its end; the DLQ is not read.
    assert committed(cluster, MAIN, T1, T2) == ends(cluster, MAIN, T1, T2)
    metrics = pipeline.summary.metrics
    assert metrics["processed"] == 9
    assert metrics["sent_to_dlq"] == 4
    assert metrics["by_label"]["retried"] == {"1": 3, "2": 2}
    assert metrics["failed"] == 9  # flaky once, bad-* three times each, fatal, decode


# --- rebalances -----------------------------------------------------------------------------


def test_revoke_while_a_handler_runs_commits_only_complete_messages_and_redelivers():
    cluster = make_cluster()
    values = [b"slow", b"ok-1", b"ok-2", b"ok-3", b"ok-4"]
    for value in values:
        cluster.produce(MAIN, value, key=value)
    handler = ScriptedHandler()
    started, gate = handler.block(b"slow")
    # One worker, one lane: offset 0 runs (and blocks), offsets 1-4 wait in the queue.
    pipeline = PipelineRun(
        cluster, handler, workers=1, ordering="partition", drain_timeout=0.2
    ).start()
    tp = TopicPartition(MAIN, 0)
    assert started.wait(5.0)
    consumer = pipeline.consumer
    consumer.rebalance()  # revoke everything, then get it back
    assert consumer.wait_rebalanced(1)
    committed_before_release = [c.offset for c in cluster.commits(GROUP, tp)]
    gate.set()
    summary = pipeline.wait()

    # The revoke found offset 0 still running past the drain timeout: nothing past it was
    # committed (0, the lowest unfinished offset, at most) while the handler ran.
    revokes = [payload for kind, payload in consumer.events if kind == "revoke"]
    assert revokes[0][0] == frozenset(partitions_of(cluster, MAIN, T1, T2))
    assert revokes[0][1].get(tp, 0) == 0
    assert committed_before_release and max(committed_before_release) == 0
    # The queued offsets were dropped and redelivered after the reassignment; the late
    # success of offset 0 made its redelivered copy a duplicate.
    assert [c.value for c in handler.calls] == values
    assert summary.metrics["received"] == 10
    assert summary.metrics["deduplicated"] == 1
    assert summary.metrics["processed"] == 5
    assert cluster.committed(GROUP, tp).offset == 5
    assert summary.stopped_by == "end"


def test_revoke_waits_for_running_work_within_the_drain_timeout():
    cluster = make_cluster()
    for value in (b"ok-0", b"slow", b"ok-2"):
        cluster.produce(MAIN, value, key=value)
    handler = ScriptedHandler()
    started, gate = handler.block(b"slow")
    pipeline = PipelineRun(cluster, handler, workers=3, drain_timeout=5.0).start()
    assert started.wait(5.0)
    tp = TopicPartition(MAIN, 0)
    # Only the slow message is still running when the rebalance comes (the others are done).
    assert cluster.wait_for(lambda: pipeline.pipeline.listener.revoked_busy({tp}) == 1, 5.0)
    consumer = pipeline.consumer
    consumer.rebalance()
    # The drain runs inside poll(): opening the gate lets it finish and commit past offset 1.
    threading.Timer(0.1, gate.set).start()
    assert consumer.wait_rebalanced(1)
    summary = pipeline.wait()

    revokes = [payload for kind, payload in consumer.events if kind == "revoke"]
    assert revokes[0][1][tp] == 3
    assert sorted(c.value for c in handler.calls) == [b"ok-0", b"ok-2", b"slow"]
    assert summary.metrics["received"] == 3  # nothing was redelivered
    assert cluster.committed(GROUP, tp).offset == 3


def test_lost_partitions_commit_nothing_and_everything_unfinished_is_redelivered():
    cluster = make_cluster()
    for value in (b"slow", b"ok-1"):
        cluster.produce(MAIN, value, key=value)
    handler = ScriptedHandler()
    started, gate = handler.block(b"slow")
    pipeline = PipelineRun(cluster, handler, workers=1, ordering="partition").start()
    assert started.wait(5.0)
    consumer = pipeline.consumer
    consumer.rebalance(lost=True)
    gate.set()  # offset 0 completes during the drain, but a lost partition commits nothing
    assert consumer.wait_rebalanced(1)
    summary = pipeline.wait()

    tp = TopicPartition(MAIN, 0)
    assert next(payload[1] for kind, payload in consumer.events if kind == "revoke") == {}
    assert [c.value for c in handler.calls] == [b"slow", b"ok-1"]
    assert summary.metrics["received"] == 4
    assert cluster.committed(GROUP, tp).offset == 2


def test_a_revoke_does_not_stall_on_a_routing_publish_waiting_for_its_retry():
    cluster = make_cluster()
    cluster.produce(MAIN, b"flaky", key=b"k")
    producer = FakeProducer(cluster)
    producer.fail_next(T1, 1)
    pipeline = PipelineRun(cluster, ScriptedHandler(), producer=producer, drain_timeout=1.0)
    consumer = pipeline.start().consumer
    assert cluster.wait_for(lambda: bool(producer.sent) and producer.sent[0].delivery is not None)
    started = time.monotonic()
    consumer.rebalance()
    assert consumer.wait_rebalanced(1)
    took = time.monotonic() - started
    pipeline.wait()

    assert took < 0.9, f"the revoke waited {took:.1f}s for a retry that could not run"
    assert len(cluster.records(T1)) == 1


# --- routing acknowledgements -----------------------------------------------------------------


def test_a_failed_publish_holds_the_offset_until_the_copy_lands():
    cluster = make_cluster()
    for value in (b"ok-0", b"flaky", b"ok-2"):
        cluster.produce(MAIN, value, key=value)
    producer = FakeProducer(cluster)
    producer.fail_next(T1, 1)
    handler = ScriptedHandler()

    pipeline = run(cluster, handler, producer=producer)

    tp = TopicPartition(MAIN, 0)
    [copy] = cluster.records(T1)
    landed = cluster.appended_seq(TopicPartition(T1, 0), copy.offset)
    before = [c.offset for c in cluster.commits(GROUP, tp) if c.seq < landed]
    after = [c.offset for c in cluster.commits(GROUP, tp) if c.seq > landed]
    assert 1 in before  # offsets 0 and 2 were done: the commit stopped at the failed one
    assert max(before) == 1
    assert after[-1] == 3
    assert [s.topic for s in producer.sent] == [T1, T1]  # one failure, one retry
    assert [s.delivery.ok for s in producer.sent] == [False, True]
    metrics = pipeline.summary.metrics
    assert metrics["publish_failed"] == 1
    assert metrics["by_label"]["retried"] == {"1": 1}
    assert [c.value for c in handler.succeeded()].count(b"flaky") == 1
    assert committed(cluster, MAIN, T1, T2) == ends(cluster, MAIN, T1, T2)


# --- stopping -------------------------------------------------------------------------------


def test_exit_at_end_waits_until_the_tiers_are_drained_and_nothing_is_due():
    settings = load_settings(env={"KAFKA_RETRY_DELAYS": "300ms,300ms"}, config_path=os.devnull)
    cluster = make_cluster()
    cluster.produce(MAIN, b"flaky", key=b"k")
    handler = ScriptedHandler()
    # The first attempt runs longer than one end-of-topic check period (0.5s): the main
    # partition is read to its end meanwhile, but its message is not finished.
    _started, gate = handler.block(b"flaky")
    threading.Timer(0.6, gate.set).start()
    started = time.monotonic()

    pipeline = run(cluster, handler, settings=settings)

    assert pipeline.summary.stopped_by == "end"
    assert time.monotonic() - started >= 0.9  # the slow attempt, then the tier delay
    [first, second] = handler.calls
    assert (first.topic, first.ok, second.topic, second.ok) == (MAIN, False, T1, True)
    [copy] = cluster.records(T1)
    assert second.at_ms >= hdr.get_int(copy.headers, hdr.NOT_BEFORE)
    assert committed(cluster, MAIN, T1) == {TopicPartition(MAIN, 0): 1, TopicPartition(T1, 0): 1}


def test_a_tier_record_not_yet_due_pauses_its_partition_while_the_main_topic_flows():
    cluster = make_cluster()
    due = int(time.time() * 1000) + 600
    headers = [
        (hdr.MESSAGE_ID, b"waiting"),
        (hdr.ORIGINAL_TOPIC, MAIN.encode()),
        (hdr.ATTEMPT, b"1"),
        (hdr.NOT_BEFORE, str(due).encode()),
    ]
    cluster.produce(T1, b"retry-me", key=b"r", headers=headers)
    handler = ScriptedHandler()
    pipeline = PipelineRun(cluster, handler).start()
    consumer = pipeline.consumer
    tier = TopicPartition(T1, 0)
    assert cluster.wait_for(lambda: any(k == "pause" and tier in p for k, p in consumer.events))
    for i in range(3):
        cluster.produce(MAIN, b"ok-%d" % i, key=b"k%d" % i)
    assert cluster.wait_for(lambda: len(handler.calls) >= 3, 2.0)
    summary = pipeline.wait()

    main_calls = [c for c in handler.calls if c.topic == MAIN]
    [tier_call] = [c for c in handler.calls if c.topic == T1]  # handed out once, when due
    assert len(main_calls) == 3
    assert all(c.at_ms < due for c in main_calls)  # they did not wait behind the tier
    assert tier_call.at_ms >= due and tier_call.attempt == 2
    kinds = [k for k, p in consumer.events if k in ("pause", "resume") and tier in p]
    assert kinds[:2] == ["pause", "resume"]
    assert summary.metrics["received"] == 4
    assert cluster.committed(GROUP, tier).offset == 1


def test_backpressure_pauses_a_partition_and_holds_back_its_buffered_records():
    settings = load_settings(
        env={"KAFKA_RETRY_DELAYS": "100ms", "KAFKA_CONSUMER_MAX_POLL_RECORDS": "5"},
        config_path=os.devnull,
    )
    cluster = FakeCluster()
    cluster.create_topics([MAIN, retry_topic(settings, MAIN, 1, GROUP), DLQ])
    for i in range(30):
        cluster.produce(MAIN, b"ok-%d" % i, key=b"k")
    handler = ScriptedHandler()
    started, gate = handler.block(b"ok-0")
    pipeline = PipelineRun(
        cluster, handler, settings=settings, workers=1, max_in_flight_per_partition=4
    ).start()
    tp = TopicPartition(MAIN, 0)
    consumer = pipeline.consumer
    assert started.wait(5.0)
    assert cluster.wait_for(lambda: any(k == "pause" and tp in p for k, p in consumer.events))
    time.sleep(0.1)  # several polls while paused

    assert pipeline.metrics.get("received") == 5  # one poll's worth, then nothing
    assert consumer.buffered(tp) == 25  # fetched, held back by the pause
    gate.set()
    summary = pipeline.wait()

    assert [c.value for c in handler.calls] == [b"ok-%d" % i for i in range(30)]
    assert summary.metrics["received"] == 30
    assert cluster.committed(GROUP, tp).offset == 30


def test_count_stops_after_n_messages_and_commits_exactly_those():
    cluster = make_cluster()
    for i in range(10):
        cluster.produce(MAIN, b"ok-%d" % i, key=b"k%d" % i)
    handler = ScriptedHandler()

    pipeline = run(cluster, handler, count=3, exit_at_end=False)

    assert pipeline.summary.stopped_by == "count"
    assert sorted(c.offset for c in handler.calls) == [0, 1, 2]
    assert pipeline.summary.metrics["received"] == 3
    assert cluster.committed(GROUP, TopicPartition(MAIN, 0)).offset == 3
    assert pipeline.summary.committed == {f"{MAIN}:0": 3}


# --- hostile input: BaseExceptions, copies that cannot land, due times, shutdown ------------


def test_a_handler_raising_any_base_exception_fails_the_message_and_no_worker_dies():
    cluster = make_cluster()
    kinds = list(BASE_EXCEPTIONS)
    for i, kind in enumerate(kinds * 3):  # more failures than workers: each worker survives
        cluster.produce(MAIN, f"raise:{kind}".encode(), key=b"k%d" % i)
    for i in range(5):
        cluster.produce(MAIN, b"ok-%d" % i, key=b"ok%d" % i)
    handler = ScriptedHandler()

    pipeline = run(cluster, handler, workers=2, no_retry=True)

    assert pipeline.summary.stopped_by == "end"
    assert sorted(c.value for c in handler.succeeded()) == [b"ok-%d" % i for i in range(5)]
    classes = sorted(hdr.get_text(r.headers, hdr.ERROR_CLASS) for r in cluster.records(DLQ))
    expected = ["GeneratorExit", "KeyboardInterrupt", "SystemExit"]
    expected.append(f"{__name__}.CustomBaseError")
    assert classes == sorted(expected * 3)
    kinds_seen = {hdr.get_text(r.headers, hdr.ERROR_KIND) for r in cluster.records(DLQ)}
    assert kinds_seen == {"retryable"}
    assert committed(cluster, MAIN) == ends(cluster, MAIN)


def test_a_copy_refused_for_good_stops_the_run_without_committing_past_it():
    from tests.fakes.cluster import FakeBrokerError

    cluster = make_cluster(partitions=2)
    # partition of each key in the fake: crc32 % 2
    keys = {
        p: next(b"k%d" % i for i in range(99) if cluster.partition_for(MAIN, b"k%d" % i) == p)
        for p in (0, 1)
    }
    cluster.produce(MAIN, b"ok-0", key=keys[0])
    cluster.produce(MAIN, b"fatal", key=keys[0])  # partition 0, offset 1: its copy is refused
    cluster.produce(MAIN, b"ok-2", key=keys[0])
    cluster.produce(MAIN, b"ok-a", key=keys[1])
    cluster.produce(MAIN, b"ok-b", key=keys[1])
    producer = FakeProducer(cluster)
    refused = FakeBrokerError("TOPIC_AUTHORIZATION_FAILED: not allowed", retriable=False)
    producer.fail_next(DLQ, 5, refused)
    handler = ScriptedHandler()

    started = time.monotonic()
    pipeline = run(cluster, handler, producer=producer, ordering="none")

    assert time.monotonic() - started < 5.0  # no endless retry
    summary = pipeline.summary
    assert summary.stopped_by == "undeliverable"
    assert summary.failure is not None
    assert f"{MAIN}[0]@1" in summary.failure and DLQ in summary.failure
    assert "TOPIC_AUTHORIZATION_FAILED" in summary.failure and "not retriable" in summary.failure
    assert cluster.records(DLQ) == []
    # Tried as it was, then once shrunk; never again.
    assert [s.topic for s in producer.sent] == [DLQ, DLQ]
    assert hdr.get(producer.sent[1].headers, hdr.ERROR_TRACE) is None
    assert summary.metrics["undeliverable"] == 1
    # Offset 1 of partition 0 is not committed; the other partition's work is.
    assert cluster.committed(GROUP, TopicPartition(MAIN, 0)).offset == 1
    assert cluster.committed(GROUP, TopicPartition(MAIN, 1)).offset == 2


def test_a_retriable_publish_error_still_backs_off_and_lands():
    from tests.fakes.cluster import FakeBrokerError

    cluster = make_cluster()
    cluster.produce(MAIN, b"fatal", key=b"k")
    producer = FakeProducer(cluster)
    producer.fail_next(DLQ, 1, FakeBrokerError("NOT_ENOUGH_REPLICAS", retriable=True))

    pipeline = run(cluster, ScriptedHandler(), producer=producer)

    assert pipeline.summary.stopped_by == "end" and pipeline.summary.failure is None
    assert len(cluster.records(DLQ)) == 1
    assert hdr.get(cluster.records(DLQ)[0].headers, hdr.ERROR_TRACE) is not None  # not shrunk
    assert committed(cluster, MAIN) == ends(cluster, MAIN)


class LongFailure(ScriptedHandler):
    """Fails every message fatally with a long message and a long trace."""

    def handle(self, message: Message) -> None:
        raise FatalError("x" * 5000)


@pytest.mark.parametrize("limit_known", [True, False])
def test_a_copy_over_its_topics_limit_is_shrunk_to_fit(limit_known: bool):
    cluster = make_cluster()
    value = b"v" * 20_000
    cluster.produce(MAIN, value, key=b"k", headers=[("own", b"kept")])
    full = 20_000 + hdr.MAX_TRACE_BYTES + hdr.MAX_MESSAGE_BYTES
    cluster.max_message_bytes[DLQ] = full - 2000  # the full copy does not fit; a shrunk one does
    pipeline = PipelineRun(cluster, LongFailure())
    if not limit_known:
        admin_fails = cluster.connect_admin

        def connect_admin(settings: Any = None) -> Any:
            admin = admin_fails(settings)
            admin.fail_next("max_message_bytes", 5)
            return admin

        pipeline.pipeline._connect_cluster = connect_admin
    pipeline.start().wait()

    assert pipeline.summary.failure is None
    [copy] = cluster.records(DLQ)
    assert copy.value == value
    assert hdr.get(copy.headers, "own") == b"kept"
    assert hdr.get(copy.headers, hdr.ERROR_TRACE) is None
    message = hdr.get_text(copy.headers, hdr.ERROR_MESSAGE)
    assert 0 < len(message.encode()) <= hdr.SHRUNK_MESSAGE_BYTES
    assert hdr.get_text(copy.headers, hdr.ERROR_CLASS) == "kafkactl.errors.FatalError"
    assert hdr.get_int(copy.headers, hdr.ORIGINAL_OFFSET) == 0
    assert committed(cluster, MAIN) == ends(cluster, MAIN)


def test_a_due_time_years_ahead_is_capped_at_the_tiers_delay(monkeypatch: pytest.MonkeyPatch):
    from loguru import logger

    from kafkactl.consumer import flow

    monkeypatch.setattr(flow, "DUE_TIME_SKEW_MS", 0)
    cluster = make_cluster()
    years = int(time.time() * 1000) + 10 * 365 * 86_400_000
    for value, not_before in ((b"far", years), (b"negative", -5), (b"junk", "soon")):
        headers = [(hdr.NOT_BEFORE, str(not_before).encode()), (hdr.ATTEMPT, b"1")]
        cluster.produce(T1, value, key=value, headers=headers)
    warnings: list[str] = []
    sink = logger.add(lambda m: warnings.append(str(m)), level="WARNING")
    try:
        started = time.monotonic()
        pipeline = run(cluster, ScriptedHandler())
    finally:
        logger.remove(sink)

    assert time.monotonic() - started < 3.0  # tier 1's delay is 100ms, not ten years
    assert pipeline.summary.stopped_by == "end"
    assert pipeline.summary.metrics["processed"] == 3
    capped = [w for w in warnings if hdr.NOT_BEFORE in w]
    assert len(capped) == 1 and f"{T1}[0]@0" in capped[0]  # once, for the record years ahead


@pytest.mark.parametrize("attempt", [b"-5", b"99999999999999999999", b"two", b""])
def test_a_malformed_attempt_header_counts_as_no_attempt(attempt: bytes):
    cluster = make_cluster()
    cluster.produce(MAIN, b"ok", key=b"k", headers=[(hdr.ATTEMPT, attempt)])
    handler = ScriptedHandler()

    run(cluster, handler)

    assert [c.attempt for c in handler.calls] == [1]


def test_shutdown_abandons_a_handler_that_never_returns_within_the_timeout():
    cluster = make_cluster()
    for value in (b"stuck", b"ok-1"):
        cluster.produce(MAIN, value, key=b"same")  # one lane: ok-1 waits behind the stuck one
    cluster.produce(MAIN, b"ok-2", key=b"other")
    handler = ScriptedHandler()
    running, gate = handler.block(b"stuck")
    pipeline = PipelineRun(cluster, handler, exit_at_end=False, shutdown_timeout=0.5).start()
    try:
        assert running.wait(5.0)
        assert cluster.wait_for(lambda: handler.succeeded_at(MAIN, 0, 2), 5.0)
        started = time.monotonic()
        pipeline.pipeline.request_stop("signal")
        summary = pipeline.wait()
        took = time.monotonic() - started
    finally:
        gate.set()

    assert took < 0.5 + 1.5, f"shutdown took {took:.1f}s with --shutdown-timeout 0.5s"
    assert summary.metrics["abandoned"] == 2  # the stuck one, and the one queued behind it
    assert committed(cluster, MAIN) == {TopicPartition(MAIN, 0): 0}  # offset 0 is unfinished


class FailingDedupe(MemoryDedupeStore):
    """A dedupe store whose every call fails."""

    def seen(self, group: str, message_id: str) -> bool:
        raise OSError("disk I/O error")

    def mark(self, group: str, message_id: str) -> None:
        raise OSError("disk I/O error")


def test_a_dedupe_store_that_fails_lookups_stops_the_run_with_nothing_handled_or_committed():
    cluster = make_cluster()
    for i in range(6):
        cluster.produce(MAIN, b"ok-%d" % i, key=b"k%d" % i)
    handler = ScriptedHandler()
    pipeline = PipelineRun(cluster, handler, workers=2)
    pipeline.pipeline.dedupe = FailingDedupe()

    summary = pipeline.start().wait()

    assert summary.stopped_by == "dedupe error"
    assert summary.failure is not None and "disk I/O error" in summary.failure
    assert "more like it" not in summary.failure  # one line, however many failed
    assert handler.calls == []  # not known to be new: not handled, read again next run
    assert committed(cluster, MAIN) == {TopicPartition(MAIN, 0): 0}


class BreakingStream:
    """A binary stream whose reader goes away on demand: writes buffer, flushes then fail."""

    def __init__(self) -> None:
        self.flushed = 0
        self.pending = 0
        self.broken = threading.Event()

    def write(self, data: bytes) -> int:
        self.pending += data.count(b"\n")
        return len(data)

    def flush(self) -> None:
        if self.broken.is_set():
            raise BrokenPipeError(32, "Broken pipe")
        self.flushed += self.pending
        self.pending = 0

    def fileno(self) -> int:
        raise OSError("no descriptor")


def test_after_the_output_closes_only_flushed_lines_are_committed_and_counted():
    from kafkactl.handlers import PrintHandler

    cluster = make_cluster()
    for i in range(5):
        cluster.produce(MAIN, b"ok-%d" % i, key=b"k")
    stream = BreakingStream()
    handler = PrintHandler(stream)  # type: ignore[arg-type]
    handler.succeeded_at = lambda *a: True  # type: ignore[attr-defined]  # (commit checker)
    pipeline = PipelineRun(cluster, handler, exit_at_end=False).start()  # type: ignore[arg-type]
    tp = TopicPartition(MAIN, 0)
    assert cluster.wait_for(lambda: (cluster.committed(GROUP, tp) or (0,))[0] == 5, 5.0)
    stream.broken.set()
    for i in range(5, 10):
        cluster.produce(MAIN, b"ok-%d" % i, key=b"k")  # written to the buffer, never flushed
    summary = pipeline.wait()

    assert summary.stopped_by == "output error"
    assert summary.failure is not None
    assert summary.failure.startswith("stdout closed (broken pipe): its reader went away; ")
    assert stream.flushed == 5
    assert cluster.committed(GROUP, tp).offset == 5  # the lost lines are read again next time
    assert summary.committed == {f"{MAIN}:0": 5}
    assert summary.metrics["committed"] == 5


def test_an_exception_from_the_inline_print_handler_is_routed_and_the_poll_loop_goes_on():
    from kafkactl.handlers import PrintHandler

    def encoder(message: Message) -> bytes:
        if message.value == b"boom":
            raise KeyboardInterrupt("encoder bug")
        return message.value or b""

    cluster = make_cluster()
    for value in (b"ok-0", b"boom", b"ok-2"):
        cluster.produce(MAIN, value, key=value)
    stream = BreakingStream()
    handler = PrintHandler(stream, encoder=encoder)  # type: ignore[arg-type]
    handler.succeeded_at = lambda *a: True  # type: ignore[attr-defined]  # (commit checker)

    # The printer's default is stop (it needs no DLQ); --on-failure dlq routes.
    run = PipelineRun(cluster, handler, no_retry=True, on_failure="dlq")  # type: ignore[arg-type]
    summary = run.start().wait()

    assert summary.stopped_by == "end"
    assert stream.flushed == 2
    [copy] = cluster.records(DLQ)
    assert copy.value == b"boom"
    assert hdr.get_text(copy.headers, hdr.ERROR_CLASS) == "KeyboardInterrupt"
    assert committed(cluster, MAIN) == ends(cluster, MAIN)


def test_a_failure_finishing_after_its_partition_was_revoked_is_not_routed_twice():
    """The late failure's partition went back to the group uncommitted: the new owner fails
    the record again and routes it; a copy from the old owner too would be a second one."""
    cluster = make_cluster()
    cluster.produce(MAIN, b"bad-slow", key=b"k")
    handler = ScriptedHandler()
    started, gate = handler.block(b"bad-slow")
    pipeline = PipelineRun(
        cluster, handler, workers=1, ordering="partition", drain_timeout=0.2
    ).start()
    assert started.wait(5.0)
    consumer = pipeline.consumer
    consumer.rebalance()  # the drain gives up on the running failure
    assert consumer.wait_rebalanced(1)
    gate.set()
    summary = pipeline.wait()

    assert [r.value for r in cluster.records(T1)] == [b"bad-slow"]
    assert summary.stopped_by == "end"
