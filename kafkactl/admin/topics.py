"""Topics as an operator sees them: list with sizes and pipeline roles, describe one in full;
and the configs a retry tier or DLQ must have so that no dead letter is deleted early."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

from kafkactl.config import Settings
from kafkactl.errors import UsageError
from kafkactl.kafka.admin_port import TopicConfig, TopicInfo
from kafkactl.kafka.limits import (
    BROKER_DEFAULT_MAX_MESSAGE_BYTES,
    MAX_MESSAGE_BYTES,
    PIPELINE_HEADROOM_BYTES,
)
from kafkactl.kafka.ports import TopicPartition
from kafkactl.topology import TopicPlan, role_of

CLEANUP_POLICY = "cleanup.policy"
RETENTION_KEYS = ("retention.ms", "retention.bytes")
# What decides when a record is deleted, or how big it may be: a retry tier or DLQ never takes
# these from `create-topics -c` (compaction keeps only the last record of a key, and a
# tombstone removes every earlier one; a shorter retention drops dead letters before anyone
# looked at them). Tiers and DLQs get the pipeline's own values instead (copy_configs).
LIFECYCLE_KEYS = frozenset(
    {
        CLEANUP_POLICY,
        *RETENTION_KEYS,
        "delete.retention.ms",
        "min.compaction.lag.ms",
        "max.compaction.lag.ms",
        "min.cleanable.dirty.ratio",
        "local.retention.ms",
        "local.retention.bytes",
        MAX_MESSAGE_BYTES,
    }
)
PIPELINE_KEYS = [CLEANUP_POLICY, *RETENTION_KEYS, MAX_MESSAGE_BYTES]
Configs = dict[str, dict[str, TopicConfig]]


class TopicAdmin(Protocol):
    """What the topic views need from the admin port."""

    def topic_names(self) -> list[str]: ...
    def describe_topics(self, names: list[str]) -> list[TopicInfo]: ...
    def list_offsets(
        self, partitions: list[TopicPartition], latest: bool
    ) -> dict[TopicPartition, int]: ...
    def topic_configs(self, name: str) -> dict[str, str]: ...


class ConfigAdmin(Protocol):
    """What the pipeline config checks need from the admin port."""

    def effective_configs(self, names: list[str], keys: list[str]) -> Configs: ...


@dataclass
class TopicRow:
    """One line of `topics list`."""

    name: str
    partitions: int
    replication: int
    messages: int
    role: str
    internal: bool = False


PartitionState = Literal["ok", "isr-shrunk", "offline"]


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

    @property
    def state(self) -> PartitionState:
        """offline (no leader), isr-shrunk (a replica out of sync), or ok."""
        if self.leader < 0:
            return "offline"
        return "isr-shrunk" if len(self.isr) < len(self.replicas) else "ok"


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
            row["state"] = part.state
        return out


def list_topics(admin: TopicAdmin, settings: Settings, include_internal: bool) -> list[TopicRow]:
    """Every topic with its partitions, replication, retained messages and pipeline role."""
    metas = [m for m in admin.describe_topics(admin.topic_names()) if m.exists]
    if not include_internal:
        metas = [m for m in metas if not m.internal]
    tps = [TopicPartition(m.name, p.partition) for m in metas for p in m.partitions]
    highs = admin.list_offsets(tps, latest=True) if tps else {}
    lows = admin.list_offsets(tps, latest=False) if tps else {}
    rows: list[TopicRow] = []
    for meta in sorted(metas, key=lambda m: m.name):
        parts = meta.partitions
        messages = sum(
            highs[TopicPartition(meta.name, p.partition)]
            - lows[TopicPartition(meta.name, p.partition)]
            for p in parts
        )
        rows.append(
            TopicRow(
                meta.name,
                len(parts),
                max((len(p.replicas) for p in parts), default=0),
                messages,
                role_of(settings, meta.name).label,
                meta.internal,
            )
        )
    return rows


def describe_topic(admin: TopicAdmin, settings: Settings, name: str) -> TopicDetail:
    """One topic in full; a missing topic is a usage error naming `topics list`."""
    metas = admin.describe_topics([name])
    meta = metas[0] if metas else None
    if meta is None or not meta.exists:
        raise UsageError(f"topic {name!r} does not exist (see: kafkactl topics list)")
    parts = meta.partitions
    tps = [TopicPartition(name, p.partition) for p in parts]
    highs = admin.list_offsets(tps, latest=True) if tps else {}
    lows = admin.list_offsets(tps, latest=False) if tps else {}
    detail = TopicDetail(name, role_of(settings, name).label)
    for p, tp in zip(parts, tps, strict=True):
        detail.partitions.append(
            PartitionRow(
                p.partition,
                p.leader,
                list(p.replicas),
                list(p.isr),
                lows[tp],
                highs[tp],
            )
        )
    detail.configs = dict(sorted(admin.topic_configs(name).items()))
    return detail


def pipeline_configs(admin: ConfigAdmin, names: list[str]) -> Configs:
    """Delete policy, retention and size limit of each existing topic in `names`; {} when the
    broker will not say (an older broker, or no DescribeConfigs permission)."""
    if not names:
        return {}
    try:
        return admin.effective_configs(sorted(set(names)), PIPELINE_KEYS)
    except Exception:  # the checks are advice: without the configs there is nothing to compare
        return {}


def copy_configs(asked: dict[str, str], main: dict[str, TopicConfig]) -> dict[str, str]:
    """The configs of a new retry tier or DLQ of `main` (its effective configs, {} if unknown):
    `asked` (-c) without LIFECYCLE_KEYS, delete policy, the main topic's own retention (or the
    asked one when the main's configs are unknown), its max.message.bytes plus header room."""
    out = {k: v for k, v in asked.items() if k not in LIFECYCLE_KEYS}
    out[CLEANUP_POLICY] = "delete"
    for key in RETENTION_KEYS:
        found = main.get(key)
        if found is None and key in asked:
            out[key] = asked[key]
        elif found is not None and found.overridden and found.value is not None:
            out[key] = found.value
    limit = _value(main, MAX_MESSAGE_BYTES) or asked.get(MAX_MESSAGE_BYTES, "")
    base = int(limit) if limit.isdigit() else BROKER_DEFAULT_MAX_MESSAGE_BYTES
    out[MAX_MESSAGE_BYTES] = str(base + PIPELINE_HEADROOM_BYTES)
    return out


