"""The failure-storm breaker: tells an outage from bad records (pure logic, clocks injected).

Closed, it watches settled records. A failure of a main-topic record waits for a verdict
(`pending`) until a record that started after it succeeds (the downstream works: the failure was
the record's own and is routed), it grows older than the window, or nothing else is in flight.
It opens when failures stop looking like bad records: `share` or more of at least `min_records`
main-topic records settled within `window` seconds failed (retryable or timed out: a fatal or
decode failure is the record's own verdict and is routed at once), or `consecutive` such failures
in a row share one kind and class and come from STREAK_LANES lanes at least (fewer when fewer lanes
settled anything within the window: a key whose records are all bad is not an outage, even when
its lane is the last one with work), or one failure is environmental (no file descriptors, no
disk, no memory, no process to spare, a command that cannot be started, an import that fails).
Tier records count as evidence that the downstream works when they succeed, never as a storm
when they fail: a tier holds mostly records that failed before. Open, it holds every failure;
one probe at a time runs at a growing, jittered interval; the first success closes it.
"""

from __future__ import annotations

import errno
import random
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from kafkactl.backoff import Backoff
from kafkactl.errors import UsageError
from kafkactl.headers import Failure
from kafkactl.units import parse_duration

T = TypeVar("T")
BreakerState = Literal["closed", "open", "half-open"]
STATE_CODES: dict[BreakerState, int] = {"closed": 0, "open": 1, "half-open": 2}
# route: hand the failure to the tiers now; wait: keep it for a verdict; hold: the breaker is
# open, keep the record for a re-run once it closes.
Verdict = Literal["route", "wait", "hold"]

# OSErrors of the machine, not of a record. EAGAIN counts only when starting a process failed.
ENVIRONMENTAL_ERRNOS = {
    errno.EMFILE: "EMFILE (too many open files)",
    errno.ENFILE: "ENFILE (too many open files in the system)",
    errno.ENOSPC: "ENOSPC (no space left on the device)",
    errno.ENOMEM: "ENOMEM (out of memory)",
}
# Kinds of failure an outage produces; fatal and decode failures are a record's own verdict.
STORM_KINDS = ("retryable", "timeout")
# How many lanes (keys, or partitions) a streak of failures must span to count as an outage, at
# most: a streak from fewer is one key's bad records, unless fewer lanes had anything to settle.
STREAK_LANES = 3
# The lane of a record outside any lane (--ordering none): each such record stands alone.
NO_LANE: Hashable = None
# How a commit's metadata says the committing member's breaker is open (`health -g` reads it).
BREAKER_METADATA = "kafkactl:breaker="
# The shell's codes for a command it cannot find (127) or cannot execute (126).
UNSTARTABLE_EXIT_CLASSES = ("exit:126", "exit:127")


@dataclass(frozen=True)
class BreakerRules:
    """When the breaker opens (`--breaker`) and how often it probes while open."""

    enabled: bool = True
    share: float = 0.8
    min_records: int = 20
    window: float = 10.0
    consecutive: int = 10
    probe_min: float = 1.0
    probe_max: float = 60.0


BREAKER_FORMAT = "on, off, or rules like share=80%,min=20,window=10s,consecutive=10"


def parse_breaker(text: str) -> BreakerRules:
    """`--breaker on|off|share=50%,min=20,window=10s,consecutive=20` (omitted rules: defaults)."""
    value = text.strip()
    if value in ("on", ""):
        return BreakerRules()
    if value == "off":
        return BreakerRules(enabled=False)
    rules: dict[str, Any] = {}
    for part in value.split(","):
        name, sep, raw = (s.strip() for s in part.partition("="))
        if not sep or name not in ("share", "min", "window", "consecutive"):
            what = f"--breaker {text!r}: {part.strip()!r} is not a rule"
            raise UsageError(f"{what}; {BREAKER_FORMAT}")
        rules[name] = _rule(text, name, raw)
    defaults = BreakerRules()
    return BreakerRules(
        share=rules.get("share", defaults.share),
        min_records=rules.get("min", defaults.min_records),
        window=rules.get("window", defaults.window),
        consecutive=rules.get("consecutive", defaults.consecutive),
    )


