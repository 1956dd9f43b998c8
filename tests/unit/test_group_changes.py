"""Deleting groups and their offsets, and reset-offsets --all-topics, over the fake admin."""

from __future__ import annotations

import pytest

from kafkactl.admin.group_changes import (
    UnknownGroup,
    delete_groups,
    delete_offsets,
    plan_group_delete,
    plan_offsets_delete,
)
from kafkactl.admin.groups import GroupActiveError, ResetTarget, execute_reset, plan_reset
from kafkactl.errors import OptionError, UsageError
from kafkactl.kafka.admin_port import GroupMember
from kafkactl.kafka.ports import TopicPartition as TP
from tests.fakes import FakeCluster
from tests.fakes.admin import FakeAdmin, admin_state


@pytest.fixture
def admin() -> FakeAdmin:
    cluster = FakeCluster()
    cluster.create_topic("orders", 2)
    cluster.create_topic("audit", 1)
    for n in range(6):
        cluster.produce("orders", b"v", partition=n % 2)
        cluster.produce("audit", b"v", partition=0)
    cluster.commit("billing", {TP("orders", 0): 1, TP("orders", 1): 2, TP("audit", 0): 3}, None)
    return cluster.connect_admin()


def _busy(admin: FakeAdmin) -> None:
    admin.cluster.members["billing"] = [
        GroupMember("m-1", "worker-1", "10.0.0.7", [TP("orders", 0)]),
        GroupMember("m-2", "worker-2", "10.0.0.8", [TP("orders", 1)]),
    ]


def test_delete_refuses_a_group_with_members_naming_them(admin: FakeAdmin) -> None:
    _busy(admin)
    with pytest.raises(GroupActiveError) as info:
        plan_group_delete(admin, ["billing"])
    text = str(info.value)
    assert "2 member(s) (worker-1@10.0.0.7, worker-2@10.0.0.8)" in text
    assert "stop its consumers first" in text and "\n" not in text
    assert not admin_state(admin.cluster).deleted_groups


def test_delete_an_unknown_group_is_one_line(admin: FakeAdmin) -> None:
    with pytest.raises(UnknownGroup, match="group ghost is unknown"):
        plan_group_delete(admin, ["billing", "ghost"])
    assert not admin.calls.get("delete_groups")


def test_delete_plans_then_deletes(admin: FakeAdmin) -> None:
    rows = plan_group_delete(admin, ["billing"])
    assert [(r.group, r.state, r.topics, r.partitions) for r in rows] == [
        ("billing", "Empty", ["audit", "orders"], 3)
    ]
    assert [r.status for r in delete_groups(admin, rows)] == ["done"]
    assert admin_state(admin.cluster).deleted_groups == {"billing"}


def test_delete_offsets_plan_and_refusals(admin: FakeAdmin) -> None:
    plan = plan_offsets_delete(admin, "billing", "orders", None)
    assert [(r["partition"], r["committed"]) for r in plan.rows] == [(0, 1), (1, 2)]
    with pytest.raises(UsageError, match="no committed offsets on topic other"):
        plan_offsets_delete(admin, "billing", "other", None)
    with pytest.raises(OptionError):
        plan_offsets_delete(admin, "billing", "audit", [4])
    _busy(admin)
    with pytest.raises(GroupActiveError):
        delete_offsets(admin, plan)
    assert not admin_state(admin.cluster).deleted_offsets
    admin.cluster.members.clear()
    done = delete_offsets(admin, plan)
    assert done.executed and not done.failed
    assert admin_state(admin.cluster).deleted_offsets == {
        ("billing", TP("orders", 0)),
        ("billing", TP("orders", 1)),
    }


def test_reset_all_topics_covers_every_committed_topic(admin: FakeAdmin) -> None:
    plan = plan_reset(admin, "billing", None, None, ResetTarget("end"))
    assert {(r.topic, r.partition, r.current, r.new) for r in plan.rows} == {
        ("orders", 0, 1, 3),
        ("orders", 1, 2, 3),
        ("audit", 0, 3, 6),
    }
    execute_reset(admin, plan)
    assert admin.cluster.committed_offsets("billing") == {
        TP("orders", 0): 3,
        TP("orders", 1): 3,
        TP("audit", 0): 6,
    }


def test_reset_all_topics_refusals(admin: FakeAdmin) -> None:
    with pytest.raises(UsageError, match="--partition needs --topic"):
        plan_reset(admin, "billing", None, [0], ResetTarget("end"))
    with pytest.raises(Exception, match="group ghost has no committed offsets"):
        plan_reset(admin, "ghost", None, None, ResetTarget("end"))
    _busy(admin)
    plan = plan_reset(admin, "billing", None, None, ResetTarget("beginning"))
    with pytest.raises(GroupActiveError, match=r"worker-1@10\.0\.0\.7"):
        execute_reset(admin, plan)
