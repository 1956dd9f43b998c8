"""Topics as an operator sees them: list with sizes and pipeline roles, describe one in full."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from kafkactl.config import Settings
from kafkactl.errors import UsageError
from kafkactl.kafka.ports import TopicPartition
from kafkactl.topology import role_of


class TopicAdmin(Protocol):
    """What the topic views need from the admin port."""

    def topic_names(self) -> list[str]: ...
    def describe_topics(self, names: list[str]) -> list[dict[str, Any]]: ...
    def list_offsets(
        self, partitions: list[TopicPartition], latest: bool
    ) -> dict[TopicPartition, int]: ...
    def topic_configs(self, name: str) -> dict[str, str]: ...


@dataclass
class TopicRow:
    """One line of `topics list`."""

    name: str
    partitions: int
    replication: int
    messages: int
    role: str
    internal: bool = False


@dataclass
class PartitionRow:
    """One partition of `topics describe`."""

    partition: int
    leader: int
    replicas: list[int]
    isr: list[int]
    low: int
    high: int

    @property
    def messages(self) -> int:
        """Records retained: high minus low watermark."""
        return self.high - self.low


@dataclass
class TopicDetail:
    """`topics describe`: partitions with leaders, replicas, ISR, watermarks, and configs."""

    name: str
    role: str
    partitions: list[PartitionRow] = field(default_factory=list)
    configs: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out = asdict(self)
        for row, part in zip(out["partitions"], self.partitions, strict=True):
            row["messages"] = part.messages
        return out


def _partitions(meta: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted(meta.get("partitions", []), key=lambda p: p["partition_index"])


def list_topics(admin: TopicAdmin, settings: Settings, include_internal: bool) -> list[TopicRow]:
    """Every topic with its partitions, replication, retained messages and pipeline role."""
    metas = [m for m in admin.describe_topics(admin.topic_names()) if not m.get("error_code")]
    if not include_internal:
        metas = [m for m in metas if not m.get("is_internal")]
    tps = [TopicPartition(m["name"], p["partition_index"]) for m in metas for p in _partitions(m)]
    highs = admin.list_offsets(tps, latest=True) if tps else {}
    lows = admin.list_offsets(tps, latest=False) if tps else {}
    rows: list[TopicRow] = []
    for meta in sorted(metas, key=lambda m: m["name"]):
        parts = _partitions(meta)
        messages = sum(
            highs[TopicPartition(meta["name"], p["partition_index"])]
            - lows[TopicPartition(meta["name"], p["partition_index"])]
            for p in parts
        )
        rows.append(
            TopicRow(
                meta["name"],
                len(parts),
                max((len(p.get("replica_nodes", [])) for p in parts), default=0),
                messages,
                role_of(settings, meta["name"]).label,
                bool(meta.get("is_internal")),
            )
        )
    return rows


def describe_topic(admin: TopicAdmin, settings: Settings, name: str) -> TopicDetail:
    """One topic in full; a missing topic is a usage error naming `topics list`."""
    metas = admin.describe_topics([name])
    meta = metas[0] if metas else None
    if not meta or meta.get("error_code"):
        raise UsageError(f"topic {name!r} does not exist (see: kafkactl topics list)")
    parts = _partitions(meta)
    tps = [TopicPartition(name, p["partition_index"]) for p in parts]
    highs = admin.list_offsets(tps, latest=True) if tps else {}
    lows = admin.list_offsets(tps, latest=False) if tps else {}
    detail = TopicDetail(name, role_of(settings, name).label)
    for p, tp in zip(parts, tps, strict=True):
        detail.partitions.append(
            PartitionRow(
                p["partition_index"],
                p.get("leader_id", -1),
                list(p.get("replica_nodes", [])),
                list(p.get("isr_nodes", [])),
                lows[tp],
                highs[tp],
            )
        )
    detail.configs = dict(sorted(admin.topic_configs(name).items()))
    return detail
