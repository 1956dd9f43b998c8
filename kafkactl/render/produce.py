"""`kafkactl produce`: the live progress line (terminal only) and the summary table (stderr)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kafkactl.render import show, table
from kafkactl.render.live import LiveRegion

if TYPE_CHECKING:
    from kafkactl.ingest import ProduceSummary


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"  # pragma: no cover


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
    far, a bar with percentage, rate and ETA by bytes sits above the counters.
    """

    def __init__(
        self,
        enabled: bool,
        size: int | None = None,
        position: Callable[[], int] | None = None,
    ) -> None:
        self._region = LiveRegion(enabled)
        self.enabled = self._region.enabled
        self._size = size
        self._position = position

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
        rate = _size(done / snapshot.seconds if snapshot.seconds > 0 else 0) + "/s"
        read = f"{_size(done)} of {_size(self._size)}"
        self._region.draw(Group(bar(done, self._size, snapshot.seconds, rate, read), text))

    def __exit__(self, *exc: Any) -> None:
        self._region.__exit__(*exc)


def summary_table(summary: ProduceSummary) -> None:
    """The summary of SPEC §6 as a table on stderr."""
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
