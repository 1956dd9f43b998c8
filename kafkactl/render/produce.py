"""`kafkactl produce`: the live progress line (terminal only) and the summary table (stderr)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kafkactl.render import show, table
from kafkactl.render.live import LiveRegion
from kafkactl.render.progress import size as _size

if TYPE_CHECKING:
    from kafkactl.ingest import ProduceSummary


def _progress_text(s: ProduceSummary) -> str:
    rate = s.published / s.seconds if s.seconds > 0 else 0.0
    text = (
        f"[bold]{s.topic}[/]  {s.published:,} published of {s.read:,} read  "
        f"{rate:,.0f} records/s  {_size(s.bytes)}"
    )
    if s.invalid:
        text += f"  [yellow]{s.invalid:,} invalid[/]"
    if s.failed:
        text += f"  [red]{s.failed:,} failed[/]"
    return text


class ProduceProgress:
    """Records, records/s and bytes, refreshed in place; only on a terminal and not --quiet.

    With the input's size known (a regular file) and `position` telling the bytes read so
    far, the progress bar (render/progress.py) by bytes sits above the counters, its
    description naming the input.
    """

    def __init__(
        self,
        enabled: bool,
        size: int | None = None,
        position: Callable[[], int] | None = None,
        description: str = "input",
    ) -> None:
        self._region = LiveRegion(enabled)
        self.enabled = self._region.enabled
        self._size = size
        self._position = position
        self._description = description

    def __enter__(self) -> ProduceProgress:
        self._region.__enter__()
        return self

    def update(self, snapshot: ProduceSummary) -> None:
        """Show the latest counters (called a few times a second by the job)."""
        if not self._region.active:
            return
        text = _progress_text(snapshot)
        if self._size is None or self._position is None:
            self._region.draw(text)
            return
        from rich.console import Group

        from kafkactl.render.progress import bar

        try:
            done = self._position()
        except (OSError, ValueError):  # closed or unseekable after all: counters only
            self._region.draw(text)
            return
        line = bar(self._description, done, self._size, snapshot.seconds, "bytes")
        self._region.draw(Group(line, text))

    def __exit__(self, *exc: Any) -> None:
        self._region.__exit__(*exc)


def summary_table(summary: ProduceSummary) -> None:
    """The summary of DESIGN §5.5 as a table on stderr."""
    data = summary.as_dict()
    title = f"Produced to {summary.topic}"
    if summary.interrupted:
        title += " (interrupted)"
    elif summary.stopped_at_line is not None:
        title += f" (--strict: stopped at line {summary.stopped_at_line})"
    failed = data["failed"]
    invalid = data["invalid"]
    row = (
        f"{data['read']:,}",
        f"[green]{data['published']:,}[/]",
        f"[yellow]{invalid:,}[/]" if invalid else "0",
        f"[red]{failed:,}[/]" if failed else "0",
        _size(data["bytes"]),
        f"{data['seconds']:.2f}",
        f"{data['records_per_s']:,.0f}",
    )
    show(
        table(
            title,
            ("read", "published", "invalid", "failed", "bytes", "seconds", "records/s"),
            [row],
            numeric=("read", "published", "invalid", "failed", "bytes", "seconds", "records/s"),
        )
    )
