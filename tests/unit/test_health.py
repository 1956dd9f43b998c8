"""health.check on the in-memory engine: topics, tiers, group lag, dead letters, the verdict."""

from __future__ import annotations

import os

import pytest

from kafkactl.admin.health import HealthQuery, HealthReport, TopicCheck, check, verdict
from kafkactl.config import load_settings
from kafkactl.kafka.admin_port import (
    BrokerNode,
    ClusterMetadata,
    GroupMember,
    PartitionInfo,
    TopicInfo,
)
from kafkactl.kafka.ports import TopicPartition as TP
from kafkactl.topology import dlq_topic, pipeline_topics, replay_group, retry_topic
from tests.fakes import FakeAdmin, FakeCluster

SETTINGS = load_settings(
    {"brokers": "127.0.0.1:9092"},
    env={"KAFKA_RETRY_DELAYS": "1s,10s"},
    config_path=os.devnull,
)
GROUP = "billing"
TIER1 = retry_topic(SETTINGS, "orders", 1, GROUP)
TIER2 = retry_topic(SETTINGS, "orders", 2, GROUP)
DLQ = dlq_topic(SETTINGS, "orders", GROUP)


def _pipeline(cluster: FakeCluster, group: str = GROUP, partitions: int = 2) -> None:
    """orders with the group's retry tiers and DLQ."""
    plans = pipeline_topics(SETTINGS, "orders", group, with_retry=True)
    cluster.create_topics([p.name for p in plans], partitions)


def _check(cluster: FakeCluster, **query: object) -> HealthReport:
    query.setdefault("topics", ["orders"])
    return check(FakeAdmin(cluster), SETTINGS, HealthQuery(**query))  # type: ignore[arg-type]


@pytest.fixture
def cluster() -> FakeCluster:
    cluster = FakeCluster()
    _pipeline(cluster)
    # the group committed something: it is known
    cluster.commit(GROUP, {TP("orders", 0): 0}, None)
    return cluster


def test_a_complete_pipeline_with_no_lag_is_healthy(cluster: FakeCluster) -> None:
    report = _check(cluster, group=GROUP)

    assert (report.verdict, report.reasons) == ("healthy", [])
    assert report.cluster_id == "fake-cluster" and report.controller_id == 1
    assert [(b.node_id, b.host, b.port) for b in report.brokers] == [(1, "localhost", 9092)]
    assert report.bootstrap == ["127.0.0.1:9092"]
    assert [(t.name, t.role, t.status, t.partitions) for t in report.topics] == [
        ("orders", "main", "ok", 2),
        (TIER1, "retry 1", "ok", 2),
        (TIER2, "retry 2", "ok", 2),
        (DLQ, "dlq", "ok", 2),
    ]
    (group,) = report.groups
    assert (group.group, group.status, group.total_lag, group.dlq_depth) == (GROUP, "ok", 0, 0)
    # lag over the main topic and its tiers, not the DLQ
    assert {p.topic for p in group.partitions} == {"orders", TIER1, TIER2}


def test_without_a_group_only_the_topic_is_checked() -> None:
    cluster = FakeCluster()
    cluster.create_topic("orders", 3)

    report = check(FakeAdmin(cluster), SETTINGS, HealthQuery(topics=["orders"]))

    assert report.verdict == "healthy"
    assert [(t.name, t.status, t.partitions) for t in report.topics] == [("orders", "ok", 3)]
    assert report.groups == []


def test_a_missing_topic_is_unhealthy() -> None:
    report = check(FakeAdmin(FakeCluster()), SETTINGS, HealthQuery(topics=["orders"]))

    assert report.verdict == "unhealthy"
    assert report.reasons == ["topic orders is missing"]
    assert [(t.name, t.status, t.partitions) for t in report.topics] == [("orders", "missing", 0)]


def test_a_missing_retry_tier_is_unhealthy_unless_no_retry() -> None:
    cluster = FakeCluster()
    cluster.create_topics(["orders", TIER1, DLQ], 1)
    cluster.commit(GROUP, {TP("orders", 0): 0}, None)

    report = _check(cluster, group=GROUP)
    assert report.verdict == "unhealthy"
    assert report.reasons == [f"topic {TIER2} is missing"]

    without_tiers = _check(cluster, group=GROUP, no_retry=True)
    assert (without_tiers.verdict, without_tiers.reasons) == ("healthy", [])
    assert [t.name for t in without_tiers.topics] == ["orders", DLQ]


