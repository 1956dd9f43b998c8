"""Topics, groups and offsets through the admin port, as plain data."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from kafkactl.admin.topics import copy_configs, pipeline_configs, pipeline_risks
from kafkactl.kafka import TopicPartition
from kafkactl.kafka.admin_port import (
    TOPIC_ALREADY_EXISTS,
    AdminPort,
    NewTopicSpec,
    PartitionInfo,
    TopicAnswer,
    TopicInfo,
)
from kafkactl.topology import TopicPlan

__all__ = ["PartitionInfo", "TopicInfo", "create_topics", "describe_topics"]

CreateStatus = Literal["created", "exists", "failed"]


@dataclass
class TopicResult:
    """What create-topics did with one topic."""

    name: str
    role: str
    status: CreateStatus
    partitions: int | None = None
    replication: int | None = None
    detail: str | None = None
    # what in an existing tier's or DLQ's configs can delete dead letters early
    risks: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def describe_topics(admin: AdminPort, names: list[str]) -> dict[str, TopicInfo]:
    """Partitions, leaders, replicas and ISR per topic; missing topics have exists=False."""
    if not names:
        return {}
    return {info.name: info for info in admin.describe_topics(list(dict.fromkeys(names)))}


def create_topics(
    admin: AdminPort,
    plans: list[TopicPlan],
    partitions: int,
    replication: int,
    configs: dict[str, str] | None = None,
) -> list[TopicResult]:
    """Create each planned topic; one that exists is `exists` (with a note if partitions differ).

    Main topics first, with `configs`; then retry tiers and DLQs with the pipeline's own
    (topics.copy_configs: delete policy, the main topic's retention and max.message.bytes plus
    room for the failure headers). An existing tier or DLQ that can lose records early says so
    in `risks`.
    """
    configs = dict(configs or {})
    plans = list({p.name: p for p in plans}.values())
    mains = [p for p in plans if p.main is None]
    copies = [p for p in plans if p.main is not None]
    answers = admin.create_topics(
        [NewTopicSpec(p.name, partitions, replication, configs) for p in mains]
    )
    if copies:
        known = pipeline_configs(admin, [p.main for p in copies if p.main])
        answers += admin.create_topics(
            [
                NewTopicSpec(
                    p.name, partitions, replication, copy_configs(configs, known.get(p.main, {}))
                )
                for p in copies
                if p.main
            ]
        )
    by_name = {a.name: a for a in answers}
    exists = {a.name for a in answers if a.error_code == TOPIC_ALREADY_EXISTS}
    existing = describe_topics(admin, sorted(exists))
    risks = pipeline_risks(admin, [p for p in copies if p.name in exists])
    results = []
    for plan in plans:
        answer = by_name.get(plan.name) or TopicAnswer(
            plan.name, -1, "no answer from broker", None, None
        )
        if answer.error_code == 0:
            results.append(
                TopicResult(plan.name, plan.role, "created", answer.partitions, answer.replication)
            )
        elif answer.error_code == TOPIC_ALREADY_EXISTS:
            info = existing.get(plan.name)
            have = len(info.partitions) if info else None
            rf = len(info.partitions[0].replicas) if info and info.partitions else None
            detail = None
            if have is not None and have != partitions:
                detail = f"has {have} partitions, not the {partitions} asked for"
            found = risks.get(plan.name, [])
            results.append(TopicResult(plan.name, plan.role, "exists", have, rf, detail, found))
        else:
            results.append(TopicResult(plan.name, plan.role, "failed", detail=answer.error_message))
    return results


def end_offsets(admin: AdminPort, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
    """The log-end offset of each partition."""
    return admin.list_offsets(partitions, latest=True)


def beginning_offsets(
    admin: AdminPort, partitions: list[TopicPartition]
) -> dict[TopicPartition, int]:
    """The first retained offset of each partition."""
    return admin.list_offsets(partitions, latest=False)


def committed_offsets(
    admin: AdminPort, group: str, partitions: list[TopicPartition], timeout: float = 15.0
) -> dict[TopicPartition, int | None]:
    """The group's committed offset per partition (None: nothing committed yet)."""
    if not partitions:
        return {}
    answer = admin.committed(group, partitions, timeout)
    return {tp: (c.offset if c is not None else None) for tp, c in answer.items()}
