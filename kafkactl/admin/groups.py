"""Consumer groups as an operator sees them: list, describe with lag, and offset resets."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from kafkactl.admin import health
from kafkactl.config import Settings
from kafkactl.errors import KafkactlError, OptionError, UsageError
from kafkactl.kafka.admin_port import Committed, GroupListing, GroupState, TopicInfo
from kafkactl.kafka.ports import TopicPartition
from kafkactl.topology import pipeline_of, role_of

if TYPE_CHECKING:
    from kafkactl.dlq.scan import TopError

# Group states in which the broker accepts offset changes from outside the group.
INACTIVE_STATES = ("Empty", "Dead")


class GroupAdmin(Protocol):
    """What the group operations need from the admin port."""

    def list_groups(self) -> list[GroupListing]: ...
    def describe_group(self, group: str) -> GroupState: ...
    def group_offsets(self, group: str) -> dict[TopicPartition, Committed]: ...
    def list_offsets(
        self, partitions: list[TopicPartition], latest: bool
    ) -> dict[TopicPartition, int]: ...
    def offsets_for_time(
        self, partitions: list[TopicPartition], ms: int
    ) -> dict[TopicPartition, int]: ...
    def describe_topics(self, names: list[str]) -> list[TopicInfo]: ...
    def alter_group_offsets(
        self, group: str, offsets: dict[TopicPartition, int]
    ) -> dict[TopicPartition, str | None]: ...


@dataclass
class GroupRow:
    """One line of `groups list`."""

    group: str
    state: str
    members: int
    topics: list[str]
    lag: int


@dataclass
class PartitionLag(health.PartitionLag):
    """A group's position on one partition, and the member that holds it."""

    member: str | None = None


@dataclass
class PipelineDepth:
    """A kafkactl pipeline topic of the group (retry tier or DLQ) and what waits in it."""

    topic: str
    role: str
    exists: bool
    depth: int | None
    # DLQ only: the most frequent error class among its last records (None: empty/not looked)
    top_error: TopError | None = None


@dataclass
class GroupDetail:
    """`groups describe`: state, members, per-partition lag, and the pipeline's tiers and DLQ."""

    group: str
    state: str
    members: list[dict[str, Any]] = field(default_factory=list)
    partitions: list[PartitionLag] = field(default_factory=list)
    pipeline: list[PipelineDepth] = field(default_factory=list)

    @property
    def exists(self) -> bool:
        """False when the cluster knows nothing of the group (no members, no offsets)."""
        return bool(self.members or self.partitions) or self.state not in ("Dead", "")

    @property
    def total_lag(self) -> int:
        """Sum of the partitions' lag."""
        return sum(p.lag for p in self.partitions)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {**asdict(self), "total_lag": self.total_lag}


def list_groups(admin: GroupAdmin) -> list[GroupRow]:
    """Every consumer group with its state, member count, topics and total lag."""
    rows: list[GroupRow] = []
    for listing in admin.list_groups():
        state = admin.describe_group(listing.group)
        offsets = admin.group_offsets(listing.group)
        ends = admin.list_offsets(list(offsets), latest=True) if offsets else {}
        lag = sum(max(0, ends.get(tp, c.offset) - c.offset) for tp, c in offsets.items())
        rows.append(
            GroupRow(
                listing.group,
                state.state or listing.state,
                len(state.members),
                sorted({tp.topic for tp in offsets}),
                lag,
            )
        )
    return rows