def pipeline_risks(admin: ConfigAdmin, plans: list[TopicPlan]) -> dict[str, list[str]]:
    """Per existing retry tier or DLQ in `plans`: each setting that can delete its records
    before its main topic's (compaction, a shorter retention), as one sentence."""
    copies = [p for p in plans if p.main is not None]
    found = pipeline_configs(admin, [p.name for p in copies] + [p.main for p in copies if p.main])
    risks: dict[str, list[str]] = {}
    for plan in copies:
        if plan.name in found and plan.main:
            said = copy_risks(found[plan.name], found.get(plan.main, {}), plan.main)
            if said:
                risks[plan.name] = said
    return risks


def copy_risks(copy: dict[str, TopicConfig], main: dict[str, TopicConfig], name: str) -> list[str]:
    """What in a tier's or DLQ's configs deletes records early, compared with main topic `name`."""
    risks = []
    policy = _value(copy, CLEANUP_POLICY) or ""
    if "compact" in policy:
        risks.append(
            f"has cleanup.policy={policy}: compaction deletes every earlier record of a key "
            "(and a tombstone all of them); set cleanup.policy=delete on it"
        )
    for key in RETENTION_KEYS:
        mine, theirs = _value(copy, key), _value(main, key)
        if _keeps_less(mine, theirs):
            risks.append(
                f"has {key}={mine}, shorter than {name}'s {theirs}: records are deleted "
                f"before the main topic's; set {key}={theirs} (or more) on it"
            )
    return risks


def _value(configs: dict[str, TopicConfig], key: str) -> str | None:
    found = configs.get(key)
    return found.value if found is not None else None


def _keeps_less(mine: str | None, theirs: str | None) -> bool:
    """Retention `mine` keeps less than `theirs` (a negative value: no limit)."""
    try:
        a, b = int(mine or ""), int(theirs or "")
    except ValueError:
        return False
    return a >= 0 and (b < 0 or a < b)