def test_a_missing_dlq_is_unhealthy_even_with_no_retry() -> None:
    cluster = FakeCluster()
    cluster.create_topic("orders", 1)
    cluster.commit(GROUP, {TP("orders", 0): 0}, None)

    report = _check(cluster, group=GROUP, no_retry=True)

    assert report.verdict == "unhealthy"
    assert report.reasons == [f"topic {DLQ} is missing"]


def test_lag_counts_from_the_committed_offset_or_the_start(cluster: FakeCluster) -> None:
    for n in range(5):
        cluster.produce("orders", b"v%d" % n, partition=0)
    for n in range(2):
        cluster.produce(TIER1, b"r%d" % n, partition=1)
    cluster.commit(GROUP, {TP("orders", 0): 2}, None)

    (group,) = _check(cluster, group=GROUP).groups

    lags = {(p.topic, p.partition): (p.committed, p.end, p.lag) for p in group.partitions}
    assert lags[("orders", 0)] == (2, 5, 3)
    assert lags[(TIER1, 1)] == (None, 2, 2)  # nothing committed: all retained records
    assert lags[("orders", 1)] == (None, 0, 0)
    assert group.total_lag == 5


def test_lag_over_max_lag_is_degraded(cluster: FakeCluster) -> None:
    for n in range(4):
        cluster.produce("orders", b"v%d" % n, partition=0)
    cluster.commit(GROUP, {TP("orders", 0): 1}, None)

    assert _check(cluster, group=GROUP).verdict == "healthy"  # no limit: lag is only reported
    assert _check(cluster, group=GROUP, max_lag=3).verdict == "healthy"  # at the limit
    over = _check(cluster, group=GROUP, max_lag=2)
    assert over.verdict == "degraded"
    assert over.reasons == [f"group {GROUP} lag 3 is over 2"]


def test_an_unknown_group_is_degraded_with_the_reason() -> None:
    cluster = FakeCluster()
    _pipeline(cluster, group="bliling")

    report = _check(cluster, group="bliling")

    assert report.verdict == "degraded"
    assert report.groups[0].status == "unknown"
    assert report.groups[0].members == 0
    assert report.reasons == [
        "unknown group bliling: it has no committed offsets and no members "
        "(a typo, or a group that never committed)"
    ]


def test_a_group_with_members_but_no_commits_is_known() -> None:
    cluster = FakeCluster()
    _pipeline(cluster)
    cluster.members[GROUP] = [GroupMember("m-1", "kafkactl", "10.0.0.1", [TP("orders", 0)])]

    report = _check(cluster, group=GROUP)

    assert report.groups[0].status == "ok"
    assert report.groups[0].members == 1
    assert report.verdict == "healthy"


def test_dead_letters_are_degraded(cluster: FakeCluster) -> None:
    cluster.produce(DLQ, b"d1", partition=0)
    cluster.produce(DLQ, b"d2", partition=1)

    report = _check(cluster, group=GROUP)

    assert report.groups[0].dlq_depth == 2
    assert report.groups[0].total_lag == 0  # the DLQ is not the group's lag
    assert report.verdict == "degraded"
    assert report.reasons == [f"group {GROUP} has 2 dead letters waiting"]


def test_dlq_depth_counts_from_the_replay_groups_position(cluster: FakeCluster) -> None:
    for n in range(5):
        cluster.produce(DLQ, b"d%d" % n, partition=0)
    cluster.produce(DLQ, b"other", partition=1)
    cluster.commit(replay_group(DLQ), {TP(DLQ, 0): 3}, None)

    report = _check(cluster, group=GROUP)
    assert report.groups[0].dlq_depth == 3  # 2 left on partition 0, 1 never replayed on 1

    cluster.commit(replay_group(DLQ), {TP(DLQ, 0): 5, TP(DLQ, 1): 1}, None)
    replayed = _check(cluster, group=GROUP)
    assert replayed.groups[0].dlq_depth == 0
    assert (replayed.verdict, replayed.reasons) == ("healthy", [])


