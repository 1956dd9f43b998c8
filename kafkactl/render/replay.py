"""`kafkactl replay-dlq`: the dry-run table, the confirmation, the progress bar, the summary."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.table import Table

from kafkactl.render import err, show, table
from kafkactl.render.progress import ProgressDisplay

if TYPE_CHECKING:
    from kafkactl.replay.model import ReplaySummary

# The dry-run table shows this many records at most (all of them go to --json).
TABLE_ROWS = 500
ERROR_WIDTH = 80


def _cut(text: str | None, width: int = ERROR_WIDTH) -> str:
    if not text:
        return "-"
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def plan_table(summary: ReplaySummary, max_rows: int = TABLE_ROWS) -> None:
    """What a replay would do, one row per matching dead letter (stderr)."""
    rows = []
    for row in summary.rows[:max_rows]:
        if row.action == "replay":
            target = escape(row.target or "-")
        elif row.action == "parked":
            target = f"[yellow]parked[/] ({escape(row.reason or '')})"
        elif row.action == "unrepaired":
            target = f"[red]unrepaired:[/] {escape(_cut(row.reason, 60))}"
        else:
            target = f"[red]failed:[/] {escape(row.reason or '')}"
        rows.append(
            (
                row.partition,
                row.offset,
                escape(_cut(row.key, 40)),
                escape(row.original_topic or "-"),
                escape(_cut(row.error)),
                target,
            )
        )
    title = f"Dry run: dead letters in {summary.dlq} that would be replayed"
    show(
        table(
            title,
            ("partition", "offset", "key", "original topic", "error", "target"),
            rows,
            numeric=("partition", "offset"),
        )
    )
    hidden = len(summary.rows) - len(rows) + summary.rows_omitted
    if hidden > 0:
        show(f"... and {hidden:,} more (narrow it with filters or --limit; --json lists them)")


def previews_table(summary: ReplaySummary) -> None:
    """Before -> after of the first records the dry run transformed (stderr)."""
    if not summary.previews:
        return
    rows = []
    for p in summary.previews:
        if p.reason is not None:
            change = f"[red]unrepaired:[/] {escape(_cut(p.reason))}"
        else:
            change = "\n".join(escape(line) for line in p.changes)
        rows.append((p.partition, p.offset, escape(_cut(p.key, 40)), change))
    show(
        table(
            f"Transform ({escape(summary.transform or '')}): before → after",
            ("partition", "offset", "key", "value"),
            rows,
            numeric=("partition", "offset"),
        )
    )


def targets_table(summary: ReplaySummary, title: str) -> Table:
    """Records per target topic."""
    rows = sorted(summary.targets.items(), key=lambda kv: (-kv[1], kv[0]))
    return table(
        title,
        ("target", "records"),
        [(escape(t), f"{n:,}") for t, n in rows],
        numeric=("records",),
    )


def confirmation(summary: ReplaySummary) -> None:
    """What the replay is about to do, before the prompt (stderr)."""
    show(
        targets_table(
            summary, f"About to replay {summary.to_replay:,} dead letters from {summary.dlq}"
        )
    )
    notes = []
    if summary.parked:
        notes.append(f"{summary.parked:,} parked (replayed too often already)")
    if summary.failed:
        notes.append(f"{summary.failed:,} cannot be replayed (see below)")
    if summary.skipped:
        notes.append(f"{summary.skipped:,} already replayed by an earlier run")
    if summary.transform:
        notes.append(
            f"each value is repaired by {summary.transform} as it is sent; a record it cannot "
            "repair stays in the DLQ"
        )
    if notes:
        show("; ".join(notes))
    for note in header_notes(summary):
        err.print(f"note: {escape(note)}", soft_wrap=True)
    if summary.failures:
        show(_failures_table(summary))


def header_notes(summary: ReplaySummary) -> list[str]:
    """What happens to the frameworks' headers: the error context the copies leave out (or
    keep), and the dead letters whose framework headers repeat (the last one was read)."""
    notes = []
    if summary.foreign_families:
        families = ", ".join(
            f"{name} {n:,}" for name, n in sorted(summary.foreign_families.items())
        )
        if summary.foreign_kept:
            notes.append(
                "copies keep the frameworks' error-context headers (--keep-foreign-headers; "
                f"dead letters with them: {families}); the framework adds its own again at "
                "the next failure"
            )
        else:
            notes.append(
                "copies leave out the frameworks' error-context headers (dead letters with "
                f"them: {families}); the origin goes into kafkactl.original.* "
                "(--keep-foreign-headers keeps them)"
            )
    if summary.ignored_numbers:
        counts = ", ".join(f"{name} {n:,}" for name, n in sorted(summary.ignored_numbers.items()))
        notes.append(
            "numbers out of range in the headers were read as absent and are not copied "
            f"(dead letters with one: {counts})"
        )
    if summary.repeated_records:
        names = sorted(summary.repeated_headers)
        shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
        notes.append(
            f"{summary.repeated_records:,} dead letters carry framework headers more than once "
            f"({shown}): the last occurrence of each, the framework's newest, was read"
        )
    return notes


def confirm_prompt(summary: ReplaySummary) -> str:
    """The question asked before replaying."""
    targets = ", ".join(f"{t} ({n:,})" for t, n in sorted(summary.targets.items()))
    return f"Replay {summary.to_replay:,} dead letters to {targets}?"


def _failures_table(summary: ReplaySummary) -> Table:
    rows = sorted(summary.failures.items(), key=lambda kv: (-kv[1], kv[0]))
    return table(
        "Not replayed",
        ("reason", "records"),
        [(escape(r), f"{n:,}") for r, n in rows],
        numeric=("records",),
    )


def _unrepaired_table(summary: ReplaySummary) -> Table:
    rows = sorted(summary.unrepaired_reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    return table(
        "Unrepaired (left in the DLQ)",
        ("reason", "records"),
        [(escape(_cut(r)), f"{n:,}") for r, n in rows],
        numeric=("records",),
    )


def summary_table(summary: ReplaySummary) -> None:
    """Counts of the run (or of the dry run) on stderr."""
    title = f"Replay of {summary.dlq} (group {summary.replay_group})"
    if summary.dry_run:
        title = f"Dry run of {summary.dlq}: nothing was sent or committed"
    elif summary.stopped_by != "end":
        title += f" - stopped: {summary.stopped_by}"
    replayed = summary.to_replay if summary.dry_run else summary.replayed
    counts: tuple[str, ...] = (
        f"{summary.scanned:,}",
        f"{summary.matched:,}",
        f"[green]{replayed:,}[/]" if replayed else "0",
        f"{summary.skipped:,}",
        f"[yellow]{summary.parked:,}[/]" if summary.parked else "0",
        f"[red]{summary.failed:,}[/]" if summary.failed else "0",
    )
    columns: tuple[str, ...] = (
        "scanned",
        "matched",
        "would replay" if summary.dry_run else "replayed",
        "skipped",
        "parked",
        "failed",
    )
    if summary.transform is not None:
        counts += (f"[red]{summary.unrepaired:,}[/]" if summary.unrepaired else "0",)
        columns += ("unrepaired",)
    counts += (f"{summary.seconds:.2f}",)
    columns += ("seconds",)
    parts: list[Table] = [table(title, columns, [counts], numeric=columns)]
    if summary.targets:
        parts.append(
            targets_table(summary, "Per target (would replay)" if summary.dry_run else "Per target")
        )
    if summary.failures:
        parts.append(_failures_table(summary))
    if summary.unrepaired_reasons:
        parts.append(_unrepaired_table(summary))
    show(*parts)
    for warning in summary.warnings:
        err.print(f"[yellow]warning:[/] {escape(warning)}", soft_wrap=True)
    for note in header_notes(summary):
        err.print(f"note: {escape(note)}", soft_wrap=True)
    if summary.recovered:
        show(
            f"{summary.recovered:,} records had been replayed by an interrupted run and were "
            "not sent again"
        )


class ReplayProgress:
    """The progress bar over the records to scan (render/progress.py), with the counts so far;
    only on a terminal, never with --quiet/--json."""

    def __init__(self, enabled: bool, description: str = "replaying") -> None:
        self._display = ProgressDisplay(enabled, description)
        self.enabled = self._display.enabled
        self.description = description

    def __enter__(self) -> ReplayProgress:
        self._display.__enter__()
        return self

    def update(self, summary: ReplaySummary) -> None:
        """Show the latest counts (called a few times a second by the engine)."""
        if summary.dry_run:
            counts = f"would replay {summary.to_replay:,}"
        else:
            counts = f"replayed {summary.replayed:,}"
        if summary.parked:
            counts += f"  [yellow]parked {summary.parked:,}[/]"
        if summary.failed:
            counts += f"  [red]failed {summary.failed:,}[/]"
        if summary.unrepaired:
            counts += f"  [red]unrepaired {summary.unrepaired:,}[/]"
        self._display.update(summary.scanned, summary.total, counts)

    def __exit__(self, *exc: Any) -> None:
        self._display.__exit__(*exc)
