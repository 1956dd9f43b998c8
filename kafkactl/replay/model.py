"""What a replay is asked to do (ReplayOptions), what it reports (ReplaySummary, PlanRow), and
the errors that blame an option: they name the option's field, and the command line words
them with its flags."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from kafkactl.errors import KafkactlError, OptionError
from kafkactl.names import shell_command
from kafkactl.replay.conventions import error_context_families
from kafkactl.replay.deadletter import DeadLetter
from kafkactl.replay.selection import (
    TO_ORIGINAL,
    TO_RETRY,
    Action,
    Decision,
    Filters,
    refusal,
)
from kafkactl.signals import SignalName

# Why a replay pass stopped: the end of the range, --limit, a copy or a commit that failed, the
# lease lost (see `lease`), or a signal.
ReplayStop = Literal[
    "end", "limit", "publish failed", "commit failed", "lease lost", "signal", SignalName
]

# What became of a selected dead letter in a plan row: the selection's decision, or
# `unrepaired` when the transform could not repair it.
RowAction = Action | Literal["unrepaired"]

# The distinct unrepaired reasons a summary counts separately (the rest as "other reasons").
MAX_REASONS = 50

if TYPE_CHECKING:
    from kafkactl.admin.queries import TopicInfo
    from kafkactl.replay.transform import Preview, Transform


@dataclass
class ReplayOptions:
    """What to replay, where to, and how (the `replay-dlq` flags)."""

    dlq: str
    to: str = TO_RETRY
    group: str | None = None
    replay_group: str | None = None
    filters: Filters = field(default_factory=Filters)
    partitions: tuple[int, ...] = ()
    limit: int | None = None
    max_replays: int = 3
    rate: float | None = None
    from_beginning: bool = False
    commit_interval: float = 1.0
    flush_timeout: float = 60.0
    max_rows: int = 10_000
    poll_timeout_ms: int = 200
    # Repairs each value on the way back (None: copies keep the value); the dry run shows
    # before -> after for the first `show` selected records.
    transform: Transform | None = None
    show: int = 5
    # Copies keep the frameworks' error-context headers (Connect, Spring, Karafka) too.
    keep_foreign_headers: bool = False


class DlqNotFound(KafkactlError):
    """The DLQ topic does not exist."""

    def __init__(self, dlq: str) -> None:
        self.dlq = dlq
        super().__init__(f"DLQ topic {dlq} does not exist")


def check_target(opts: ReplayOptions) -> None:
    """A target topic named in `to` must not be the DLQ itself, nor internal to Kafka."""
    if opts.to in (TO_RETRY, TO_ORIGINAL):
        return
    if opts.to == opts.dlq:
        raise OptionError("to", f"{opts.to} is the DLQ itself; pick another target")
    refused = refusal(opts.to, "target")
    if refused is not None:
        raise OptionError("to", refused.removeprefix("refused: target ") + "; pick another")


def chosen_partitions(
    opts: ReplayOptions, info: TopicInfo, exists: Callable[[str], bool]
) -> list[int]:
    """The DLQ partitions to read, once the DLQ, a named target and the partitions exist."""
    if not info.exists:
        raise DlqNotFound(opts.dlq)
    if opts.to not in (TO_RETRY, TO_ORIGINAL) and not exists(opts.to):
        raise KafkactlError(
            f"target topic {opts.to} does not exist; create it with: "
            + shell_command("kafkactl", "create-topics", opts.to, "--no-retry")
        )
    available = [p.partition for p in info.partitions]
    unknown = sorted(set(opts.partitions) - set(available))
    if unknown:
        raise OptionError(
            "partitions",
            f"{','.join(map(str, unknown))} does not exist: {opts.dlq} has "
            f"partitions 0-{max(available)}",
        )
    return sorted(set(opts.partitions)) if opts.partitions else sorted(available)


@dataclass
class PlanRow:
    """One dead letter as the dry run shows it."""

    partition: int
    offset: int
    key: str | None
    original_topic: str | None
    error: str
    action: RowAction  # replay | parked | failed | unrepaired
    target: str | None
    reason: str | None = None
    # framework headers that repeat in the dead letter (the last occurrence was read)
    repeated: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, dl: DeadLetter, decision: Decision) -> PlanRow:
        """The row of a dead letter and what was decided for it."""
        return cls(
            dl.partition,
            dl.offset,
            dl.key_text(),
            dl.original_topic,
            dl.error_text(),
            decision.action,
            decision.target,
            decision.reason,
            list(dl.repeated),
        )


@dataclass
class ReplaySummary:
    """Counts of a replay (or of a dry run: what it would do) and how it ended."""

    dlq: str
    replay_group: str
    to: str
    dry_run: bool
    scanned: int = 0
    matched: int = 0
    replayed: int = 0
    skipped: int = 0
    parked: int = 0
    failed: int = 0
    filtered: int = 0
    targets: dict[str, int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    committed: dict[str, int] = field(default_factory=dict)
    recovered: int = 0
    stopped_by: ReplayStop = "end"
    warnings: list[str] = field(default_factory=list)
    rows: list[PlanRow] = field(default_factory=list)
    rows_omitted: int = 0
    seconds: float = 0.0
    metrics: dict[str, Any] = field(default_factory=dict)
    total: int = 0  # records in the range to scan
    transform: str | None = None  # what repairs the values (None: no transform)
    unrepaired: int = 0
    unrepaired_reasons: dict[str, int] = field(default_factory=dict)
    unrepaired_records: list[dict[str, Any]] = field(default_factory=list)
    previews: list[Preview] = field(default_factory=list)
    # The frameworks' error-context headers of the copies: family -> copies (to be) sent with
    # it in the dead letter; left out of the copies unless `foreign_kept`.
    foreign_families: dict[str, int] = field(default_factory=dict)
    foreign_kept: bool = False
    # Framework header name -> matched dead letters in which it repeats (last one read).
    repeated_headers: dict[str, int] = field(default_factory=dict)
    repeated_records: int = 0  # matched dead letters with any framework header repeated
    # Header name -> matched dead letters in which its number was out of range (read as absent)
    ignored_numbers: dict[str, int] = field(default_factory=dict)

    @property
    def to_replay(self) -> int:
        """Records a run would send (dry run / plan) or sent (run)."""
        return sum(self.targets.values())

    @property
    def interrupted(self) -> bool:
        """Stopped by SIGINT or SIGTERM before the end."""
        return self.stopped_by.startswith("SIG")

    def add_row(
        self, dl: DeadLetter, decision: Decision, max_rows: int, unrepaired: str | None = None
    ) -> None:
        """A dry run lists each matching dead letter (up to `max_rows`; the rest are counted);
        `unrepaired`: why the transform could not repair it."""
        if not self.dry_run:
            return
        if len(self.rows) >= max_rows:
            self.rows_omitted += 1
            return
        row = PlanRow.of(dl, decision)
        if unrepaired is not None:
            row.action, row.reason = "unrepaired", unrepaired
        self.rows.append(row)

    def count_headers(self, dl: DeadLetter, replayed: bool) -> None:
        """Note a matched dead letter's repeated framework headers and, when it is (to be)
        replayed, the error-context families its copy leaves out (or keeps); numbers read as
        absent (out of range)."""
        for name in dl.repeated:
            self.repeated_headers[name] = self.repeated_headers.get(name, 0) + 1
        self.repeated_records += bool(dl.repeated)
        for name, _ in dl.ignored:
            self.ignored_numbers[name] = self.ignored_numbers.get(name, 0) + 1
        if replayed:
            for family in error_context_families(dl.headers):
                self.foreign_families[family] = self.foreign_families.get(family, 0) + 1

    def count_target(self, target: str) -> None:
        """One more record (to be) replayed to `target`."""
        self.targets[target] = self.targets.get(target, 0) + 1

    def count_failure(self, reason: str) -> None:
        """One more record that could not be replayed, for `reason` (the first MAX_REASONS
        distinct reasons apart, the rest together)."""
        self.failed += 1
        if reason not in self.failures and len(self.failures) >= MAX_REASONS:
            reason = "other reasons"
        self.failures[reason] = self.failures.get(reason, 0) + 1

    def count_unrepaired(self, dl: DeadLetter, reason: str, max_rows: int) -> None:
        """One more record the transform could not repair (it stays in the DLQ)."""
        self.unrepaired += 1
        if reason not in self.unrepaired_reasons and len(self.unrepaired_reasons) >= MAX_REASONS:
            reason = "other reasons"
        self.unrepaired_reasons[reason] = self.unrepaired_reasons.get(reason, 0) + 1
        if len(self.unrepaired_records) < max_rows:
            self.unrepaired_records.append(
                {"partition": dl.partition, "offset": dl.offset, "reason": reason}
            )

    def as_dict(self, rows: bool = True) -> dict[str, Any]:
        """JSON-ready form."""
        out: dict[str, Any] = {
            "dlq": self.dlq,
            "replay_group": self.replay_group,
            "to": self.to,
            "dry_run": self.dry_run,
            "scanned": self.scanned,
            "matched": self.matched,
            "replayed": self.replayed,
            "skipped": self.skipped,
            "parked": self.parked,
            "failed": self.failed,
            "filtered": self.filtered,
            "recovered": self.recovered,
            "targets": dict(self.targets),
            "failures": dict(self.failures),
            "committed": dict(self.committed),
            "stopped_by": self.stopped_by,
            "warnings": list(self.warnings),
            "seconds": round(self.seconds, 3),
        }
        if self.transform is not None:
            out["transform"] = self.transform
            out["unrepaired"] = self.unrepaired
            out["unrepaired_reasons"] = dict(self.unrepaired_reasons)
            out["unrepaired_records"] = list(self.unrepaired_records)
            if self.dry_run:
                out["previews"] = [p.as_dict() for p in self.previews]
        if self.foreign_families or self.repeated_headers:
            out["foreign_headers"] = {
                "kept": self.foreign_kept,
                "families": dict(self.foreign_families),
                "repeated": dict(self.repeated_headers),
                "repeated_records": self.repeated_records,
            }
        if self.ignored_numbers:
            out["ignored_numbers"] = dict(self.ignored_numbers)
        if self.metrics:
            out["metrics"] = self.metrics
        if rows and self.dry_run:
            out["records"] = [r.__dict__ for r in self.rows]
            out["records_omitted"] = self.rows_omitted
        return out
