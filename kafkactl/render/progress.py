"""One progress helper for long work of known size: fraction, rate and ETA, drawn as a bar."""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table


@dataclass(frozen=True)
class Estimate:
    """How far along (0..1), units per second so far, and seconds left (None: unknown)."""

    fraction: float
    rate: float
    eta: float | None


def estimate(done: float, total: float, seconds: float) -> Estimate:
    """The estimate for `done` of `total` after `seconds` at the average rate so far."""
    if total <= 0:
        return Estimate(1.0, 0.0, 0.0)
    done = min(max(done, 0.0), total)
    rate = done / seconds if seconds > 0 else 0.0
    eta = (total - done) / rate if rate > 0 else None
    return Estimate(done / total, rate, eta)


def clock(seconds: float | None) -> str:
    """`0:01:23`, or `-:--:--` when unknown."""
    if seconds is None:
        return "-:--:--"
    whole = int(seconds + 0.5)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def bar(
    done: float, total: float, seconds: float, rate_text: str, extra: str = ""
) -> RenderableType:
    """`[bar] 42%  17.2 MiB/s  ETA 0:00:12  extra` on one line (rate_text formats the rate)."""
    found = estimate(done, total, seconds)
    line = Table.grid(padding=(0, 1))
    line.add_row(
        ProgressBar(total=max(total, 1), completed=min(done, total), width=30),
        f"{found.fraction * 100:3.0f}%",
        rate_text.format(rate=found.rate),
        f"ETA {clock(found.eta)}",
        extra,
    )
    return line
