"""Changing topics: delete, alter configs, add partitions, delete records (admin port, plain data).

Each change is planned first (what is there now, what it will be) and applied only when asked;
topics internal to Kafka (`__consumer_offsets`, any `__` name) are refused before anything.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

from kafkactl.config import Settings
from kafkactl.errors import OptionError, UsageError
from kafkactl.kafka.admin_port import (
    TOPIC_CONFIG_SOURCES,
    AdminError,
    ConfigEntry,
    ConfigKind,
    TopicInfo,
)
from kafkactl.kafka.ports import TopicPartition
from kafkactl.topology import role_of

Status = Literal["planned", "unchanged", "done", "failed"]


class TopicChangeAdmin(Protocol):
    """What the topic changes need from the admin port."""

    def describe_topics(self, names: list[str]) -> list[TopicInfo]: ...
    def list_offsets(
        self, partitions: list[TopicPartition], latest: bool
    ) -> dict[TopicPartition, int]: ...
    def offsets_for_time(
        self, partitions: list[TopicPartition], ms: int
    ) -> dict[TopicPartition, int]: ...
    def delete_topics(self, names: list[str]) -> dict[str, str | None]: ...
    def config_entries(self, kind: ConfigKind, name: str) -> dict[str, ConfigEntry]: ...
    def alter_topic_configs(
        self, topic: str, set_values: dict[str, str], delete: list[str]
    ) -> str | None: ...
    def create_partitions(self, topic: str, count: int) -> str | None: ...
    def delete_records(self, before: dict[TopicPartition, int]) -> dict[TopicPartition, int]: ...


def refuse_internal(names: list[str], doing: str) -> None:
    """A topic internal to Kafka (`__…`) is never changed by kafkactl: one usage line."""
    for name in names:
        if name.startswith("__"):
            raise UsageError(
                f"refusing to {doing} {name}: topics starting with __ belong to Kafka itself"
            )


def partitions_of(admin: TopicChangeAdmin, topic: str) -> list[int]:
    """The topic's partition numbers; a missing topic is a usage error."""
    return existing_partitions(admin, [topic])[topic]


def existing_partitions(admin: TopicChangeAdmin, names: list[str]) -> dict[str, list[int]]:
    """Partition numbers per topic; the first missing topic is a usage error."""
    found = {t.name: t for t in admin.describe_topics(list(dict.fromkeys(names)))}
    out: dict[str, list[int]] = {}
    for name in names:
        info = found.get(name)
        if info is None or not info.exists:
            raise UsageError(f"topic {name!r} does not exist (see: kafkactl topics list)")
        out[name] = sorted(p.partition for p in info.partitions)
    return out


# --- topics delete ------------------------------------------------------------------------------


@dataclass
class DeleteRow:
    """One topic to delete: its size now, then what happened."""

    name: str
    role: str
    partitions: int
    messages: int
    status: Status = "planned"
    error: str | None = None


def plan_topic_delete(
    admin: TopicChangeAdmin, settings: Settings, names: list[str]
) -> list[DeleteRow]:
    """The topics to delete with their partitions and retained messages (all must exist)."""
    refuse_internal(names, "delete")
    parts = existing_partitions(admin, names)
    tps = [TopicPartition(n, p) for n in parts for p in parts[n]]
    highs = admin.list_offsets(tps, latest=True) if tps else {}
    lows = admin.list_offsets(tps, latest=False) if tps else {}
    return [
        DeleteRow(
            name,
            role_of(settings, name).label,
            len(parts[name]),
            sum(highs[tp] - lows[tp] for tp in tps if tp.topic == name),
        )
        for name in dict.fromkeys(names)
    ]


def delete_topics(admin: TopicChangeAdmin, rows: list[DeleteRow]) -> list[DeleteRow]:
    """Delete the planned topics; each row says done or failed (with the broker's reason)."""
    answers = admin.delete_topics([r.name for r in rows])
    for row in rows:
        error = answers.get(row.name)
        row.status, row.error = ("failed", error) if error else ("done", None)
    return rows


# --- topics alter-config ------------------------------------------------------------------------


@dataclass
class ConfigChange:
    """One config of an alter-config: its value and source now, and the value after."""

    key: str
    old: str | None
    old_source: str
    new: str | None  # None: back to the default
    sensitive: bool = False

    @property
    def action(self) -> str:
        """set or delete (back to the default)."""
        return "delete" if self.new is None else "set"

    @property
    def changes(self) -> bool:
        """False when the topic already has it so (set to this value on the topic; or a
        delete of a value the topic does not set)."""
        own = self.old_source in TOPIC_CONFIG_SOURCES
        return (self.new != self.old or not own) if self.new is not None else own