def describe_group(
    admin: GroupAdmin,
    settings: Settings,
    group: str,
    top_error: health.TopErrorOf | None = None,
) -> GroupDetail:
    """The group's members, its lag per partition, and its kafkactl tiers and DLQ depth
    (with the DLQ's top error class when `top_error` is given)."""
    state = admin.describe_group(group)
    offsets = admin.group_offsets(group)
    owner = {tp: m.client_id or m.member_id for m in state.members for tp in m.assignment}
    partitions = sorted(set(offsets) | set(owner))
    ends = admin.list_offsets(partitions, latest=True) if partitions else {}
    detail = GroupDetail(group, state.state)
    detail.members = [
        {
            "member_id": m.member_id,
            "client_id": m.client_id,
            "host": m.host,
            "assignment": [f"{tp.topic}:{tp.partition}" for tp in m.assignment],
        }
        for m in state.members
    ]
    for tp in partitions:
        committed = offsets.get(tp)
        end = ends.get(tp, 0)
        lag = max(0, end - committed.offset) if committed else end
        detail.partitions.append(
            PartitionLag(
                tp.topic,
                tp.partition,
                committed.offset if committed else None,
                end,
                lag,
                owner.get(tp),
            )
        )
    mains = sorted({tp.topic for tp in partitions if role_of(settings, tp.topic).kind == "main"})
    detail.pipeline = _pipeline_depths(admin, settings, group, mains, offsets)
    if top_error is not None:
        for depth in detail.pipeline:
            if depth.role == "dlq" and depth.depth:
                depth.top_error = top_error(depth.topic)
    return detail


def _pipeline_depths(
    admin: GroupAdmin,
    settings: Settings,
    group: str,
    mains: list[str],
    offsets: dict[TopicPartition, Committed],
) -> list[PipelineDepth]:
    """Depth of each tier (records the group has not consumed) and of each DLQ (all records)."""
    named = [(role, name) for main in mains for role, name in pipeline_of(settings, main, group)]
    if not named:
        return []
    described = {t.name: t for t in admin.describe_topics([name for _, name in named])}
    out: list[PipelineDepth] = []
    for role, name in named:
        info = described.get(name)
        if info is None or not info.exists:
            out.append(PipelineDepth(name, role.label, False, None))
            continue
        tps = [TopicPartition(name, p.partition) for p in info.partitions]
        ends = admin.list_offsets(tps, latest=True)
        if role.kind == "dlq":
            starts = admin.list_offsets(tps, latest=False)
        else:
            starts = {tp: offsets[tp].offset if tp in offsets else 0 for tp in tps}
        depth = sum(max(0, ends[tp] - starts.get(tp, 0)) for tp in tps)
        out.append(PipelineDepth(name, role.label, True, depth))
    return out


ResetKind = Literal["beginning", "end", "offset", "time", "shift"]


@dataclass(frozen=True)
class ResetTarget:
    """Where a reset moves each partition: earliest, latest, an offset, a time, or a shift."""

    kind: ResetKind
    value: int = 0


def reset_target(to: str | None, shift_by: int | None) -> ResetTarget:
    """The target from `--to` or `--shift-by` (exactly one of them)."""
    from kafkactl.positions import parse_position

    if (to is None) == (shift_by is None):
        raise UsageError("give exactly one of --to and --shift-by")
    if shift_by is not None:
        if abs(shift_by) > 2**63 - 1:
            raise UsageError(f"--shift-by: {shift_by} is out of Kafka's offset range")
        return ResetTarget("shift", shift_by)
    assert to is not None
    position = parse_position("--to", to, ("beginning", "end", "offset", "time"))
    kind: ResetKind = position.kind  # type: ignore[assignment]
    return ResetTarget(kind, position.value)


@dataclass
class ResetRow:
    """One partition of a reset plan: where the group is, and where it will be."""

    topic: str
    partition: int
    current: int | None
    new: int
    low: int
    high: int
    status: Literal["planned", "unchanged", "done", "failed"] = "planned"
    error: str | None = None


@dataclass
class ResetPlan:
    """A whole reset: the group, its state, and one row per partition."""

    group: str
    state: str
    rows: list[ResetRow]
    executed: bool = False

    @property
    def failed(self) -> bool:
        """True when a partition could not be moved."""
        return any(r.status == "failed" for r in self.rows)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


class GroupActiveError(KafkactlError):
    """The group has members: the broker would refuse, and they would overwrite the change."""


