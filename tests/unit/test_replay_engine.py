"""ReplayEngine end to end over the in-memory cluster: plan, run, progress, failures, recovery."""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import pytest

from kafkactl import headers as hdr
from kafkactl.config import load_settings
from kafkactl.errors import KafkactlError
from kafkactl.kafka.ports import ConsumedRecord, TopicPartition
from kafkactl.replay import Filters, ReplayEngine, ReplayOptions, decode_progress, replay_from
from kafkactl.topology import dlq_topic, replay_group, retry_topic
from tests.fakes import FakeCluster, FakeProducer

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
                message_id=f"{MAIN}-1-{origin_offset}",
            )
            cluster.produce(DLQ, b"value-%d" % origin_offset, key, headers, partition)
            origin_offset += 1
    return cluster


def engine(cluster: FakeCluster, producer: FakeProducer | None = None, **options: Any):
    """A ReplayEngine on the fakes, opened (`--to retry`, the default)."""
    defaults: dict[str, Any] = {"poll_timeout_ms": 10, "commit_interval": 0.05}
    replay = ReplayEngine(
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
