"""The configs create-topics gives retry tiers and DLQs, and the risks it reports for them."""

from __future__ import annotations

from kafkactl.admin import queries as kadmin
from kafkactl.admin.topics import copy_configs, copy_risks
from kafkactl.kafka.admin_port import TopicConfig
from kafkactl.topology import TopicPlan
from tests.fakes import FakeAdmin, FakeCluster

COMPACT = {"cleanup.policy": "compact", "delete.retention.ms": "1", "compression.type": "lz4"}


def test_a_copy_never_inherits_compaction_or_a_shorter_retention() -> None:
    main = {
        "cleanup.policy": TopicConfig("compact", True),
        "retention.ms": TopicConfig("-1", True),
        "retention.bytes": TopicConfig("-1", False),
        "max.message.bytes": TopicConfig("2000000", True),
    }
    out = copy_configs({**COMPACT, "retention.ms": "-1", "min.compaction.lag.ms": "5"}, main)

    assert out == {
        "compression.type": "lz4",
        "cleanup.policy": "delete",
        "retention.ms": "-1",  # the main topic's own, not the broker default
        "max.message.bytes": str(2_000_000 + 64 * 1024),
    }


def test_without_the_main_topics_configs_the_asked_retention_is_kept() -> None:
    out = copy_configs({"retention.ms": "99", "cleanup.policy": "compact"}, {})

    assert out["retention.ms"] == "99" and out["cleanup.policy"] == "delete"


def test_risks_name_the_setting_and_the_main_topic() -> None:
    main = {"retention.bytes": TopicConfig("-1", False), "retention.ms": TopicConfig("10", True)}
    copy = {
        "cleanup.policy": TopicConfig("compact", True),
        "retention.bytes": TopicConfig("1000", True),
        "retention.ms": TopicConfig("20", True),
    }

    risks = copy_risks(copy, main, "orders")

    assert [r.split(":")[0] for r in risks] == [
        "has cleanup.policy=compact",
        "has retention.bytes=1000, shorter than orders's -1",
    ]
    assert copy_risks({"retention.ms": TopicConfig("-1", True)}, main, "orders") == []


def test_create_topics_gives_copies_delete_and_reports_an_existing_compacted_dlq() -> None:
    cluster = FakeCluster()
    cluster.create_topic("old.dlq")
    cluster.topic_configs["old.dlq"] = {"cleanup.policy": "compact"}
    plans = [
        TopicPlan("orders", "main"),
        TopicPlan("orders.dlq", "dlq", "orders"),
        TopicPlan("old", "main"),
        TopicPlan("old.dlq", "dlq", "old"),
    ]

    results = kadmin.create_topics(FakeAdmin(cluster), plans, 1, 1, COMPACT)

    assert cluster.topic_configs["orders"]["cleanup.policy"] == "compact"
    assert cluster.topic_configs["orders.dlq"]["cleanup.policy"] == "delete"
    assert "delete.retention.ms" not in cluster.topic_configs["orders.dlq"]
    risks = {r.name: [x.split(":")[0] for x in r.risks] for r in results}
    assert risks == {
        "orders": [],
        "orders.dlq": [],
        "old": [],
        "old.dlq": ["has cleanup.policy=compact"],
    }
