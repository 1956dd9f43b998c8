"""Topic changes (delete, alter-config, add-partitions, delete-records) over the fake admin."""

from __future__ import annotations

import pytest

from kafkactl.admin.topic_changes import (
    add_partitions,
    apply_config_change,
    delete_records,
    delete_topics,
    plan_add_partitions,
    plan_config_change,
    plan_delete_records,
    plan_topic_delete,
)
from kafkactl.config import load_settings
from kafkactl.errors import OptionError, UsageError
from kafkactl.kafka.ports import TopicPartition as TP
from tests.fakes import FakeCluster
from tests.fakes.admin import FakeAdmin, admin_state


@pytest.fixture
def admin() -> FakeAdmin:
    cluster = FakeCluster()
    cluster.create_topic("orders", 2)
    for n in range(10):
        cluster.produce("orders", b"v", partition=n % 2, timestamp=1_000 + n)
    return cluster.connect_admin()


def test_internal_topics_are_refused_before_anything(admin: FakeAdmin) -> None:
    settings = load_settings({})
    for call in (
        lambda: plan_topic_delete(admin, settings, ["orders", "__consumer_offsets"]),
        lambda: plan_config_change(admin, "__consumer_offsets", {"retention.ms": "1"}, []),
        lambda: plan_add_partitions(admin, "__transaction_state", 9),
        lambda: plan_delete_records(admin, "__consumer_offsets", "end", 0, None),
    ):
        with pytest.raises(UsageError, match="belong to Kafka itself"):
            call()
    assert not admin.calls.get("delete_topics")


def test_delete_plans_sizes_and_refuses_a_missing_topic(admin: FakeAdmin) -> None:
    settings = load_settings({})
    with pytest.raises(UsageError, match="'nope' does not exist"):
        plan_topic_delete(admin, settings, ["orders", "nope"])
    rows = plan_topic_delete(admin, settings, ["orders"])
    assert [(r.name, r.partitions, r.messages, r.status) for r in rows] == [
        ("orders", 2, 10, "planned")
    ]
    admin_state(admin.cluster).refuse["orders"] = "TopicAuthorizationFailedError"
    assert delete_topics(admin, rows)[0].status == "failed"
    admin_state(admin.cluster).refuse.clear()
    assert delete_topics(admin, rows)[0].status == "done"
    assert admin_state(admin.cluster).deleted_topics == {"orders"}


def test_config_plan_old_to_new_and_apply(admin: FakeAdmin) -> None:
    admin.cluster.topic_configs["orders"] = {"retention.ms": "1000"}
    plan = plan_config_change(admin, "orders", {"cleanup.policy": "compact"}, ["retention.ms"])
    changes = {c.key: (c.old, c.old_source, c.new, c.action) for c in plan.changes}
    assert changes == {
        "cleanup.policy": ("delete", "DEFAULT_CONFIG", "compact", "set"),
        "retention.ms": ("1000", "DYNAMIC_TOPIC_CONFIG", None, "delete"),
    }
    assert plan.status == "planned" and admin.cluster.topic_configs["orders"] == {
        "retention.ms": "1000"
    }, "a plan changed something"
    done = apply_config_change(admin, plan)
    assert done.status == "done"
    assert admin.cluster.topic_configs["orders"] == {"cleanup.policy": "compact"}


def test_config_plan_refuses_unknown_and_contradictory_keys(admin: FakeAdmin) -> None:
    with pytest.raises(UsageError, match=r"retention\.mss is not a config of topic orders"):
        plan_config_change(admin, "orders", {"retention.mss": "1"}, [])
    with pytest.raises(UsageError, match="both in --set and --delete"):
        plan_config_change(admin, "orders", {"retention.ms": "1"}, ["retention.ms"])
    with pytest.raises(UsageError, match="nothing to change"):
        plan_config_change(admin, "orders", {}, [])


def test_a_config_already_so_is_unchanged_and_not_sent(admin: FakeAdmin) -> None:
    admin.cluster.topic_configs["orders"] = {"retention.ms": "1000"}
    plan = plan_config_change(admin, "orders", {"retention.ms": "1000"}, ["cleanup.policy"])
    assert plan.status == "unchanged"
    apply_config_change(admin, plan)
    assert not admin.calls.get("alter_topic_configs")


def test_add_partitions_only_grows(admin: FakeAdmin) -> None:
    for count in (1, 2):
        with pytest.raises(UsageError, match="has 2 partitions and Kafka can only add"):
            plan_add_partitions(admin, "orders", count)
    plan = plan_add_partitions(admin, "orders", 6)
    assert (plan.current, plan.count, plan.status) == (2, 6, "planned")
    assert not admin_state(admin.cluster).added_partitions
    assert add_partitions(admin, plan).status == "done"
    assert admin_state(admin.cluster).added_partitions == {"orders": 6}


def test_delete_records_clamps_and_moves_the_low_mark(admin: FakeAdmin) -> None:
    plan = plan_delete_records(admin, "orders", "offset", 3, None)
    assert [(r.partition, r.low, r.new_low, r.removed) for r in plan.rows] == [
        (0, 0, 3, 3),
        (1, 0, 3, 3),
    ]
    assert not admin_state(admin.cluster).lows, "the plan deleted something"
    done = delete_records(admin, plan)
    assert done.removed == 6 and {r.status for r in done.rows} == {"done"}
    assert admin_state(admin.cluster).lows == {TP("orders", 0): 3, TP("orders", 1): 3}
    again = plan_delete_records(admin, "orders", "offset", 2, [1])
    assert [(r.partition, r.new_low, r.status) for r in again.rows] == [(1, 3, "unchanged")]
    everything = plan_delete_records(admin, "orders", "end", 0, [0])
    assert [(r.new_low, r.removed) for r in everything.rows] == [(5, 2)]


def test_delete_records_before_a_time(admin: FakeAdmin) -> None:
    # Partition 0 has timestamps 1000, 1002, ...: the first at or after 1004 is offset 2.
    plan = plan_delete_records(admin, "orders", "time", 1_004, [0])
    assert [(r.new_low, r.removed) for r in plan.rows] == [(2, 2)]


def test_delete_records_unknown_partition_names_the_field(admin: FakeAdmin) -> None:
    with pytest.raises(OptionError) as info:
        plan_delete_records(admin, "orders", "offset", 3, [7])
    assert info.value.option == "partitions"
