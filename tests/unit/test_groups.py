"""Groups list/describe/reset-offsets over a small in-memory admin (the real one: integration)."""

from __future__ import annotations

from typing import Any

import pytest

from kafkactl.admin.groups import (
    GroupActiveError,
    ResetTarget,
    describe_group,
    execute_reset,
    list_groups,
    plan_reset,
    reset_target,
)
from kafkactl.config import load_settings
from kafkactl.errors import OptionError, UsageError
from kafkactl.kafka.admin_port import (
    Committed,
    GroupListing,
    GroupMember,
    GroupState,
    PartitionInfo,
    TopicInfo,
)
from kafkactl.kafka.ports import TopicPartition as TP


class GroupsAdmin:
    """Topics with watermarks, groups with members and committed offsets."""

    def __init__(self) -> None:
        self.low: dict[TP, int] = {}
        self.high: dict[TP, int] = {}
        self.committed: dict[str, dict[TP, int]] = {}
        self.members: dict[str, list[GroupMember]] = {}
        self.times: dict[TP, int] = {}
        self.altered: list[dict[TP, int]] = []

    def topic(self, name: str, highs: list[int], lows: list[int] | None = None) -> None:
        for p, high in enumerate(highs):
            self.high[TP(name, p)] = high
            self.low[TP(name, p)] = (lows or [0] * len(highs))[p]

    def list_groups(self) -> list[GroupListing]:
        return [GroupListing(g, "Empty", "consumer") for g in sorted(self.committed)]

    def describe_group(self, group: str) -> GroupState:
        members = self.members.get(group, [])
        known = group in self.committed or members
        return GroupState(group, "Stable" if members else ("Empty" if known else "Dead"), members)

    def group_offsets(self, group: str) -> dict[TP, Committed]:
        return {tp: Committed(o, "") for tp, o in self.committed.get(group, {}).items()}

    def list_offsets(self, partitions: list[TP], latest: bool) -> dict[Any, int]:
        return {tp: (self.high if latest else self.low)[tp] for tp in partitions}

    def offsets_for_time(self, partitions: list[TP], ms: int) -> dict[Any, int]:
        return {tp: self.times.get(tp, self.high[tp]) for tp in partitions}

    def describe_topics(self, names: list[str]) -> list[TopicInfo]:
        out = []
        for name in names:
            parts = sorted(tp.partition for tp in self.high if tp.topic == name)
            partitions = tuple(PartitionInfo(p, 1, (1,), (1,)) for p in parts)
            out.append(TopicInfo(name, partitions, exists=bool(parts)))
        return out

    def alter_group_offsets(self, group: str, offsets: dict[TP, int]) -> dict[TP, str | None]:
        self.altered.append(dict(offsets))
        self.committed.setdefault(group, {}).update(offsets)
        return dict.fromkeys(offsets)


@pytest.fixture
def admin() -> GroupsAdmin:
    a = GroupsAdmin()
    a.topic("orders", [10, 20])
    a.committed["billing"] = {TP("orders", 0): 4, TP("orders", 1): 20}
    return a


SETTINGS = load_settings({"brokers": "127.0.0.1:9092"})


def test_list_sums_lag_over_partitions(admin: GroupsAdmin) -> None:
    (row,) = list_groups(admin)
    assert (row.group, row.lag, row.topics, row.members) == ("billing", 6, ["orders"], 0)


def test_describe_shows_lag_owner_and_pipeline_depths(admin: GroupsAdmin) -> None:
    admin.topic("orders.billing.retry.1", [5])
    admin.committed["billing"][TP("orders.billing.retry.1", 0)] = 3
    admin.topic("orders.billing.dlq", [9], lows=[2])
    admin.members["billing"] = [GroupMember("m-1", "cli-1", "10.0.0.1", [TP("orders", 0)])]
    detail = describe_group(admin, SETTINGS, "billing")
    lag = {(p.topic, p.partition): (p.committed, p.end, p.lag, p.member) for p in detail.partitions}
    assert lag[("orders", 0)] == (4, 10, 6, "cli-1")
    assert lag[("orders", 1)] == (20, 20, 0, None)
    depths = {d.topic: (d.exists, d.depth) for d in detail.pipeline}
    assert depths["orders.billing.retry.1"] == (True, 2)  # 5 written, 3 consumed
    assert depths["orders.billing.dlq"] == (True, 7)  # retained: 9 - 2
    assert depths["orders.billing.retry.2"] == (False, None)
    assert detail.exists and detail.total_lag == 8


