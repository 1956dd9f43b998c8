"""The batch hand-off (DESIGN §6.5): a worker takes a lane's run of records at once; per-key order,
commits, failures, dedupe, the breaker and revokes behave as with one record at a time."""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any

import pytest

from kafkactl import headers as hdr
from kafkactl.consumer import batch as batch_module
from kafkactl.consumer.breaker import BreakerRules
from kafkactl.consumer.handling import Handling
from kafkactl.consumer.state import Work
from kafkactl.handlers.base import HandlerBase
from kafkactl.kafka.ports import TopicPartition
from kafkactl.message import Message
from tests.unit.test_consumer import (
    DLQ,
    GROUP,
    MAIN,
    RUN_TIMEOUT,
    T1,
    PipelineRun,
    ScriptedHandler,
    committed,
    ends,
    make_cluster,
)

TP0 = TopicPartition(MAIN, 0)


@pytest.fixture
def batches(monkeypatch: pytest.MonkeyPatch) -> list[list[tuple[str, int, int]]]:
    """Every batch a worker took: its records as (topic, partition, offset), in order."""
    taken: list[list[tuple[str, int, int]]] = []
    lock = threading.Lock()
    original = Handling._handle_batch

    def recording(self: Handling, works: list[Work]) -> int:
        with lock:
            taken.append([(w.tp.topic, w.tp.partition, w.message.offset) for w in works])
        return original(self, works)

    monkeypatch.setattr(Handling, "_handle_batch", recording)
    return taken


