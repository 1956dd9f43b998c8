"""--ordering key-strict: KeyOrder's bookkeeping, and the pipeline over the in-memory cluster."""

from __future__ import annotations

import os

from kafkactl import headers as hdr
from kafkactl.config import load_settings
from kafkactl.consumer.keyorder import DLQ, Admission, KeyOrder, KeyRecovered
from kafkactl.consumer.state import Partitions, Work
from kafkactl.consumer.strict import StrictOrder
from kafkactl.kafka import TopicPartition
from kafkactl.message import Message
from kafkactl.topology import TierMap
from tests.fakes import FakeCluster
from tests.unit.test_consumer import (
    DLQ as DLQ_TOPIC,
)
from tests.unit.test_consumer import (
    MAIN,
    T1,
    T2,
    Call,
    PipelineRun,
    ScriptedHandler,
    make_cluster,
    run,
)

SLOT = (MAIN, 0)
K = b"k"


def test_a_key_with_nothing_in_the_tiers_runs():
    order = KeyOrder(tiers=2)
    assert order.admit(SLOT, K, 0, 10) == Admission("run")


def test_a_failure_blocks_its_key_from_routing_to_acknowledgement_and_until_it_settles():
    order = KeyOrder(tiers=2)
    order.routing(SLOT, K, 1, "id-10", failed=True)
    # Not acknowledged yet: the next record still follows it.
    assert order.admit(SLOT, K, 0, 11) == Admission("follow", 1, "id-10")
    assert order.admit(SLOT, b"other", 0, 12) == Admission("run")  # other keys flow
    order.placed(SLOT, K, 1, 5)  # the copy is tier 1's offset 5
    assert order.admit(SLOT, K, 0, 13).verdict == "follow"
    order.settled(SLOT, K, 1, 5)  # handled on tier 1
    assert order.admit(SLOT, K, 0, 14) == Admission("run")
    assert order.blocked_keys() == 0


def test_a_key_stays_blocked_until_its_last_follower_settles():
    order = KeyOrder(tiers=2)
    order.routing(SLOT, K, 1, "id-10", failed=True)
    order.placed(SLOT, K, 1, 5)
    order.routing(SLOT, K, 1, "id-11", failed=False)
    order.placed(SLOT, K, 1, 6)
    order.settled(SLOT, K, 1, 5)
    # The follower at offset 6 runs (nothing ahead of it), the main topic still waits.
    assert order.admit(SLOT, K, 1, 6) == Admission("run")
    assert order.admit(SLOT, K, 0, 12).verdict == "follow"
    order.settled(SLOT, K, 1, 6)
    assert order.admit(SLOT, K, 0, 12) == Admission("run")


def test_a_follower_goes_to_the_lowest_tier_above_its_own_that_holds_the_key():
    order = KeyOrder(tiers=3)
    order.routing(SLOT, K, 3, "id-1", failed=True)  # the oldest record, in tier 3
    order.placed(SLOT, K, 3, 0)
    order.routing(SLOT, K, 1, "id-2", failed=False)  # a newer follower, in tier 1
    order.placed(SLOT, K, 1, 0)
    # A main record goes behind the tier-1 follower, never past it into tier 3.
    assert order.admit(SLOT, K, 0, 9) == Admission("follow", 1, "id-1")
    # The tier-1 follower moves up behind the blocker.
    assert order.admit(SLOT, K, 1, 0) == Admission("follow", 3, "id-1")


def test_followers_of_a_dead_lettered_record_go_to_the_dlq_behind_it():
    order = KeyOrder(tiers=1)
    order.routing(SLOT, K, 1, "id-1", failed=True)
    order.placed(SLOT, K, 1, 0)
    order.routing(SLOT, K, 1, "id-2", failed=False)
    order.placed(SLOT, K, 1, 1)
    order.routing(SLOT, K, DLQ, "id-1", failed=True)  # the blocker fails on the last tier
    order.settled(SLOT, K, 1, 0)
    # A main record goes behind the follower still in tier 1 (straight to the DLQ it could land
    # before it); the follower, with nothing ahead, goes to the DLQ.
    assert order.admit(SLOT, K, 0, 7) == Admission("follow", 1, "id-1")
    assert order.admit(SLOT, K, 1, 1) == Admission("dead", None, "id-1")
    order.routing(SLOT, K, DLQ, "id-2", failed=False)
    order.settled(SLOT, K, 1, 1)
    # Its DLQ copy is on its way: a main record now goes to the DLQ behind it.
    assert order.admit(SLOT, K, 0, 7) == Admission("dead", None, "id-1")
    order.placed(SLOT, K, DLQ, 3)
    order.placed(SLOT, K, DLQ, 4)
    # Drained: the key flows again.
    assert order.admit(SLOT, K, 0, 8) == Admission("run")