def test_describe_names_the_top_error_of_a_dlq_that_is_not_empty(admin: GroupsAdmin) -> None:
    from kafkactl.dlq.scan import TopError

    admin.topic("orders.billing.dlq", [9], lows=[2])
    admin.topic("orders.billing.retry.1", [5])
    asked: list[str] = []

    def top_error(dlq: str) -> TopError:
        asked.append(dlq)
        return TopError("ValueError", "fatal", 5, 7)

    detail = describe_group(admin, SETTINGS, "billing", top_error)
    assert asked == ["orders.billing.dlq"]
    dlq = next(d for d in detail.pipeline if d.role == "dlq")
    assert dlq.top_error == TopError("ValueError", "fatal", 5, 7)
    assert detail.as_dict()["pipeline"][-1]["top_error"]["error_class"] == "ValueError"
    assert all(d.top_error is None for d in detail.pipeline if d.role != "dlq")


def test_describe_unknown_group_does_not_exist(admin: GroupsAdmin) -> None:
    assert not describe_group(admin, SETTINGS, "typo").exists


@pytest.mark.parametrize(
    ("to", "shift", "expected"),
    [
        ("earliest", None, ResetTarget("beginning")),
        ("latest", None, ResetTarget("end")),
        ("42", None, ResetTarget("offset", 42)),
        ("@1767225600000", None, ResetTarget("time", 1767225600000)),
        (None, -5, ResetTarget("shift", -5)),
    ],
)
def test_reset_target_forms(to: str | None, shift: int | None, expected: ResetTarget) -> None:
    assert reset_target(to, shift) == expected


@pytest.mark.parametrize(("to", "shift"), [(None, None), ("earliest", 3), ("-3", None)])
def test_reset_target_rejects_what_it_cannot_mean(to: str | None, shift: int | None) -> None:
    with pytest.raises(UsageError):
        reset_target(to, shift)


def test_plan_clamps_and_changes_nothing(admin: GroupsAdmin) -> None:
    plan = plan_reset(admin, "billing", "orders", None, ResetTarget("offset", 15))
    rows = {r.partition: (r.current, r.new, r.status) for r in plan.rows}
    assert rows == {0: (4, 10, "planned"), 1: (20, 15, "planned")}
    assert not admin.altered


def test_shift_and_time_targets(admin: GroupsAdmin) -> None:
    plan = plan_reset(admin, "billing", "orders", [0], ResetTarget("shift", -10))
    assert [(r.partition, r.new) for r in plan.rows] == [(0, 0)]  # clamped at the low mark
    admin.times[TP("orders", 1)] = 7
    plan = plan_reset(admin, "billing", "orders", [1], ResetTarget("time", 1))
    assert [(r.partition, r.new) for r in plan.rows] == [(1, 7)]


def test_execute_moves_only_planned_partitions(admin: GroupsAdmin) -> None:
    plan = plan_reset(admin, "billing", "orders", None, ResetTarget("end"))
    done = execute_reset(admin, plan)
    assert admin.altered == [{TP("orders", 0): 10}]  # partition 1 is already at the end
    assert [r.status for r in done.rows] == ["done", "unchanged"]
    assert admin.committed["billing"][TP("orders", 0)] == 10


def test_execute_refuses_an_active_group(admin: GroupsAdmin) -> None:
    admin.members["billing"] = [GroupMember("m-1", "cli-1", "h", [TP("orders", 0)])]
    plan = plan_reset(admin, "billing", "orders", None, ResetTarget("beginning"))
    with pytest.raises(GroupActiveError, match="stop its consumers first"):
        execute_reset(admin, plan)
    assert not admin.altered


def test_unknown_topic_and_partition_are_usage_errors(admin: GroupsAdmin) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        plan_reset(admin, "billing", "nope", None, ResetTarget("end"))
    with pytest.raises(OptionError) as info:
        plan_reset(admin, "billing", "orders", [5], ResetTarget("end"))
    assert info.value.option == "partitions"
    assert str(info.value.worded("--partition")).startswith("--partition 5: topic orders has ")