def test_unhealthy_reasons_come_before_degraded_ones(cluster: FakeCluster) -> None:
    cluster.produce(DLQ, b"d", partition=0)

    report = _check(cluster, topics=["orders", "payments"], group=GROUP)

    assert report.verdict == "unhealthy"
    assert report.reasons[0] == "topic payments is missing"
    assert report.reasons[-1] == f"group {GROUP} has 1 dead letters waiting"


def test_verdict_of_leaderless_and_under_replicated_partitions() -> None:
    leaderless = TopicCheck("orders", "main", "leaderless", 3, leaderless=[0, 2])
    under = TopicCheck("audit", "main", "under-replicated", 2, under_replicated=[1])

    assert verdict(HealthReport(bootstrap=[], topics=[under]), None) == (
        "degraded",
        ["audit partitions 1 are under-replicated"],
    )
    assert verdict(HealthReport(bootstrap=[], topics=[leaderless, under]), None) == (
        "unhealthy",
        [
            "orders partitions 0,2 are offline (no leader)",
            "audit partitions 1 are under-replicated",
        ],
    )


def test_a_cluster_without_brokers_is_unhealthy(cluster: FakeCluster) -> None:
    admin = FakeAdmin(cluster)
    admin.describe_cluster = lambda: ClusterMetadata("c", -1)  # type: ignore[method-assign]

    report = check(admin, SETTINGS, HealthQuery(topics=["orders"]))

    assert report.brokers == []
    assert (report.verdict, report.reasons) == ("unhealthy", ["no brokers registered"])


def test_dead_letters_come_with_their_top_error_class(cluster: FakeCluster) -> None:
    from kafkactl.dlq.scan import dlq_top_error
    from tests.unit.replay_samples import CONNECT

    cluster.produce(DLQ, b"d1", headers=CONNECT, partition=0)
    cluster.produce(DLQ, b"d2", headers=CONNECT, partition=1)
    cluster.produce(DLQ, b"d3", partition=1)
    admin = FakeAdmin(cluster)
    asked: list[str] = []

    def top_error(dlq: str):  # type: ignore[no-untyped-def]
        asked.append(dlq)
        return dlq_top_error(SETTINGS, admin, dlq, connect_consumer=cluster.connect_consumer)

    report = check(admin, SETTINGS, HealthQuery(["orders"], GROUP), top_error)
    found = report.groups[0].dlq_top_error
    assert asked == [DLQ]
    assert found is not None
    assert (found.error_class, found.count, found.sampled) == (
        "org.apache.kafka.connect.errors.DataException",
        2,
        3,
    )
    document = report.as_dict()["groups"][0]
    assert document["dlq_depth"] == 3  # additive: the old keys are unchanged
    assert document["dlq_top_error"]["error_class"].endswith("DataException")


def test_an_empty_dlq_is_not_read_for_its_top_error(cluster: FakeCluster) -> None:
    def top_error(dlq: str):  # type: ignore[no-untyped-def]
        raise AssertionError("an empty DLQ must not be read")

    report = check(FakeAdmin(cluster), SETTINGS, HealthQuery(["orders"], GROUP), top_error)
    assert report.groups[0].dlq_top_error is None


def test_reasons_write_large_counts_with_thousands_separators(cluster: FakeCluster) -> None:
    for n in range(1_203):
        cluster.produce("orders", b"v%d" % n, partition=0)
    cluster.commit(GROUP, {TP("orders", 0): 1}, None)

    over = _check(cluster, group=GROUP, max_lag=1_000)
    assert over.reasons == [f"group {GROUP} lag 1,202 is over 1,000"]