def test_after_dead_letter_continue_runs_the_followers():
    order = KeyOrder(tiers=1, dead_letter_followers=False)
    order.routing(SLOT, K, 1, "id-1", failed=True)
    order.placed(SLOT, K, 1, 0)
    order.routing(SLOT, K, 1, "id-2", failed=False)
    order.placed(SLOT, K, 1, 1)
    order.routing(SLOT, K, DLQ, "id-1", failed=True)
    order.settled(SLOT, K, 1, 0)
    assert order.admit(SLOT, K, 1, 1) == Admission("run")


def test_the_state_is_rebuilt_from_a_scan_and_keeps_copies_still_on_their_way():
    order = KeyOrder(tiers=2)
    order.install(SLOT, (1, 2, 3), {})
    order.routing(SLOT, b"flying", 1, "id-f", failed=True)
    found = {K: KeyRecovered({2: 40}, blocker="id-9", dead=None)}
    order.install(SLOT, (4, 5, 6), found)  # assigned anew
    assert order.loaded(SLOT, (4, 5, 6)) and not order.loaded(SLOT, (1, 2, 3))
    assert order.admit(SLOT, K, 0, 1) == Admission("follow", 2, "id-9")
    assert order.admit(SLOT, K, 1, 3) == Admission("follow", 2, "id-9")
    assert order.admit(SLOT, b"flying", 0, 2).verdict == "follow"


def test_a_recovered_dead_mark_sends_the_followers_to_the_dlq():
    order = KeyOrder(tiers=2)
    order.install(SLOT, (1,), {K: KeyRecovered({2: 7}, blocker="id-1", dead="id-1")})
    assert order.admit(SLOT, K, 2, 7) == Admission("dead", None, "id-1")


# --- the pipeline over the in-memory cluster -------------------------------------------------


def _produce(cluster: FakeCluster, plan: dict[str, list[str]]) -> None:
    """Interleave each key's records: value `key:seq:mode`."""
    longest = max(len(modes) for modes in plan.values())
    for seq in range(longest):
        for key, modes in plan.items():
            if seq < len(modes):
                cluster.produce(MAIN, f"{modes[seq]}:{key}:{seq}".encode(), key=key.encode())


class OrderedHandler(ScriptedHandler):
    """Values `mode:key:seq`: `ok`, `flaky` (fails its first attempt), `bad` (always fails)."""

    def handle(self, message):  # type: ignore[no-untyped-def]
        mode = (message.value or b"").decode().split(":")[0]
        ok = mode == "ok" or (mode == "flaky" and message.attempt > 1)
        call = Call(
            message.topic,
            message.partition,
            message.offset,
            message.value,
            message.attempt,
            message.message_id,
            0,
            ok,
        )
        with self._lock:
            self.calls.append(call)
        if not ok:
            raise RuntimeError(f"{mode} fails")


def _order_of(handler: ScriptedHandler, cluster: FakeCluster) -> dict[str, list[int]]:
    seqs: dict[str, list[int]] = {}
    records = [r for topic in (MAIN, T1, T2) for r in cluster.records(topic)]
    values = {(r.topic, r.partition, r.offset): r.value for r in records}
    for call in handler.succeeded():
        _mode, key, seq = values[(call.topic, call.partition, call.offset)].decode().split(":")
        seqs.setdefault(key, []).append(int(seq))
    return seqs


def test_key_strict_keeps_each_keys_order_through_the_tiers_and_dead_letters_followers():
    cluster = make_cluster(partitions=2)
    plan = {
        "a": ["ok", "flaky", "ok", "ok", "ok"],
        "b": ["ok", "ok", "bad", "ok", "ok"],
        "c": ["ok"] * 5,
    }
    _produce(cluster, plan)
    handler = OrderedHandler()

    pipeline = run(cluster, handler, ordering="key-strict", workers=4)

    assert pipeline.summary.stopped_by == "end"
    order = _order_of(handler, cluster)
    assert order == {"a": [0, 1, 2, 3, 4], "b": [0, 1], "c": [0, 1, 2, 3, 4]}
    dead = [r.value.decode() for r in cluster.records(DLQ_TOPIC)]
    assert dead == ["bad:b:2", "ok:b:3", "ok:b:4"]  # the failure, then its followers, in order
    followers = [r for r in cluster.records(DLQ_TOPIC) if hdr.get(r.headers, hdr.FOLLOWS)]
    assert len(followers) == 2
    blocker_id = hdr.get_text(cluster.records(DLQ_TOPIC)[0].headers, hdr.MESSAGE_ID)
    assert all(hdr.get_text(r.headers, hdr.FOLLOWS) == blocker_id for r in followers)
    assert all(hdr.get_text(r.headers, hdr.ERROR_CLASS) == hdr.FOLLOWER_CLASS for r in followers)
    metrics = pipeline.summary.metrics
    assert metrics["processed"] == 12 and metrics["sent_to_dlq"] == 3


