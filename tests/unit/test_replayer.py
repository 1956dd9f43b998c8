"""Replayer end to end over the in-memory cluster: plan, run, progress, failures, recovery."""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import pytest

from kafkactl import headers as hdr
from kafkactl.config import load_settings
from kafkactl.errors import KafkactlError
from kafkactl.kafka.ports import ConsumedRecord, TopicPartition
from kafkactl.ranges import RangeSet
from kafkactl.replay import (
    Fence,
    Filters,
    Replayer,
    ReplayOptions,
    decode_progress,
    encode_progress,
    parse_replay_from,
    replay_from,
)
from kafkactl.topology import dlq_topic, replay_group, retry_topic
from tests.fakes import FakeCluster, FakeConsumer, FakeProducer
from tests.unit.replay_samples import kafkactl_headers

MAIN = "orders"
GROUP = "billing"
SETTINGS = load_settings(env={"KAFKA_RETRY_DELAYS": "100ms,200ms"}, config_path=os.devnull)
T1 = retry_topic(SETTINGS, MAIN, 1, GROUP)
DLQ = dlq_topic(SETTINGS, MAIN, GROUP)
REPLAY_GROUP = replay_group(DLQ)


def make_cluster(keys_by_partition: list[list[bytes]]) -> FakeCluster:
    """The pipeline's topics, with kafkactl dead letters in the DLQ (one list per partition)."""
    cluster = FakeCluster()
    cluster.create_topics([MAIN, T1, retry_topic(SETTINGS, MAIN, 2, GROUP)], 2)
    cluster.create_topic(DLQ, len(keys_by_partition))
    origin_offset = 0
    for partition, keys in enumerate(keys_by_partition):
        for key in keys:
            failure = hdr.Failure("retryable", "ValueError", f"bad {key.decode()}", "Traceback")
            headers = hdr.failure_headers(
                [("trace-id", b"t-%d" % origin_offset)],
                hdr.Origin(MAIN, 1, origin_offset, 1_000),
                GROUP,
                failure,
                attempt=3,
                now_ms=2_000,
                not_before_ms=None,
                message_id=f"{MAIN}/1/{origin_offset}",
            )
            cluster.produce(DLQ, b"value-%d" % origin_offset, key, headers, partition)
            origin_offset += 1
    return cluster


def engine(cluster: FakeCluster, producer: FakeProducer | None = None, **options: Any):
    """A Replayer on the fakes, opened (`--to retry`, the default)."""
    defaults: dict[str, Any] = {"poll_timeout_ms": 10, "commit_interval": 0.05}
    replay = Replayer(
        SETTINGS,
        ReplayOptions(dlq=DLQ, **{**defaults, **options}),
        connect_admin=cluster.connect_admin,
        connect_consumer=cluster.connect_consumer,
        connect_producer=lambda _settings: producer or FakeProducer(cluster),
    )
    replay.open()
    return replay


def dlq_ends(cluster: FakeCluster) -> dict[TopicPartition, int]:
    return {
        TopicPartition(DLQ, p): cluster.end_offset(TopicPartition(DLQ, p))
        for p in range(cluster.partitions(DLQ))
    }


def sources(records: list[ConsumedRecord]) -> Counter[str]:
    """How many copies each DLQ record has (by kafkactl.replay.from)."""
    return Counter(hdr.get_text(r.headers, hdr.REPLAY_FROM) for r in records)


def every_dead_letter(cluster: FakeCluster) -> Counter[str]:
    return Counter(replay_from(DLQ, r.partition, r.offset) for r in cluster.records(DLQ))