@dataclass
class ConfigPlan:
    """`topics alter-config`: every change of one topic, applied or not."""

    topic: str
    changes: list[ConfigChange]
    status: Status = "planned"
    error: str | None = None
    executed: bool = False

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (sensitive values masked)."""
        out = asdict(self)
        for row, change in zip(out["changes"], self.changes, strict=True):
            row["action"] = change.action
            if change.sensitive:
                row["old"] = row["new"] = "*****"
        return out


def plan_config_change(
    admin: TopicChangeAdmin, topic: str, set_values: dict[str, str], delete: list[str]
) -> ConfigPlan:
    """old → new of each named config; an unknown key or one both set and deleted is a usage
    error (the broker would refuse the whole change)."""
    refuse_internal([topic], "change the configs of")
    if not set_values and not delete:
        raise UsageError("nothing to change: give --set KEY=VALUE and/or --delete KEY")
    both = sorted(set(set_values) & set(delete))
    if both:
        raise UsageError(f"config {both[0]} is both in --set and --delete; choose one")
    partitions_of(admin, topic)
    entries = admin.config_entries("topic", topic)
    changes = []
    for key in [*set_values, *delete]:
        entry = entries.get(key)
        if entry is None:
            raise UsageError(
                f"{key} is not a config of topic {topic} (see: kafkactl topics describe "
                f"{topic}; Kafka's topic configs are listed at kafka.apache.org)"
            )
        changes.append(
            ConfigChange(key, entry.value, entry.source, set_values.get(key), entry.sensitive)
        )
    plan = ConfigPlan(topic, changes)
    if not any(c.changes for c in changes):
        plan.status = "unchanged"
    return plan


def apply_config_change(admin: TopicChangeAdmin, plan: ConfigPlan) -> ConfigPlan:
    """Apply the plan with one incremental request (configs not named stay as they are)."""
    plan.executed = True
    if plan.status == "unchanged":
        return plan
    set_values = {c.key: c.new for c in plan.changes if c.new is not None}
    delete = [c.key for c in plan.changes if c.new is None]
    error = admin.alter_topic_configs(plan.topic, set_values, delete)
    plan.status, plan.error = ("failed", error) if error else ("done", None)
    return plan


# --- topics add-partitions ----------------------------------------------------------------------


@dataclass
class PartitionPlan:
    """`topics add-partitions`: the count now and after."""

    topic: str
    current: int
    count: int
    status: Status = "planned"
    error: str | None = None
    executed: bool = False

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def plan_add_partitions(admin: TopicChangeAdmin, topic: str, count: int) -> PartitionPlan:
    """The topic's partition count now and `count`; shrinking or the same count is refused
    (Kafka cannot remove partitions)."""
    refuse_internal([topic], "add partitions to")
    current = len(partitions_of(admin, topic))
    if count <= current:
        raise UsageError(
            f"--count {count}: topic {topic} has {current} partitions and Kafka can only add "
            f"partitions; give a count above {current}"
        )
    return PartitionPlan(topic, current, count)


def add_partitions(admin: TopicChangeAdmin, plan: PartitionPlan) -> PartitionPlan:
    """Grow the topic as planned."""
    error = admin.create_partitions(plan.topic, plan.count)
    plan.status, plan.error = ("failed", error) if error else ("done", None)
    plan.executed = True
    return plan


# --- topics delete-records ----------------------------------------------------------------------


@dataclass
class RecordsRow:
    """One partition of a delete-records plan: its low watermark now and after."""

    partition: int
    low: int
    high: int
    new_low: int
    status: Status = "planned"

    @property
    def removed(self) -> int:
        """Records the deletion removes."""
        return self.new_low - self.low


@dataclass
class RecordsPlan:
    """`topics delete-records`: per partition low → new low, and what was removed."""

    topic: str
    rows: list[RecordsRow] = field(default_factory=list)
    executed: bool = False

    @property
    def removed(self) -> int:
        """Records removed over all partitions."""
        return sum(r.removed for r in self.rows)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out = asdict(self)
        for row, part in zip(out["rows"], self.rows, strict=True):
            row["removed"] = part.removed
        out["removed"] = self.removed
        return out


def plan_delete_records(
    admin: TopicChangeAdmin, topic: str, kind: str, value: int, partitions: list[int] | None
) -> RecordsPlan:
    """Where each partition's low watermark moves: to offset `value` (`kind` offset), to the
    first record at or after time `value` (time), or to the end (end); clamped to the range."""
    refuse_internal([topic], "delete records of")
    known = partitions_of(admin, topic)
    chosen = known if not partitions else sorted(set(partitions))
    unknown = [p for p in chosen if p not in known]
    if unknown:
        raise OptionError(
            "partitions", f"{unknown[0]}: topic {topic} has partitions 0..{len(known) - 1}"
        )
    tps = [TopicPartition(topic, p) for p in chosen]
    lows = admin.list_offsets(tps, latest=False)
    highs = admin.list_offsets(tps, latest=True)
    at_time = admin.offsets_for_time(tps, value) if kind == "time" else {}
    plan = RecordsPlan(topic)
    for tp in tps:
        low, high = lows[tp], highs[tp]
        wanted = {"offset": value, "time": at_time.get(tp, high), "end": high}[kind]
        new_low = min(max(wanted, low), high)
        status: Status = "planned" if new_low > low else "unchanged"
        plan.rows.append(RecordsRow(tp.partition, low, high, new_low, status))
    return plan


def delete_records(admin: TopicChangeAdmin, plan: RecordsPlan) -> RecordsPlan:
    """Delete the planned records (DeleteRecords); the rows get the broker's new low mark."""
    wanted = {
        TopicPartition(plan.topic, r.partition): r.new_low
        for r in plan.rows
        if r.status == "planned"
    }
    plan.executed = True
    if not wanted:
        return plan
    try:
        lows = admin.delete_records(wanted)
    except AdminError:
        for row in plan.rows:
            row.status = "failed" if row.status == "planned" else row.status
        raise
    for row in plan.rows:
        if row.status == "planned":
            row.new_low = lows.get(TopicPartition(plan.topic, row.partition), row.new_low)
            row.status = "done"
    return plan