def test_with_plain_key_ordering_a_later_record_overtakes_the_retried_one():
    cluster = make_cluster(partitions=1)
    _produce(cluster, {"a": ["flaky", "ok", "ok"]})
    handler = OrderedHandler()

    run(cluster, handler, ordering="key")

    assert _order_of(handler, cluster) == {"a": [1, 2, 0]}


def test_key_strict_after_dead_letter_continue_runs_the_followers():
    cluster = make_cluster(partitions=1)
    _produce(cluster, {"b": ["bad", "ok", "ok"]})
    handler = OrderedHandler()

    run(cluster, handler, ordering="key-strict", after_dead_letter="continue")

    assert _order_of(handler, cluster) == {"b": [1, 2]}
    assert [r.value for r in cluster.records(DLQ_TOPIC)] == [b"bad:b:0"]


def test_key_strict_restarted_mid_way_rebuilds_the_blocked_keys_from_the_tiers():
    cluster = make_cluster(partitions=1)
    _produce(cluster, {"a": ["flaky", "ok", "ok"], "c": ["ok"]})
    handler = OrderedHandler()
    # First run: stop as soon as the failure and its followers are in tier 1.
    first = PipelineRun(cluster, handler, ordering="key-strict", exit_at_end=False).start()
    assert cluster.wait_for(lambda: len(cluster.records(T1)) == 3, 5.0)
    first.pipeline.request_stop("signal")
    first.wait()
    assert _order_of(handler, cluster) == {"c": [0]}
    tier1 = cluster.records(T1)
    assert [hdr.get(r.headers, hdr.FOLLOWS) is not None for r in tier1] == [False, True, True]
    # Newer records of the key arrive while the restarted consumer knows nothing in memory.
    for seq in (3, 4):
        cluster.produce(MAIN, f"ok:a:{seq}".encode(), key=b"a")

    run(cluster, handler, ordering="key-strict")

    assert _order_of(handler, cluster) == {"a": [0, 1, 2, 3, 4], "c": [0]}
    assert cluster.records(DLQ_TOPIC) == []


# --- parking behind a failure that awaits the breaker's verdict ---------------------------------


def _strict() -> tuple[StrictOrder, list[Work], Partitions]:
    settings = load_settings(env={"KAFKA_RETRY_DELAYS": "1s"}, config_path=os.devnull)
    tiers = TierMap(settings, [MAIN], "g")
    partitions = Partitions()
    for topic in tiers.subscribed():
        partitions.add(TopicPartition(topic, 0))

    class NoScan:
        def load(self, slot):  # type: ignore[no-untyped-def]
            return {}

    strict = StrictOrder(KeyOrder(1), NoScan(), tiers, partitions, None)  # type: ignore[arg-type]
    sent_back: list[Work] = []
    strict.resubmit = sent_back.append
    return strict, sent_back, partitions


def _work(partitions: Partitions, offset: int, key: bytes = K) -> Work:
    tp = TopicPartition(MAIN, 0)
    message = Message(MAIN, 0, offset, key, b"v", [], 0, 0, f"id-{offset}", 1)
    return Work(message, tp, partitions.epochs[tp])


def test_records_behind_a_failure_awaiting_a_verdict_park_and_come_back_in_order():
    strict, sent_back, partitions = _strict()
    failed, later, latest = (_work(partitions, o) for o in (1, 2, 3))
    strict.hold(failed)
    assert strict.admit(later).verdict == "wait"
    assert strict.admit(latest).verdict == "wait"
    assert strict.admit(_work(partitions, 4, b"other")).verdict == "run"  # other keys flow
    assert strict.parked_count() == 2

    strict.release(failed)  # routed (or handled): what parked goes back, in order
    assert sent_back == [later, latest]
    newcomer = _work(partitions, 5)
    assert strict.admit(newcomer).verdict == "wait"  # not before those sent back
    assert strict.admit(later).verdict == "run"
    strict.settled(latest)  # deduplicated on its way back: it never comes to admit
    assert sent_back == [later, latest, newcomer]
    assert strict.admit(newcomer).verdict == "run"
    assert strict.parked_count() == 0


def test_blocked_keys_that_cannot_be_read_stop_the_run_with_one_line(monkeypatch):
    from kafkactl.consumer.keyscan import KeyScan
    from kafkactl.errors import KafkactlError

    def unreadable(self, slot):  # type: ignore[no-untyped-def]
        raise KafkactlError("broker down")

    monkeypatch.setattr(KeyScan, "load", unreadable)
    cluster = make_cluster(partitions=1)
    _produce(cluster, {"a": ["ok", "ok"]})
    handler = OrderedHandler()

    summary = run(cluster, handler, ordering="key-strict").summary

    assert summary.stopped_by == "failure" and handler.calls == []
    assert summary.failure.startswith(
        f"--ordering key-strict could not read which keys of {MAIN}[0] wait in the retry tiers "
        "(broker down); consume stopped with offset 0 not committed"
    )
    assert summary.committed.get(f"{MAIN}:0", 0) == 0