def test_a_dry_run_sends_and_commits_nothing():
    cluster = make_cluster([[b"a", b"b", b"c"], [b"d", b"e"]])
    with engine(cluster) as replay:
        plan = replay.plan()

    assert plan.dry_run and plan.stopped_by == "end"
    assert plan.scanned == 5 and plan.to_replay == 5
    assert plan.targets == {T1: 5}
    assert [(r.partition, r.offset, r.action, r.target) for r in plan.rows] == [
        (0, 0, "replay", T1),
        (0, 1, "replay", T1),
        (0, 2, "replay", T1),
        (1, 0, "replay", T1),
        (1, 1, "replay", T1),
    ]
    assert plan.rows[0].error == "ValueError: bad a"
    assert cluster.records(T1) == []
    assert cluster.producers == []
    assert cluster.commit_log == []


def test_a_run_moves_the_dead_letters_to_the_retry_tier_and_commits_progress():
    cluster = make_cluster([[b"a", b"b", b"c"], [b"d", b"e"]])
    with engine(cluster) as replay:
        plan = replay.plan()  # the CLI's confirmation pass, then the run
        summary = replay.run()

    assert plan.to_replay == 5 and not plan.committed
    assert summary.stopped_by == "end" and not summary.warnings
    assert (summary.replayed, summary.failed, summary.skipped) == (5, 0, 0)
    copies = cluster.records(T1)
    assert sources(copies) == every_dead_letter(cluster)
    dead = {replay_from(DLQ, r.partition, r.offset): r for r in cluster.records(DLQ)}
    for copy in copies:
        h = copy.headers
        origin = dead[hdr.get_text(h, hdr.REPLAY_FROM)]
        assert (copy.key, copy.value) == (origin.key, origin.value)
        assert hdr.get_int(h, hdr.REPLAY_COUNT) == 1
        assert hdr.get_text(h, hdr.MESSAGE_ID) == hdr.get_text(origin.headers, hdr.MESSAGE_ID)
        assert hdr.get(h, "trace-id") == hdr.get(origin.headers, "trace-id")
        for name in (hdr.ORIGINAL_TOPIC, hdr.ORIGINAL_OFFSET, hdr.GROUP):
            assert hdr.get(h, name) == hdr.get(origin.headers, name)
        for name in hdr.RETRY_STATE:  # due at once, a fresh pass through the tiers
            assert hdr.get(h, name) is None
    assert cluster.committed_offsets(REPLAY_GROUP) == dlq_ends(cluster)
    for tp in dlq_ends(cluster):
        progress = cluster.committed(REPLAY_GROUP, tp)
        done, fence = decode_progress(progress.offset, progress.metadata)
        assert fence is None and done.ranges() == []  # a clean end drops the fence
    assert summary.committed == {f"{DLQ}:0": 3, f"{DLQ}:1": 2}
    assert summary.metrics["replayed"] == 5
    assert len(cluster.records(DLQ)) == 5  # a replay never deletes


def test_a_second_run_sends_nothing_new():
    cluster = make_cluster([[b"a", b"b"], [b"c"]])
    with engine(cluster) as replay:
        assert replay.run().replayed == 3
    commits = len(cluster.commit_log)

    with engine(cluster) as replay:
        plan = replay.plan()
        again = replay.run()

    assert plan.to_replay == 0
    assert (again.scanned, again.replayed, again.failed) == (0, 0, 0)
    assert len(cluster.records(T1)) == 3
    assert len(cluster.commit_log) == commits


def test_a_publish_failure_leaves_the_record_in_the_dlq_and_reports_it():
    cluster = make_cluster([[b"a", b"b", b"c"], [b"d"]])
    producer = FakeProducer(cluster)
    producer.fail_next(T1, 1)

    with engine(cluster, producer) as replay:
        summary = replay.run()

    assert summary.stopped_by == "publish failed"
    assert summary.failed == 1
    [(reason, count)] = summary.failures.items()
    assert reason.startswith(f"publish to {T1} failed: ") and count == 1
    assert any("NOT_ENOUGH_REPLICAS" in w for w in summary.warnings)
    # The failed record (the first one) holds the committed offset; what was acknowledged
    # after it is remembered in the metadata, and nothing after the stop was sent.
    progress = cluster.committed(REPLAY_GROUP, TopicPartition(DLQ, 0))
    assert progress.offset == 0
    done, _fence = decode_progress(progress.offset, progress.metadata)
    sent = {hdr.get_text(r.headers, hdr.REPLAY_FROM) for r in cluster.records(T1)}
    assert replay_from(DLQ, 0, 0) not in sent
    assert {replay_from(DLQ, 0, o) for s, e in done.ranges() for o in range(s, e + 1)} == sent
    assert cluster.committed(REPLAY_GROUP, TopicPartition(DLQ, 1)) is None

    with engine(cluster) as replay:
        retry = replay.run()

    assert retry.stopped_by == "end" and retry.failed == 0
    assert sources(cluster.records(T1)) == every_dead_letter(cluster)  # each exactly once
    assert cluster.committed_offsets(REPLAY_GROUP) == dlq_ends(cluster)


