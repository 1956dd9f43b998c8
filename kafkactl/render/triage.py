"""`kafkactl dlq summary`: the table of groups, the totals line, and the progress bar."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kafkactl.render import _escape, show, table
from kafkactl.render.progress import ProgressDisplay

if TYPE_CHECKING:
    from kafkactl.dlq.triage import TriageSummary

_TITLES = {
    "class": "error",
    "message": "message (normalised)",
    "topic": "original topic",
    "key": "key",
    "hour": "hour (UTC)",
}


class SummaryProgress:
    """The progress bar (render/progress.py) while the DLQ is read; only on a terminal and
    when asked."""

    def __init__(self, enabled: bool, description: str) -> None:
        self._display = ProgressDisplay(enabled, description)
        self.enabled = self._display.enabled

    def __enter__(self) -> SummaryProgress:
        self._display.__enter__()
        return self

    def update(self, done: int, total: int) -> None:
        """Records read so far of the total in range."""
        self._display.update(done, total)

    def __exit__(self, *exc: Any) -> None:
        self._display.__exit__(*exc)


def _few(items: list[dict[str, Any]], width: int = 48) -> str:
    def cut(text: str) -> str:
        return text if len(text) <= width else text[: width - 1] + "…"

    return "\n".join(f"{_escape(cut(i['value']))} ({i['count']:,})" for i in items) or "-"


def _time(iso: str | None) -> str:
    """`2026-11-30 21:04:05` (UTC, to the second) from the JSON's ISO time."""
    return "-" if iso is None else iso[:19].replace("T", " ")


def _label(row: dict[str, Any], by: str) -> str:
    """The group as the table shows it: for classes, the short name (JSON has the full one)."""
    if by != "class" or not row["class"]:
        return _escape(row["group"])
    short = row["class"].rsplit(".", 1)[-1]
    return _escape(short if row["kind"] == "-" else f"{row['kind']} {short}")


def _attempts(row: dict[str, Any]) -> str:
    low, high = row["attempts"]["min"], row["attempts"]["max"]
    if low is None:
        return "-"
    return str(low) if low == high else f"{low}-{high}"


def _replays(row: dict[str, Any]) -> str:
    return ", ".join(f"{n}: {c:,}" for n, c in row["replays"].items())


def summary_table(summary: TriageSummary, top: int) -> None:
    """The groups, largest first, and a totals line."""
    doc = summary.as_dict(top)
    rows = [
        (
            _label(r, summary.by),
            f"{r['count']:,}" + (f" (±{r['count_error']:,})" if r["count_error"] else ""),
            _time(r["first_failure"]),
            _time(r["last_failure"]),
            _few(r["messages"]),
            _few(r["topics"]),
            _few(r["consumer_groups"]),
            _attempts(r),
            _replays(r),
            f"{r['parked']:,}",
        )
        for r in doc["groups"]
    ]
    title = f"DLQ {summary.dlq} by {_TITLES[summary.by]}" + (
        " (kind and class)" if summary.by == "class" else ""
    )
    show(
        table(
            title,
            (
                _TITLES[summary.by],
                "count",
                "first (UTC)",
                "last (UTC)",
                "top messages",
                "original topics",
                "groups",
                "attempts",
                "replays",
                "parked",
            ),
            rows,
            numeric=("count", "parked"),
        )
    )
    conventions = ", ".join(f"{k} {v:,}" for k, v in doc["conventions"].items()) or "none"
    line = (
        f"{doc['matched']:,} dead letters ({conventions}) in {doc['group_count']:,} groups"
        f"; {doc['parked']:,} parked (replayed ≥ {summary.max_replays} times)"
        f"; read {doc['scanned']:,} records in {doc['seconds']:.1f}s"
    )
    if len(doc["groups"]) < doc["group_count"]:
        line += f"; showing the top {len(doc['groups'])} (--top)"
    if not doc["exact"]:
        line += "; counts are estimates (more groups than fit in memory; ± is the error bound)"
    show(_escape(line))