def require_inactive(admin: GroupAdmin, group: str, why: str) -> GroupState:
    """The group's state; one line naming its members (exit 1) while it has any."""
    state = admin.describe_group(group)
    if state.members or state.state not in INACTIVE_STATES:
        shown = [f"{m.client_id or m.member_id}@{m.host}" for m in state.members[:3]]
        more = len(state.members) - len(shown)
        names = ", ".join(shown) + (f" and {more} more" if more > 0 else "")
        raise GroupActiveError(
            f"group {group} is {state.state} with {len(state.members)} member(s)"
            + (f" ({names})" if names else "")
            + f"; stop its consumers first ({why})"
        )
    return state


def plan_reset(
    admin: GroupAdmin,
    group: str,
    topic: str | None,
    partitions: list[int] | None,
    target: ResetTarget,
) -> ResetPlan:
    """Compute current → new per partition, each clamped to the partition's retained range.

    `topic` None: every topic the group has committed offsets on (`--all-topics`)."""
    offsets = admin.group_offsets(group)
    if topic is None:
        if partitions:
            raise UsageError("--partition needs --topic (not --all-topics)")
        topics = sorted({tp.topic for tp in offsets})
        if not topics:
            raise KafkactlError(
                f"group {group} has no committed offsets to reset (see: kafkactl groups list)"
            )
    else:
        topics = [topic]
    described = {t.name: t for t in admin.describe_topics(topics)}
    tps: list[TopicPartition] = []
    for name in topics:
        info = described.get(name)
        if info is None or not info.exists:
            if topic is None:
                continue  # a deleted topic's offsets: nothing there to move
            raise UsageError(f"topic {name!r} does not exist")
        known = sorted(p.partition for p in info.partitions)
        chosen = known if not partitions else sorted(set(partitions))
        unknown = [p for p in chosen if p not in known]
        if unknown:
            raise OptionError(
                "partitions", f"{unknown[0]}: topic {name} has partitions 0..{len(known) - 1}"
            )
        tps += [TopicPartition(name, p) for p in chosen]
    lows = admin.list_offsets(tps, latest=False) if tps else {}
    highs = admin.list_offsets(tps, latest=True) if tps else {}
    at_time = admin.offsets_for_time(tps, target.value) if target.kind == "time" and tps else {}
    rows: list[ResetRow] = []
    for tp in tps:
        low, high = lows[tp], highs[tp]
        current = offsets[tp].offset if tp in offsets else None
        wanted = {
            "beginning": low,
            "end": high,
            "offset": target.value,
            "time": at_time.get(tp, high),
            "shift": (current if current is not None else low) + target.value,
        }[target.kind]
        new = min(max(wanted, low), high)
        rows.append(
            ResetRow(
                tp.topic,
                tp.partition,
                current,
                new,
                low,
                high,
                "unchanged" if new == current else "planned",
            )
        )
    state = admin.describe_group(group)
    return ResetPlan(group, state.state, rows)


def execute_reset(admin: GroupAdmin, plan: ResetPlan) -> ResetPlan:
    """Commit the plan's offsets for the group; refuse while the group has active members."""
    require_inactive(admin, plan.group, "a member would overwrite the reset with its own commits")
    changes = {
        TopicPartition(r.topic, r.partition): r.new for r in plan.rows if r.status == "planned"
    }
    answers = admin.alter_group_offsets(plan.group, changes) if changes else {}
    for row in plan.rows:
        if row.status != "planned":
            continue
        error = answers.get(TopicPartition(row.topic, row.partition))
        row.status, row.error = ("failed", error) if error else ("done", None)
    plan.executed = True
    return plan


def reset_offsets(
    admin: GroupAdmin,
    group: str,
    topic: str | None,
    partitions: list[int] | None,
    target: ResetTarget,
    execute: bool,
) -> ResetPlan:
    """The reset plan (`topic` None: all the group's topics); applied too when `execute`
    (refused while the group has members)."""
    plan = plan_reset(admin, group, topic, partitions, target)
    return execute_reset(admin, plan) if execute else plan