def test_filtered_records_stay_for_a_later_run_which_sends_only_those():
    cluster = make_cluster([[b"a", b"b", b"a", b"b"]])
    with engine(cluster, filters=Filters(keys=(b"a",))) as replay:
        first = replay.run()

    assert (first.replayed, first.filtered) == (2, 2)
    progress = cluster.committed(REPLAY_GROUP, TopicPartition(DLQ, 0))
    assert progress.offset == 1  # the first record left behind
    assert decode_progress(progress.offset, progress.metadata)[0].ranges() == [(2, 2)]

    with engine(cluster) as replay:
        second = replay.run()

    assert (second.replayed, second.skipped) == (2, 1)
    assert sources(cluster.records(T1)) == every_dead_letter(cluster)
    assert cluster.committed(REPLAY_GROUP, TopicPartition(DLQ, 0)).offset == 4


def test_a_run_whose_acks_were_lost_is_recovered_without_sending_twice():
    cluster = make_cluster([[b"a", b"b"], [b"c"]])
    # The copies land but their acknowledgements never come (a crash before they arrived).
    lost = FakeProducer(cluster, lose_reports=True)
    crashed = engine(cluster, lost, flush_timeout=0.1).run()  # never closed: it "died"

    assert crashed.replayed == 0
    assert len(cluster.records(T1)) == 3
    progress = cluster.committed(REPLAY_GROUP, TopicPartition(DLQ, 0))
    assert decode_progress(progress.offset, progress.metadata)[1] is not None  # the fence

    with engine(cluster) as replay:
        resumed = replay.run()

    assert resumed.recovered == 3
    assert (resumed.replayed, resumed.skipped) == (0, 3)
    assert sources(cluster.records(T1)) == every_dead_letter(cluster)
    assert cluster.committed_offsets(REPLAY_GROUP) == dlq_ends(cluster)
    for tp in dlq_ends(cluster):
        progress = cluster.committed(REPLAY_GROUP, tp)
        assert decode_progress(progress.offset, progress.metadata)[1] is None


def test_a_dead_letter_replayed_too_often_is_parked_and_not_sent():
    cluster = make_cluster([[b"a"]])
    [first] = cluster.records(DLQ)
    cluster.produce(DLQ, b"again", b"p", [*first.headers, (hdr.REPLAY_COUNT, b"3")], 0)

    with engine(cluster) as replay:
        summary = replay.run()

    assert (summary.replayed, summary.parked) == (1, 1)
    assert sources(cluster.records(T1)) == Counter([replay_from(DLQ, 0, 0)])
    assert cluster.committed(REPLAY_GROUP, TopicPartition(DLQ, 0)).offset == 2


def test_nothing_is_sent_when_the_progress_fence_cannot_be_committed():
    cluster = make_cluster([[b"a", b"b"]])
    producer = FakeProducer(cluster)
    with engine(cluster, producer) as replay:
        cluster.consumers[-1].fail_commits = 1
        with pytest.raises(KafkactlError, match="could not commit replay progress"):
            replay.run()

    assert producer.sent == []
    assert cluster.records(T1) == []
    assert cluster.committed(REPLAY_GROUP, TopicPartition(DLQ, 0)) is None