def test_a_compacted_dlq_or_a_short_lived_tier_is_degraded(cluster: FakeCluster) -> None:
    cluster.topic_configs[DLQ] = {"cleanup.policy": "compact,delete", "retention.ms": "-1"}
    cluster.topic_configs["orders"] = {"retention.ms": "-1"}
    cluster.topic_configs[TIER1] = {"retention.ms": "86400000"}
    cluster.topic_configs[TIER2] = {"retention.ms": "-1"}

    report = _check(cluster, group=GROUP)

    assert report.verdict == "degraded"
    assert [r for r in report.reasons if "cleanup.policy=compact,delete" in r] == [
        f"dlq topic {DLQ} has cleanup.policy=compact,delete: compaction deletes every earlier "
        "record of a key (and a tombstone all of them); set cleanup.policy=delete on it"
    ]
    (short,) = [r for r in report.reasons if "retention.ms" in r]
    assert short.startswith(f"retry 1 topic {TIER1} has retention.ms=86400000, shorter than ")
    assert [t.name for t in report.topics if t.risks] == [TIER1, DLQ]


def test_the_main_topic_may_be_compacted(cluster: FakeCluster) -> None:
    cluster.topic_configs["orders"] = {"cleanup.policy": "compact"}

    assert _check(cluster, group=GROUP).verdict == "healthy"


# --- a cluster: brokers seen vs expected, min.insync.replicas --------------------------------


def _three_brokers(admin: FakeAdmin, alive: list[int], isr: list[list[int]]) -> None:
    """A cluster of brokers 1..3 of which `alive` answer; `orders` partitions with these ISRs."""
    brokers = tuple(BrokerNode(b, "127.0.0.1", 9092 + b) for b in alive)
    admin.describe_cluster = lambda: ClusterMetadata("c", alive[0], brokers)  # type: ignore[method-assign]
    partitions = tuple(
        PartitionInfo(i, members[0] if members else -1, (1, 2, 3), tuple(members))
        for i, members in enumerate(isr)
    )
    answer = [TopicInfo("orders", partitions)]
    admin.describe_topics = lambda names: [  # type: ignore[method-assign]
        a for a in answer if a.name in names
    ]


def test_partitions_below_min_insync_are_unhealthy_and_at_it_degraded(
    cluster: FakeCluster,
) -> None:
    cluster.create_topics(["orders"], 3)
    cluster.topic_configs["orders"] = {"min.insync.replicas": "2"}
    admin = FakeAdmin(cluster)
    _three_brokers(admin, [1, 2], [[1, 2], [1, 2], [1]])

    report = check(admin, SETTINGS, HealthQuery(topics=["orders"], no_retry=True))

    (orders,) = report.topics
    assert (orders.status, orders.min_insync) == ("below-min-isr", 2)
    assert (orders.at_min_isr, orders.below_min_isr) == ([0, 1], [2])
    assert report.verdict == "unhealthy"
    assert report.reasons == [
        "orders partitions 2 have fewer in-sync replicas than min.insync.replicas=2: acks=all "
        "writes to them are refused",
        "2 of 3 brokers answer (missing: 3)",
    ]


def test_a_partition_down_to_min_insync_is_degraded_and_names_the_missing_broker(
    cluster: FakeCluster,
) -> None:
    cluster.create_topics(["orders"], 2)
    cluster.topic_configs["orders"] = {"min.insync.replicas": "2"}
    admin = FakeAdmin(cluster)
    _three_brokers(admin, [1, 2], [[1, 2], [2, 1]])

    report = check(admin, SETTINGS, HealthQuery(topics=["orders"], no_retry=True))

    assert (report.expected_brokers, report.missing_brokers) == (3, [3])
    assert report.verdict == "degraded"
    assert report.reasons == [
        "2 of 3 brokers answer (missing: 3)",
        "orders partitions 0,1 are down to min.insync.replicas=2 in-sync replicas: one more "
        "lost broker stops acks=all writes",
    ]


def test_expect_brokers_counts_brokers_that_no_replica_names(cluster: FakeCluster) -> None:
    _pipeline(cluster)

    report = _check(cluster, expect_brokers=3)

    assert report.expected_brokers == 3 and report.missing_brokers == []
    assert (report.verdict, report.reasons) == ("degraded", ["1 of 3 brokers answer"])


def test_one_broker_with_replication_1_is_healthy_at_min_insync_1(cluster: FakeCluster) -> None:
    _pipeline(cluster)

    report = _check(cluster)

    assert all(t.min_insync == 1 and not t.at_min_isr for t in report.topics)
    assert report.expected_brokers == 1
    assert (report.verdict, report.reasons) == ("healthy", [])
