"""`dlq purge`: delete from a DLQ exactly the dead letters `replay-dlq` has already copied.

What was copied comes from the replay group's committed progress (`progress`): its committed
offset is the lowest DLQ offset not *done*, and a record is done once its copy was acknowledged
(acks=all) or it was parked. A filtered-out, failed or unrepaired record is not done, so the
committed offset never passes one: everything below it was copied, except parked records
(replayed `--max-replays` times already, or with a malformed kafkactl header: never copied,
left for a person). Kafka deletes only a prefix of a partition (DeleteRecords up to an offset),
so per partition the purge deletes up to the committed offset or the first parked record below
it, whichever comes first; finding parked records reads the partition from its low watermark to
the committed offset and applies the replay's own parking rule (`selection.decide`).

What stays, and why, is said per partition: records never replayed, the first parked one, and
copied records above the first one left (remembered in the commit metadata, deletable once the
records before them are replayed too). Copies an interrupted run sent but never committed are
above the committed offset and stay; running the replay again accounts for them (`recovery`).
Refused while a replay of the DLQ runs (its lease group has a member).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from kafkactl import kafka
from kafkactl.admin.topic_changes import existing_partitions, refuse_internal
from kafkactl.config import Settings
from kafkactl.errors import KafkactlError, OptionError
from kafkactl.kafka.admin_port import AdminPort
from kafkactl.kafka.ports import ConsumerPort, Record, TopicPartition
from kafkactl.replay.checkpoint import decode_progress
from kafkactl.replay.deadletter import read_dead_letter
from kafkactl.replay.selection import TO_ORIGINAL, Filters, decide
from kafkactl.topology import replay_lease_group


class ReplayInProgress(KafkactlError):
    """A replay of the DLQ holds its lease: purging now could race its commits (exit 1)."""


@dataclass
class PurgeRow:
    """One DLQ partition: what is there, what the replay copied, what the purge deletes."""

    partition: int
    low: int
    high: int
    committed: int | None
    delete_to: int
    kept_because: str
    replayed_above: int = 0  # copied records above the first one left (not deletable yet)
    status: str = "planned"

    @property
    def deleted(self) -> int:
        """Records the purge removes (the replayed prefix)."""
        return self.delete_to - self.low


@dataclass
class PurgePlan:
    """`dlq purge`: one row per DLQ partition."""

    dlq: str
    replay_group: str
    rows: list[PurgeRow] = field(default_factory=list)
    interrupted_replay: bool = False  # a fence: copies may exist that were never committed
    executed: bool = False

    @property
    def deleted(self) -> int:
        """Records removed over all partitions."""
        return sum(r.deleted for r in self.rows)

    @property
    def kept(self) -> int:
        """Records that stay in the DLQ."""
        return sum(r.high - r.delete_to for r in self.rows)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out = asdict(self)
        for row, part in zip(out["rows"], self.rows, strict=True):
            row["deleted"] = part.deleted
        out["deleted"] = self.deleted
        out["kept"] = self.kept
        return out


def plan_purge(
    settings: Settings,
    admin: AdminPort,
    dlq: str,
    group: str,
    max_replays: int,
    partitions: list[int] | None = None,
    connect_consumer: Callable[..., ConsumerPort] | None = None,
) -> PurgePlan:
    """Per partition: the replayed prefix that can be deleted and why the rest stays."""
    refuse_internal([dlq], "purge")
    known = existing_partitions(admin, [dlq])[dlq]
    chosen = known if not partitions else sorted(set(partitions))
    unknown = [p for p in chosen if p not in known]
    if unknown:
        raise OptionError(
            "partitions", f"{unknown[0]}: topic {dlq} has partitions 0..{len(known) - 1}"
        )
    refuse_while_replaying(admin, dlq, group)
    tps = [TopicPartition(dlq, p) for p in chosen]
    lows = admin.list_offsets(tps, latest=False)
    highs = admin.list_offsets(tps, latest=True)
    committed = admin.committed(group, tps)
    plan = PurgePlan(dlq, group)
    # The committed offset can be below the low watermark (records deleted by retention).
    tops = {
        tp: min(max(c.offset, lows[tp]), highs[tp]) for tp, c in committed.items() if c is not None
    }
    parked = first_parked(
        settings, {tp: lows[tp] for tp in tops}, tops, dlq, max_replays, connect_consumer
    )
    for tp in tps:
        low, high, mark = lows[tp], highs[tp], committed.get(tp)
        if mark is None:
            why = "" if low == high else "not replayed: the replay group has no progress here"
            plan.rows.append(PurgeRow(tp.partition, low, high, None, low, why, 0, "unchanged"))
            continue
        memo, fence = decode_progress(mark.offset, mark.metadata)
        plan.interrupted_replay |= fence is not None
        top = tops[tp]
        stop = parked.get(tp)
        delete_to = min(top, stop[0]) if stop else top
        row = PurgeRow(tp.partition, low, high, mark.offset, delete_to, "")
        row.replayed_above = sum(
            min(e, high - 1) - max(s, top) + 1
            for s, e in memo.ranges()
            if min(e, high - 1) >= max(s, top)
        )
        if stop is not None:
            row.kept_because = f"offset {stop[0]} was parked ({stop[1]}), never copied"
        elif top < high:
            row.kept_because = (
                f"offset {top} not replayed yet (filtered out, failed or not reached)"
            )
        if row.kept_because and row.replayed_above:
            row.kept_because += (
                f"; {row.replayed_above} copied record(s) above it stay (Kafka deletes only "
                "a prefix of a partition)"
            )
        if delete_to == low:
            row.status = "unchanged"
        plan.rows.append(row)
    return plan


def refuse_while_replaying(admin: AdminPort, dlq: str, group: str) -> None:
    """One line (exit 1) while a replay of `dlq` with `group` holds its lease."""
    lease = replay_lease_group(group)
    state = admin.describe_group(lease)
    if state.members:
        holder = state.members[0]
        raise ReplayInProgress(
            f"a replay of {dlq} is running ({holder.client_id or holder.member_id}@"
            f"{holder.host} holds lease group {lease}); purge after it ends"
        )


def first_parked(
    settings: Settings,
    starts: dict[TopicPartition, int],
    ends: dict[TopicPartition, int],
    dlq: str,
    max_replays: int,
    connect_consumer: Callable[..., ConsumerPort] | None = None,
) -> dict[TopicPartition, tuple[int, str]]:
    """Per partition the first record in [start, end) the replay parks (offset, reason)."""
    from kafkactl.dlq.scan import scan

    found: dict[TopicPartition, tuple[int, str]] = {}
    if not any(starts[tp] < ends[tp] for tp in starts):
        return found

    def look(records: list[Record]) -> None:
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            if tp in found and found[tp][0] <= record.offset:
                continue
            decision = decide(
                read_dead_letter(record),
                filters=Filters(),
                to=TO_ORIGINAL,
                settings=settings,
                dlq=dlq,
                fallback_group=None,
                max_replays=max_replays,
            )
            if decision.action == "parked":
                found[tp] = (record.offset, decision.reason or "parked")

    # read_committed, as the replay reads: records of aborted transactions are not there.
    consumer = (connect_consumer or kafka.connect_consumer)(settings, None, read_committed=True)
    try:
        scan(consumer, starts, ends, look)
    finally:
        consumer.close()
    return found


def execute_purge(admin: AdminPort, plan: PurgePlan) -> PurgePlan:
    """Delete each partition's replayed prefix (DeleteRecords); rows get the new low mark."""
    wanted = {
        TopicPartition(plan.dlq, r.partition): r.delete_to for r in plan.rows if r.delete_to > r.low
    }
    refuse_while_replaying(admin, plan.dlq, plan.replay_group)
    lows = admin.delete_records(wanted) if wanted else {}
    for row in plan.rows:
        tp = TopicPartition(plan.dlq, row.partition)
        if tp in wanted:
            row.status = "done"
            row.delete_to = max(row.delete_to, lows.get(tp, row.delete_to))
    plan.executed = True
    return plan
