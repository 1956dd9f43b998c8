"""One progress helper for long work of known size: fraction, rate and ETA, drawn as a bar.

Every progress display (produce -i FILE, consume -e / --to, replay-dlq, dlq summary) draws the
same line: `description [bar] 42%  4,200 of 10,000 records  1,234 records/s  ETA 0:00:05`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.progress_bar import ProgressBar
from rich.table import Table

from kafkactl.render.live import LiveRegion

# What is counted: records, or bytes (shown as KiB, MiB, ...).
Unit = Literal["records", "bytes"]
BAR_WIDTH = 30


@dataclass(frozen=True)
class Estimate:
    """How far along (0..1), units per second so far, and seconds left (None: unknown)."""

    fraction: float
    rate: float
    eta: float | None


def estimate(done: float, total: float, seconds: float, base: float = 0.0) -> Estimate:
    """The estimate for `done` of `total` at the average rate of the last `seconds`, in which
    `base` of it was done already (the clock started late)."""
    if total <= 0:
        return Estimate(1.0, 0.0, 0.0)
    done = min(max(done, 0.0), total)
    rate = max(done - base, 0.0) / seconds if seconds > 0 else 0.0
    eta = (total - done) / rate if rate > 0 else None
    return Estimate(done / total, rate, eta)


def clock(seconds: float | None) -> str:
    """`0:01:23`, or `-:--:--` when unknown."""
    if seconds is None:
        return "-:--:--"
    whole = int(seconds + 0.5)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def size(n: float) -> str:
    """A byte count for people: `512 B`, `17.2 MiB`."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"  # pragma: no cover


def amount(n: float, unit: Unit) -> str:
    """`4,200` records or `17.2 MiB`."""
    return size(n) if unit == "bytes" else f"{n:,.0f}"


def _count(done: float, total: float | None, unit: Unit) -> str:
    noun = " records" if unit == "records" else ""
    if total is None:
        return f"{amount(done, unit)}{noun}"
    return f"{amount(min(done, total), unit)} of {amount(total, unit)}{noun}"


def _rate(rate: float, unit: Unit) -> str:
    return f"{size(rate)}/s" if unit == "bytes" else f"{rate:,.0f} records/s"


def bar(
    description: str,
    done: float,
    total: float | None,
    seconds: float,
    unit: Unit = "records",
    extra: str = "",
    base: float = 0.0,
) -> RenderableType:
    """One line: description, bar, %, count, rate, ETA, then `extra` (Rich markup).

    `total` None: the size is not known yet; the bar pulses, with no % or ETA. The rate is
    (done - base) / seconds: `base` was done before the clock started.
    """
    line = Table.grid(padding=(0, 1))
    if total is None:
        rate = max(done - base, 0.0) / seconds if seconds > 0 else 0.0
        progress = ProgressBar(total=None, width=BAR_WIDTH)
        percent, eta = "   ", None
    else:
        found = estimate(done, total, seconds, base)
        progress = ProgressBar(total=max(total, 1), completed=min(done, total), width=BAR_WIDTH)
        rate, percent, eta = found.rate, f"{found.fraction * 100:3.0f}%", found.eta
    line.add_row(
        f"[bold]{escape(description)}[/]",
        progress,
        percent,
        _count(done, total, unit),
        _rate(rate, unit),
        f"ETA {clock(eta)}",
        extra,
    )
    return line


class ProgressDisplay:
    """A bar redrawn in place on stderr, timed from entry; only on a terminal, gone at exit.

    `below` (any renderable) is drawn under the bar, e.g. counters or a table.
    """

    def __init__(
        self,
        enabled: bool,
        description: str,
        unit: Unit = "records",
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._region = LiveRegion(enabled)
        self.enabled = self._region.enabled
        self.description = description
        self._unit = unit
        self._now = now
        self._started = now()

    def __enter__(self) -> ProgressDisplay:
        self._started = self._now()
        self._region.__enter__()
        return self

    def update(
        self,
        done: float,
        total: float | None,
        extra: str = "",
        below: RenderableType | None = None,
    ) -> None:
        """Show `done` of `total` (None: not known yet)."""
        if not self._region.active:
            return
        line = bar(self.description, done, total, self._now() - self._started, self._unit, extra)
        self._region.draw(line if below is None else Group(line, below))

    def __exit__(self, *exc: Any) -> None:
        self._region.__exit__(*exc)
