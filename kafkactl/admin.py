"""Topics, groups and offsets through kafka-python's admin client, as plain data."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from kafkactl.config import Settings

# Broker error codes (Kafka protocol) that create_topics answers with.
TOPIC_ALREADY_EXISTS = 36


@dataclass(frozen=True)
class TopicPlan:
    """A topic to create, and the part it plays in the pipeline (main, retry N, dlq)."""

    name: str
    role: str


@dataclass
class TopicResult:
    """What create-topics did with one topic."""

    name: str
    role: str
    status: str  # created | exists | failed
    partitions: int | None = None
    replication: int | None = None
    detail: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


@dataclass
class PartitionInfo:
    """Leadership and replication state of one partition."""

    partition: int
    leader: int
    replicas: list[int]
    isr: list[int]


@dataclass
class TopicInfo:
    """A topic's partitions as the cluster describes them (None partitions: topic missing)."""

    name: str
    partitions: list[PartitionInfo] = field(default_factory=list)
    exists: bool = True


def pipeline_topics(
    settings: Settings, topic: str, group: str, with_retry: bool
) -> list[TopicPlan]:
    """The main topic, then (unless disabled) its group's retry tiers and DLQ."""
    plans = [TopicPlan(topic, "main")]
    if with_retry:
        plans += [
            TopicPlan(settings.retry_topic(topic, n, group), f"retry {n}")
            for n in range(1, len(settings.retry_delays) + 1)
        ]
        plans.append(TopicPlan(settings.dlq_topic(topic, group), "dlq"))
    return plans


def describe_topics(admin: Any, names: list[str]) -> dict[str, TopicInfo]:
    """Partitions, leaders, replicas and ISR per topic; missing topics have exists=False."""
    result: dict[str, TopicInfo] = {}
    if not names:
        return result
    for entry in admin.describe_topics(list(dict.fromkeys(names))):
        name = entry["name"]
        if entry["error_code"] != 0:
            result[name] = TopicInfo(name, [], exists=False)
            continue
        partitions = [
            PartitionInfo(
                p["partition_index"], p["leader_id"], list(p["replica_nodes"]), list(p["isr_nodes"])
            )
            for p in sorted(entry["partitions"], key=lambda p: p["partition_index"])
        ]
        result[name] = TopicInfo(name, partitions)
    return result


def create_topics(
    admin: Any,
    plans: list[TopicPlan],
    partitions: int,
    replication: int,
    configs: dict[str, str] | None = None,
) -> list[TopicResult]:
    """Create each planned topic; one that exists is `exists` (with a note if partitions differ)."""
    from kafka.admin import NewTopic

    plans = list({p.name: p for p in plans}.values())
    new = [NewTopic(p.name, partitions, replication, topic_configs=configs or {}) for p in plans]
    response = admin.create_topics(new, raise_errors=False)
    by_name = {t["name"]: t for t in response["topics"]}
    existing = describe_topics(
        admin, [n for n, t in by_name.items() if t["error_code"] == TOPIC_ALREADY_EXISTS]
    )
    results = []
    for plan in plans:
        answer = by_name.get(
            plan.name, {"error_code": -1, "error_message": "no answer from broker"}
        )
        code = answer["error_code"]
        if code == 0:
            results.append(
                TopicResult(
                    plan.name,
                    plan.role,
                    "created",
                    answer.get("num_partitions"),
                    answer.get("replication_factor"),
                )
            )
        elif code == TOPIC_ALREADY_EXISTS:
            info = existing.get(plan.name)
            have = len(info.partitions) if info else None
            rf = len(info.partitions[0].replicas) if info and info.partitions else None
            detail = None
            if have is not None and have != partitions:
                detail = f"has {have} partitions, not the {partitions} asked for"
            results.append(TopicResult(plan.name, plan.role, "exists", have, rf, detail))
        else:
            message = answer.get("error_message") or _error_name(code)
            results.append(TopicResult(plan.name, plan.role, "failed", detail=message))
    return results


def end_offsets(admin: Any, partitions: list[Any]) -> dict[Any, int]:
    """The log-end offset of each TopicPartition."""
    return _list_offsets(admin, partitions, latest=True)


def beginning_offsets(admin: Any, partitions: list[Any]) -> dict[Any, int]:
    """The first retained offset of each TopicPartition."""
    return _list_offsets(admin, partitions, latest=False)


def _list_offsets(admin: Any, partitions: list[Any], latest: bool) -> dict[Any, int]:
    from kafka.admin import OffsetSpec

    if not partitions:
        return {}
    spec = OffsetSpec.LATEST if latest else OffsetSpec.EARLIEST
    answer = admin.list_partition_offsets(dict.fromkeys(partitions, spec))
    return {tp: value.offset for tp, value in answer.items()}


def committed_metadata(
    admin: Any, group: str, partitions: list[Any], timeout: float = 15.0
) -> dict[Any, Any]:
    """The group's committed OffsetAndMetadata per partition, as the coordinator answers."""
    from kafka import errors as kerr

    deadline = time.monotonic() + timeout
    while True:
        try:
            return admin.list_group_offsets({group: list(partitions)})[group]
        except (
            kerr.CoordinatorNotAvailableError,
            kerr.CoordinatorLoadInProgressError,
            kerr.NotCoordinatorError,
        ):
            # The group coordinator (and __consumer_offsets) may still be loading after start-up.
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def committed_offsets(
    admin: Any, group: str, partitions: list[Any], timeout: float = 15.0
) -> dict[Any, int | None]:
    """The group's committed offset per partition (None: nothing committed yet)."""
    if not partitions:
        return {}
    answer = committed_metadata(admin, group, partitions, timeout)
    return {
        tp: (meta.offset if meta is not None and meta.offset >= 0 else None)
        for tp, meta in ((tp, answer.get(tp)) for tp in partitions)
    }


def _error_name(code: int) -> str:
    from kafka import errors as kerr

    return kerr.for_code(code).__name__