class OrderHandler(HandlerBase):
    """Records each call in order, and whether two records of one key ever ran at once.
    `down`: every record fails (an outage) while set; `gate(value)`: that record waits."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, bytes | None, int, bytes | None, bool]] = []
        self.overlaps: list[tuple[bytes | None, int]] = []
        self.down = threading.Event()
        self._running: set[tuple[int, bytes | None]] = set()
        self._lock = threading.Lock()
        self._gates: dict[bytes, tuple[threading.Event, threading.Event]] = {}

    def gate(self, value: bytes) -> tuple[threading.Event, threading.Event]:
        pair = self._gates[value] = (threading.Event(), threading.Event())
        return pair

    def handle(self, message: Message) -> None:
        lane = (message.partition, message.key)
        with self._lock:
            if lane in self._running:
                self.overlaps.append((message.key, message.offset))
            self._running.add(lane)
        try:
            gate = self._gates.get(message.value or b"")
            if gate is not None and message.topic == MAIN:
                gate[0].set()
                assert gate[1].wait(RUN_TIMEOUT), "the test never opened the gate"
            ok = not self.down.is_set() and not (message.value or b"").startswith(b"bad")
            with self._lock:
                self.calls.append(
                    (message.partition, message.key, message.offset, message.value, ok)
                )
            if not ok:
                raise RuntimeError("downstream refused")
        finally:
            with self._lock:
                self._running.discard(lane)

    def succeeded_at(self, topic: str, partition: int, offset: int) -> bool:
        """A call for this main-topic record returned normally (PipelineRun's commit check)."""
        with self._lock:
            return topic == MAIN and any(
                ok and (p, o) == (partition, offset) for p, _k, o, _v, ok in self.calls
            )

    def main_calls(self) -> list[tuple[int, bytes | None, int, bytes | None, bool]]:
        with self._lock:
            return list(self.calls)


def start(cluster: Any, handler: Any, **options: Any) -> PipelineRun:
    return PipelineRun(cluster, handler, **options).start()


def test_a_keys_records_keep_their_order_and_never_run_together_across_batches(batches):
    cluster = make_cluster(partitions=2)
    keys = [b"k%d" % n for n in range(5)]
    for i in range(600):
        cluster.produce(MAIN, b"ok-%d" % i, key=keys[i % 5])
    handler = OrderHandler()
    first_started, gate = handler.gate(b"ok-0")
    pipeline = start(cluster, handler, workers=4)
    # The first record of its key waits while more records come: the rest of its key piles
    # up behind it, and goes to a worker in later batches.
    assert first_started.wait(RUN_TIMEOUT)
    for i in range(600, 1200):
        cluster.produce(MAIN, b"ok-%d" % i, key=keys[i % 5])
    assert cluster.wait_for(lambda: pipeline.metrics.get("received") == 1200, RUN_TIMEOUT)
    gate.set()
    summary = pipeline.wait()

    assert summary.stopped_by == "end" and summary.metrics["processed"] == 1200
    assert handler.overlaps == []
    by_lane: dict[tuple[int, bytes | None], list[int]] = defaultdict(list)
    for partition, key, offset, _value, _ok in handler.main_calls():
        by_lane[(partition, key)].append(offset)
    for record in cluster.records(MAIN):
        assert record.offset in by_lane[(record.partition, record.key)]
    for offsets in by_lane.values():
        assert offsets == sorted(offsets) and len(offsets) == len(set(offsets))
    # Batches were taken: some of several records, and a key's records spread over several.
    assert max(len(batch) for batch in batches) > 1
    lane_of = {(MAIN, r.partition, r.offset): (r.partition, r.key) for r in cluster.records(MAIN)}
    spread: dict[tuple[int, bytes | None], int] = defaultdict(int)
    for batch in batches:
        for lane in {lane_of[record] for record in batch}:
            spread[lane] += 1
    assert max(spread.values()) > 1
    assert committed(cluster, MAIN) == ends(cluster, MAIN)


def test_what_a_batch_finished_is_committed_while_a_later_record_of_it_still_runs(batches):
    cluster = make_cluster()
    values = [b"ok-0", b"ok-1", b"ok-2", b"slow", b"ok-4", b"ok-5"]
    for value in values:
        cluster.produce(MAIN, value, key=b"k")
    handler = OrderHandler()
    started, gate = handler.gate(b"slow")
    pipeline = start(cluster, handler, workers=2)
    assert started.wait(RUN_TIMEOUT)
    # Offsets 0-2 succeeded in the batch that now waits on offset 3: committed meanwhile, and
    # never past offset 3 (PipelineRun checks every commit against the handled records).
    assert cluster.wait_for(lambda: committed(cluster, MAIN) == {TP0: 3}, RUN_TIMEOUT)
    assert pipeline.metrics.get("processed") == 3
    gate.set()
    summary = pipeline.wait()

    slow_batch = next(batch for batch in batches if (MAIN, 0, 3) in batch)
    assert slow_batch[:4] == [(MAIN, 0, n) for n in range(4)]
    assert [call[2] for call in handler.main_calls()] == list(range(6))
    assert summary.metrics["processed"] == 6
    assert committed(cluster, MAIN) == {TP0: 6}


def test_a_failure_mid_batch_is_handed_on_before_the_next_record_of_its_key(batches):
    cluster = make_cluster()
    values = [b"ok-0", b"ok-1", b"bad-2", b"ok-3", b"ok-4"]
    for value in values:
        cluster.produce(MAIN, value, key=b"k")
    handler = OrderHandler()
    summary = start(cluster, handler).wait()

    assert [(MAIN, 0, n) for n in range(5)] in batches  # one batch held them all
    main = [(offset, ok) for partition, _key, offset, value, ok in handler.main_calls()]
    assert main[:5] == [(0, True), (1, True), (2, False), (3, True), (4, True)]
    assert handler.overlaps == []
    assert [r.value for r in cluster.records(T1)] == [b"bad-2"]
    assert [r.value for r in cluster.records(DLQ)] == [b"bad-2"]
    assert summary.metrics["processed"] == 4
    assert committed(cluster, MAIN) == {TP0: 5}


def test_the_breaker_sees_a_batchs_outcomes_in_their_order(batches):
    """Failures with successes between them are no streak: reported out of order (successes
    at the batch's end), two failures in a row would open the breaker."""
    cluster = make_cluster()
    values = [b"bad-0", b"ok-1", b"bad-2", b"ok-3", b"bad-4", b"ok-5", b"bad-6", b"ok-7"]
    for value in values:
        cluster.produce(MAIN, value, key=b"k")
    rules = BreakerRules(consecutive=2, min_records=1000)
    pipeline = start(cluster, OrderHandler(), breaker=rules)
    summary = pipeline.wait()

    assert [(MAIN, 0, n) for n in range(8)] in batches
    assert pipeline.pipeline.handling is not None
    assert pipeline.pipeline.handling.guard.breaker.opened == 0
    assert sorted(r.value for r in cluster.records(T1)) == [b"bad-0", b"bad-2", b"bad-4", b"bad-6"]
    assert summary.metrics["processed"] == 4
    assert committed(cluster, MAIN) == {TP0: 8}


def test_another_workers_success_between_two_failures_breaks_the_streak(batches, monkeypatch):
    """bad-b0 fails, then ok-a0 succeeds on another worker (its success still waits in that
    worker's batch), then bad-b1 fails: no two failures in a row, so the breaker stays closed.
    Failures of records retried from a tier come in runs like this while main-topic successes
    wait in batches."""
    monkeypatch.setattr(batch_module, "FLUSH_AFTER_S", 60.0)  # nothing settled by the clock
    cluster = make_cluster()
    for value, key in ((b"bad-b0", b"b"), (b"bad-b1", b"b"), (b"ok-a0", b"a"), (b"ok-a1", b"a")):
        cluster.produce(MAIN, value, key=key)
    handler = OrderHandler()
    a0_started, a0_go = handler.gate(b"ok-a0")
    b1_started, b1_go = handler.gate(b"bad-b1")
    a1_started, a1_go = handler.gate(b"ok-a1")
    pipeline = start(cluster, handler, workers=2, breaker=BreakerRules(consecutive=2))
    assert b1_started.wait(RUN_TIMEOUT)  # bad-b0 has failed
    assert a0_started.wait(RUN_TIMEOUT)
    a0_go.set()
    assert a1_started.wait(RUN_TIMEOUT)  # ok-a0 has succeeded; its batch is still running
    b1_go.set()
    assert cluster.wait_for(
        lambda: any(value == b"bad-b1" for *_r, value, _ok in handler.calls), RUN_TIMEOUT
    )
    a1_go.set()
    pipeline.wait()

    handling = pipeline.pipeline.handling
    assert handling is not None
    assert handling.guard.breaker.opened == 0
    assert sorted(r.value for r in cluster.records(T1)) == [b"bad-b0", b"bad-b1"]


class DuplicatesDone(ScriptedHandler):
    """For PipelineRun's commit check, a duplicate is done once the record it repeats is."""

    def __init__(self, repeats: dict[int, int]) -> None:
        super().__init__()
        self.repeats = repeats  # offset -> the offset of the record it repeats

    def succeeded_at(self, topic: str, partition: int, offset: int) -> bool:
        offset = self.repeats.get(offset, offset)
        return super().succeeded_at(topic, partition, offset)


def test_a_duplicate_within_one_batch_is_deduplicated(batches):
    cluster = make_cluster()
    ids = [b"order-1", b"order-2", b"order-1", b"order-3"]
    for n, message_id in enumerate(ids):
        cluster.produce(MAIN, b"ok-%d" % n, key=b"k", headers=[(hdr.MESSAGE_ID, message_id)])
    handler = DuplicatesDone({2: 0})
    summary = start(cluster, handler).wait()

    assert [(MAIN, 0, n) for n in range(4)] in batches
    assert sorted(c.offset for c in handler.calls) == [0, 1, 3]
    assert summary.metrics["deduplicated"] == 1
    assert summary.metrics["processed"] == 3
    assert committed(cluster, MAIN) == {TP0: 4}


def test_the_breaker_opening_mid_batch_holds_the_rest_of_it_until_a_probe_succeeds(batches):
    cluster = make_cluster()
    for n in range(8):
        cluster.produce(MAIN, b"ok-%d" % n, key=b"k")
    handler = OrderHandler()
    handler.down.set()
    rules = BreakerRules(consecutive=3, min_records=1000, probe_min=0.05, probe_max=0.1)
    pipeline = start(cluster, handler, breaker=rules)
    assert cluster.wait_for(lambda: pipeline.pipeline.handling is not None, RUN_TIMEOUT)
    handling = pipeline.pipeline.handling
    assert handling is not None
    assert cluster.wait_for(lambda: handling.guard.breaker.opened == 1, RUN_TIMEOUT)
    # Held: the three failures and every later record of the batch (all but a running probe).
    assert cluster.wait_for(lambda: handling.guard.snapshot()["held"] >= 7, RUN_TIMEOUT)
    # Open: the third failure held the batch's later records without running them; nothing
    # was routed or committed.
    first_run = {offset for _p, _k, offset, _v, _ok in handler.main_calls()}
    assert {0, 1, 2} <= first_run and not {3, 4, 5, 6, 7} & first_run
    assert cluster.records(T1) == [] and committed(cluster, MAIN) == {TP0: 0}
    handler.down.clear()  # the outage ends: a probe succeeds, the held records run in order
    summary = pipeline.wait()

    assert [(MAIN, 0, n) for n in range(8)] in batches
    assert handling.guard.breaker.opened == 1
    succeeded = [offset for _p, _k, offset, _v, ok in handler.main_calls() if ok]
    assert succeeded == list(range(8))
    assert handler.overlaps == []
    assert cluster.records(T1) == [] and cluster.records(DLQ) == []
    assert summary.metrics["processed"] == 8
    assert committed(cluster, MAIN) == {TP0: 8}


def test_a_revoke_mid_batch_leaves_the_rest_of_the_batch_to_the_next_owner(batches):
    cluster = make_cluster()
    values = [b"slow", *(b"ok-%d" % n for n in range(1, 10))]
    for value in values:
        cluster.produce(MAIN, value, key=value)
    handler = OrderHandler()
    started, gate = handler.gate(b"slow")
    # One worker, one lane: the worker took all ten records in one batch and waits on the first.
    pipeline = start(cluster, handler, workers=1, ordering="partition", drain_timeout=5.0)
    assert started.wait(RUN_TIMEOUT)
    assert [(MAIN, 0, n) for n in range(10)] in batches
    consumer = pipeline.consumer
    consumer.rebalance()  # revoke everything, then get it back
    # The drain runs inside poll(): the first record finishes during it.
    threading.Timer(0.1, gate.set).start()
    assert consumer.wait_rebalanced(1)
    summary = pipeline.wait()

    # The revoke committed past the record that was running, and not past the ones the batch
    # had not started: those were left to the next owner (here, this member again), run once.
    revokes = [payload for kind, payload in consumer.events if kind == "revoke"]
    assert revokes[0][1][TP0] == 1
    assert [value for _p, _k, _o, value, _ok in handler.main_calls()] == values
    assert summary.metrics["received"] == 19
    assert summary.metrics["deduplicated"] == 0
    assert summary.metrics["processed"] == 10
    assert cluster.committed(GROUP, TP0).offset == 10