def _rule(text: str, name: str, raw: str) -> float | int:
    where = f"--breaker {text!r}: {name}"
    if name == "share":
        number = raw.removesuffix("%")
        try:
            share = float(number) / 100
        except ValueError:
            share = -1.0
        if not 0 < share <= 1:
            raise UsageError(f"{where} must be a percentage in (0, 100], e.g. 50%; got {raw!r}")
        return share
    if name == "window":
        try:
            seconds = parse_duration(raw)
        except (UsageError, ValueError):
            seconds = 0.0
        if not 0 < seconds <= 3600:
            raise UsageError(f"{where} must be a duration up to 1h, e.g. window=10s; got {raw!r}")
        return seconds
    if not raw.isdigit() or not 1 <= int(raw) <= 1_000_000:
        raise UsageError(f"{where} must be a whole number from 1 to 1000000; got {raw!r}")
    return int(raw)


def environmental(exc: BaseException | None, why: Failure) -> str | None:
    """Why a failure is the machine's or the deployment's, not the record's (None: it is not)."""
    if why.error_class in UNSTARTABLE_EXIT_CLASSES:
        return f"the command cannot be started ({why.error_class})"
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, ImportError):
            return f"an import fails ({type(exc).__name__})"
        if isinstance(exc, OSError):
            name = ENVIRONMENTAL_ERRNOS.get(exc.errno or 0)
            if name is not None:
                return name
            if exc.errno == errno.EAGAIN and "cannot start" in why.message:
                return "EAGAIN (no process to spare)"
        exc = exc.__cause__ or exc.__context__
    if why.message.startswith("cannot start "):
        return "the command cannot be started"
    return None