# --- one partition, record by record (what test_replay.py checked with hand-made fakes) ---------

SPARE = load_settings(env={"KAFKA_RETRY_DELAYS": "1s,10s"}, config_path=os.devnull)
SPARE_DLQ = "orders.billing.dlq"
SPARE_T1 = "orders.billing.retry.1"
SPARE_TP = TopicPartition(SPARE_DLQ, 0)
SPARE_GROUP = replay_group(SPARE_DLQ)


class MarkerConsumer(FakeConsumer):
    """A read_committed consumer: records at `markers` are transaction markers, never returned."""

    def __init__(self, cluster: FakeCluster, group: str | None, markers: set[int], **kw: Any):
        super().__init__(cluster, group, **kw)
        self.markers = markers

    def poll(self, timeout: float, max_records: int):
        out = super().poll(timeout, max_records)
        return {
            tp: [r for r in records if r.offset not in self.markers] for tp, records in out.items()
        }


class FailingProducer(FakeProducer):
    """Sends of the copies of DLQ offsets in `fail` are reported failed; reports come at once."""

    def __init__(self, cluster: FakeCluster, fail: set[int]):
        super().__init__(cluster, asynchronous=False)
        self.fail = fail

    def send(self, topic, value, key, headers, partition, timestamp_ms, on_delivery):
        if _origin(headers) in self.fail:
            self.fail_next(topic)
        super().send(topic, value, key, headers, partition, timestamp_ms, on_delivery)


def _origin(headers) -> int:
    return parse_replay_from(hdr.get_text(headers, hdr.REPLAY_FROM))[2]


def spare_cluster(keys: list[str | None], replay_counts: dict[int, int] | None = None):
    """One DLQ partition of kafkactl dead letters, one per key (None: a transaction marker)."""
    cluster = FakeCluster()
    cluster.create_topics(["orders", SPARE_T1])
    cluster.create_topic(SPARE_DLQ)
    for offset, key in enumerate(keys):
        count = (replay_counts or {}).get(offset)
        extra = {} if count is None else {hdr.REPLAY_COUNT: count}
        cluster.produce(SPARE_DLQ, b"v", (key or "marker").encode(), kafkactl_headers(**extra), 0)
    return cluster, {o for o, k in enumerate(keys) if k is None}


def spare_engine(cluster: FakeCluster, markers: set[int] = frozenset(), producer=None, **options):
    """An opened Replayer on the fakes, its producer synchronous (reports inside send)."""
    replay = Replayer(
        SPARE,
        ReplayOptions(dlq=SPARE_DLQ, poll_timeout_ms=10, **options),
        connect_admin=cluster.connect_admin,
        connect_consumer=lambda s, group, **kw: MarkerConsumer(cluster, group, set(markers), **kw),
        connect_producer=lambda _s: producer or FakeProducer(cluster, asynchronous=False),
    )
    replay.open()
    return replay


def sent_offsets(cluster: FakeCluster) -> list[int]:
    """DLQ offsets of the copies sent, in order (of the last producer)."""
    return [_origin(r.headers) for r in cluster.producers[-1].sent]


def last_commit(cluster: FakeCluster):
    return cluster.commits(SPARE_GROUP, SPARE_TP)[-1]


def test_engine_commits_past_everything_when_nothing_is_filtered():
    cluster, markers = spare_cluster(["a", "b", None, "c"])
    summary = spare_engine(cluster, markers).run()
    assert (summary.scanned, summary.replayed) == (3, 3)
    assert [(r.topic, _origin(r.headers)) for r in cluster.producers[-1].sent] == [
        (SPARE_T1, o) for o in (0, 1, 3)
    ]
    commit = last_commit(cluster)
    assert commit.offset == 4, "the gap (a transaction marker) does not hold progress back"
    done, fence = decode_progress(4, commit.metadata)
    assert done.ranges() == [] and fence is None, "a clean end drops the fence"
    assert summary.committed == {f"{SPARE_DLQ}:0": 4}


