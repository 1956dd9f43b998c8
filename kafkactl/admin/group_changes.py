"""Removing consumer groups and their committed offsets (admin port, plain data).

Both are refused while the group has members (`groups.require_inactive`): the broker would
refuse too (NON_EMPTY_GROUP, GROUP_SUBSCRIBED_TO_TOPIC), and a member would commit again.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from kafkactl.admin.groups import GroupAdmin, require_inactive
from kafkactl.admin.topic_changes import Status
from kafkactl.errors import KafkactlError, OptionError, UsageError
from kafkactl.kafka.ports import TopicPartition


class GroupChangeAdmin(GroupAdmin, Protocol):
    """What deleting groups and offsets needs from the admin port."""

    def delete_groups(self, groups: list[str]) -> dict[str, str | None]: ...
    def delete_group_offsets(
        self, group: str, partitions: list[TopicPartition]
    ) -> dict[TopicPartition, str | None]: ...


class UnknownGroup(KafkactlError):
    """The cluster knows nothing of the group: no members, no committed offsets (exit 1)."""


@dataclass
class GroupDeleteRow:
    """One group to delete: its state and committed offsets now, then what happened."""

    group: str
    state: str
    topics: list[str]
    partitions: int
    status: Status = "planned"
    error: str | None = None


def plan_group_delete(admin: GroupChangeAdmin, groups: list[str]) -> list[GroupDeleteRow]:
    """Each group's state and committed offsets; refused (nothing deleted) when one is unknown
    or has members."""
    rows = []
    for group in dict.fromkeys(groups):
        state = require_inactive(admin, group, "a group with members cannot be deleted")
        offsets = admin.group_offsets(group)
        if state.state == "Dead" and not offsets:
            raise UnknownGroup(
                f"group {group} is unknown: no members and no committed offsets "
                "(see: kafkactl groups list)"
            )
        topics = sorted({tp.topic for tp in offsets})
        rows.append(GroupDeleteRow(group, state.state, topics, len(offsets)))
    return rows


def delete_groups(admin: GroupChangeAdmin, rows: list[GroupDeleteRow]) -> list[GroupDeleteRow]:
    """Delete the planned groups (a member that joined since the plan makes it fail)."""
    for row in rows:
        require_inactive(admin, row.group, "a group with members cannot be deleted")
    answers = admin.delete_groups([r.group for r in rows])
    for row in rows:
        error = answers.get(row.group)
        row.status, row.error = ("failed", error) if error else ("done", None)
    return rows


@dataclass
class OffsetsDeletePlan:
    """`groups delete-offsets`: the group's committed offsets on a topic, and their fate."""

    group: str
    topic: str
    state: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    executed: bool = False

    @property
    def failed(self) -> bool:
        """True when an offset could not be deleted."""
        return any(r["status"] == "failed" for r in self.rows)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def plan_offsets_delete(
    admin: GroupChangeAdmin, group: str, topic: str, partitions: list[int] | None
) -> OffsetsDeletePlan:
    """The group's committed offsets on `topic` (or its `partitions`) that would be deleted."""
    offsets = admin.group_offsets(group)
    mine = sorted(tp.partition for tp in offsets if tp.topic == topic)
    if not mine:
        state = admin.describe_group(group)
        if state.state == "Dead" and not offsets:
            raise UnknownGroup(
                f"group {group} is unknown: no members and no committed offsets "
                "(see: kafkactl groups list)"
            )
        raise UsageError(
            f"group {group} has no committed offsets on topic {topic} "
            f"(see: kafkactl groups describe {group})"
        )
    chosen = mine if not partitions else sorted(set(partitions))
    missing = [p for p in chosen if p not in mine]
    if missing:
        raise OptionError(
            "partitions",
            f"{missing[0]}: group {group} has offsets on {topic} partitions "
            + ",".join(map(str, mine)),
        )
    state = admin.describe_group(group)
    rows = [
        {"partition": p, "committed": offsets[TopicPartition(topic, p)].offset, "status": "planned"}
        for p in chosen
    ]
    for row in rows:
        row["error"] = None
    return OffsetsDeletePlan(group, topic, state.state, rows)


def delete_offsets(admin: GroupChangeAdmin, plan: OffsetsDeletePlan) -> OffsetsDeletePlan:
    """Delete the planned offsets; refused while the group has members."""
    require_inactive(admin, plan.group, "its members would commit the offsets again")
    answers = admin.delete_group_offsets(
        plan.group, [TopicPartition(plan.topic, r["partition"]) for r in plan.rows]
    )
    for row in plan.rows:
        error = answers.get(TopicPartition(plan.topic, row["partition"]))
        row["status"], row["error"] = ("failed", error) if error else ("done", None)
    plan.executed = True
    return plan