class Breaker(Generic[T]):
    """The breaker's state machine; items are what the caller keeps for a failure (not used
    here). Not thread-safe: the caller serialises calls."""

    def __init__(
        self,
        rules: BreakerRules,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.rules = rules
        self._clock = clock
        self._wall = wall
        self.state: BreakerState = "closed"
        self.since: float | None = None  # wall time of the last change of state
        self.reason: str | None = None  # what opened it, the last time it opened
        self.probes = 0  # probes run since it last opened
        self.opened = 0  # times it opened
        self.pending: deque[tuple[float, T]] = deque()
        # Outcomes settled within the window: (when, failures, records), a batch's successes
        # as one entry; the sums over it are kept as they change.
        self._window: deque[tuple[float, int, int]] = deque()
        self._failures = 0
        self._total = 0
        self._streak: tuple[tuple[str, str], int] = (("", ""), 0)
        self._streak_lanes: set[Hashable] = set()  # up to STREAK_LANES of the streak's lanes
        # The STREAK_LANES lanes that settled a record last, each with when (oldest first).
        self._recent: dict[Hashable, float] = {}
        self._backoff = Backoff(rules.probe_min, rules.probe_max, rng)
        self.next_probe = 0.0

    # --- closed: watching -----------------------------------------------------------------

    def failed(
        self,
        item: T,
        why: Failure,
        counts: bool,
        env: str | None,
        may_wait: bool = True,
        lane: Hashable = NO_LANE,
    ) -> tuple[Verdict, list[T]]:
        """A handler failure of a record of `lane`: route it, keep it for a verdict (unless not
        `may_wait`), or hold it (the breaker is or just got open; the pending items returned
        are held with it)."""
        if not self.rules.enabled:
            return "route", []
        if self.state != "closed":
            return "hold", []
        now = self._clock()
        if env is not None:
            return "hold", self._open(now, f"{env}: {why.error_class} {why.message}")
        if not counts or why.kind not in STORM_KINDS:
            return "route", []
        self._prune(now)
        self._window.append((now, 1, 1))
        self._failures += 1
        self._total += 1
        signature = (why.kind, why.error_class or "")
        if self._streak[0] == signature:
            streak = self._streak[1] + 1
        else:
            streak = 1
            self._streak_lanes = set()
        self._streak = (signature, streak)
        lane = self._seen(lane, now)
        if len(self._streak_lanes) < STREAK_LANES:
            self._streak_lanes.add(lane)
        rules = self.rules
        total = self._total
        if streak >= rules.consecutive and len(self._streak_lanes) >= self._lanes_seen(now):
            return "hold", self._open(
                now, f"{streak} failures in a row ({why.kind}): {why.error_class} {why.message}"
            )
        if total >= rules.min_records and self._failures >= rules.share * total:
            return "hold", self._open(
                now,
                f"{self._failures} of {total} records failed within {rules.window:g}s: "
                f"{why.error_class} {why.message}",
            )
        if not may_wait:
            return "route", []
        self.pending.append((now, item))
        return "wait", []

    def succeeded(
        self, started: float, count: int = 1, lanes: Iterable[Hashable] = (NO_LANE,)
    ) -> list[T]:
        """`count` handler successes in a row (of `lanes`), the last of a call that began at
        `started` (on the breaker's clock): the pending failures before it are the records'
        own; returns them, to be routed."""
        if not self.rules.enabled or count < 1:
            return []
        now = self._clock()
        self._prune(now)
        self._window.append((now, 0, count))
        self._total += count
        self._streak = (("", ""), 0)
        for lane in lanes:
            self._seen(lane, now)
        released: list[T] = []
        while self.pending and self.pending[0][0] <= started:
            released.append(self.pending.popleft()[1])
        return released

    def skipped(self, count: int = 1, lanes: Iterable[Hashable] = (NO_LANE,)) -> None:
        """A record settled without running (its success was in the dedupe store): it counts
        against a storm as a success does, without proving the downstream works (nothing
        pending is released). After a rebalance the redelivered records' successes are all
        skipped while their failures run again: counted alone, those would look like a storm."""
        if not self.rules.enabled or self.state != "closed" or count < 1:
            return
        now = self._clock()
        self._prune(now)
        self._window.append((now, 0, count))
        self._total += count
        self._streak = (("", ""), 0)
        for lane in lanes:
            self._seen(lane, now)

    def release_stale(self, idle: bool) -> list[T]:
        """Pending failures no verdict will come for: older than the window, or all of them
        when nothing else is in flight (`idle`); returns them, to be routed."""
        if self.state != "closed":
            return []
        cutoff = self._clock() - self.rules.window
        released: list[T] = []
        while self.pending and (idle or self.pending[0][0] <= cutoff):
            released.append(self.pending.popleft()[1])
        return released

    def _seen(self, lane: Hashable, now: float) -> Hashable:
        """`lane` settled a record now (a record outside any lane is a lane of its own);
        returns the lane as remembered."""
        if lane is NO_LANE:
            lane = object()
        recent = self._recent
        recent.pop(lane, None)
        recent[lane] = now
        if len(recent) > STREAK_LANES:
            del recent[next(iter(recent))]
        return lane

    def _lanes_seen(self, now: float) -> int:
        """How many lanes settled a record within the window (at most STREAK_LANES)."""
        cutoff = now - self.rules.window
        return sum(1 for when in self._recent.values() if when >= cutoff)

    def _prune(self, now: float) -> None:
        cutoff = now - self.rules.window
        window = self._window
        while window and window[0][0] < cutoff:
            _, failures, records = window.popleft()
            self._failures -= failures
            self._total -= records

    def _open(self, now: float, reason: str) -> list[T]:
        self.state = "open"
        self.since = self._wall()
        self.reason = reason
        self.opened += 1
        self.probes = 0
        self._backoff.reset()
        self.next_probe = now + self._backoff.next_delay()
        held = [item for _, item in self.pending]
        self.pending.clear()
        return held

    # --- open: probing --------------------------------------------------------------------

    def probe_due(self) -> bool:
        """True when open and the next probe's time has come."""
        return self.state == "open" and self._clock() >= self.next_probe

    def probe_started(self) -> None:
        """A probe record runs: half-open until it settles."""
        self.state = "half-open"
        self.probes += 1

    def probe_failed(self) -> float:
        """The probe failed: open again; returns the seconds until the next probe."""
        self.state = "open"
        delay = self._backoff.next_delay()
        self.next_probe = self._clock() + delay
        return delay

    def probe_void(self) -> None:
        """The probe proved nothing (it was not run): open, another probe may go at once."""
        self.state = "open"
        self.probes -= 1
        self.next_probe = self._clock()

    def close(self) -> None:
        """The probe succeeded: closed, watching afresh."""
        self.state = "closed"
        self.since = self._wall()
        self._window.clear()
        self._failures = 0
        self._total = 0
        self._streak = (("", ""), 0)
        self._streak_lanes = set()
        self._recent.clear()
        self._backoff.reset()

    def snapshot(self) -> dict[str, Any]:
        """State, since when (epoch seconds), what opened it, probes, times opened."""
        return {
            "state": self.state,
            "since": None if self.since is None else round(self.since, 3),
            "opened_by": self.reason,
            "probes": self.probes,
            "opened": self.opened,
        }
