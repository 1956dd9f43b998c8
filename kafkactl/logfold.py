"""Folding repeated log lines on a terminal: the first few of a kind in full, then counts.

A kind is whatever key the caller bound as `fold` (error kind, class, normalised message, tier).
The folder decides; the terminal log sink prints. JSON logs and metrics never fold.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

TIMES = "\u00d7"


@dataclass
class _Kind:
    label: str
    level: str
    seen: int = 0
    pending: int = 0
    since: float = 0.0


@dataclass(frozen=True)
class Folded:
    """`count` lines of one kind left out over `seconds`, reported as one line."""

    label: str
    level: str
    count: int
    seconds: float

    def text(self) -> str:
        """`x56 in 10s: handler failed (retryable, retry tier 1): RuntimeError flaky <n>`
        (with a multiplication sign)."""
        return f"{TIMES}{self.count:,} in {max(1, round(self.seconds))}s: {self.label}"


class Folder:
    """Counts lines per kind: `offer` says whether to print one; `due` gives the folded counts.

    The first `first` lines of a kind print in full; later ones are counted and reported once
    per `interval` seconds (clock injectable for tests). Thread-safe.
    """

    def __init__(
        self, first: int = 3, interval: float = 10.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.first = first
        self.interval = interval
        self._clock = clock
        self._kinds: dict[Hashable, _Kind] = {}
        self._lock = threading.Lock()

    def offer(self, key: Hashable, label: str, level: str = "WARNING") -> bool:
        """True when this line is printed in full; False when it is only counted."""
        with self._lock:
            kind = self._kinds.get(key)
            if kind is None:
                kind = self._kinds[key] = _Kind(label, level)
            kind.seen += 1
            if kind.seen <= self.first:
                return True
            if kind.pending == 0:
                kind.since = self._clock()
            kind.pending += 1
            return False

    def is_last_in_full(self, key: Hashable) -> bool:
        """True right after the last line of a kind that prints in full."""
        with self._lock:
            kind = self._kinds.get(key)
            return kind is not None and kind.seen == self.first

    def due(self, final: bool = False) -> list[Folded]:
        """Counts whose interval has passed (all of them when `final`), and restart them."""
        now = self._clock()
        out: list[Folded] = []
        with self._lock:
            for kind in self._kinds.values():
                if kind.pending and (final or now - kind.since >= self.interval):
                    out.append(Folded(kind.label, kind.level, kind.pending, now - kind.since))
                    kind.pending = 0
        return out