def test_engine_fences_before_the_first_send():
    cluster, _ = spare_cluster(["a"])
    spare_engine(cluster).run()
    first = cluster.commits(SPARE_GROUP, SPARE_TP)[0]
    assert first.offset == 0
    assert decode_progress(0, first.metadata)[1].topics == (SPARE_T1,)


def test_filtered_out_records_hold_progress_and_replayed_ones_are_remembered():
    cluster, _ = spare_cluster(["a", "x", "a", "a", "x", "a"])
    summary = spare_engine(cluster, filters=Filters(keys=(b"a",))).run()
    assert (summary.matched, summary.replayed, summary.filtered) == (4, 4, 2)
    commit = last_commit(cluster)
    assert commit.offset == 1, "the first filtered-out record holds the committed offset"
    done, fence = decode_progress(commit.offset, commit.metadata)
    assert done.ranges() == [(2, 3), (5, 5)] and fence is None

    # The same replay again: nothing new.
    summary = spare_engine(cluster, filters=Filters(keys=(b"a",))).run()
    assert sent_offsets(cluster) == []
    assert (summary.replayed, summary.skipped, summary.filtered) == (0, 3, 2)

    # Without the filter: exactly the records left behind, and progress reaches the end.
    spare_engine(cluster).run()
    assert sent_offsets(cluster) == [1, 4]
    assert last_commit(cluster).offset == 6


def test_a_failed_publish_stops_and_keeps_the_record():
    cluster, _ = spare_cluster(["a", "b", "c"])
    summary = spare_engine(cluster, producer=FailingProducer(cluster, {1})).run()
    assert summary.stopped_by == "publish failed"
    assert (summary.replayed, summary.failed) == (1, 1)
    assert last_commit(cluster).offset == 1


def test_limit_and_parking():
    cluster, _ = spare_cluster(["a", "b", "c", "d"], replay_counts={1: 3})
    summary = spare_engine(cluster, limit=2).run()
    assert summary.stopped_by == "limit"
    assert (summary.replayed, summary.parked, summary.scanned) == (2, 1, 3)
    assert last_commit(cluster).offset == 3, "parked records are done too"


def test_recovery_counts_copies_of_an_interrupted_run_as_done():
    cluster, _ = spare_cluster(["a", "b", "c"])
    # An interrupted run: its fence committed, copies of offsets 0 and 1 landed, no commit after.
    fence = Fence(1, (SPARE_T1,))
    cluster.commit(SPARE_GROUP, {SPARE_TP: 0}, {SPARE_TP: encode_progress(0, RangeSet(), fence)})
    for offset in (0, 1):
        origin = replay_from(SPARE_DLQ, 0, offset).encode()
        cluster.produce(SPARE_T1, b"v", b"a", [(hdr.REPLAY_FROM, origin), (hdr.REPLAY_AT, b"2")])
    summary = spare_engine(cluster).run()
    assert sent_offsets(cluster) == [2]
    assert (summary.skipped, summary.recovered, summary.replayed) == (2, 2, 1)
    assert last_commit(cluster).offset == 3


def test_dry_run_plan_sends_and_commits_nothing():
    cluster, _ = spare_cluster(["a", "b"])
    plan = spare_engine(cluster).plan()
    assert plan.dry_run and plan.to_replay == 2 and plan.targets == {SPARE_T1: 2}
    assert [(r.offset, r.action, r.target) for r in plan.rows] == [
        (0, "replay", SPARE_T1),
        (1, "replay", SPARE_T1),
    ]
    assert cluster.commit_log == []
    assert plan.as_dict()["records"][0]["key"] == "a"


def test_a_negative_replay_count_is_never_replayed_by_the_engine():
    cluster, _ = spare_cluster(["a", "b"], replay_counts={0: -5})
    summary = spare_engine(cluster).run()
    assert sent_offsets(cluster) == [1]
    assert (summary.replayed, summary.parked) == (1, 1)
