"""KeyOrder: which records of a key must wait for an earlier one still in the retry tiers.

`--ordering key-strict` keeps a key's records in offset order through the retry tiers. A record
that fails goes to its tier as usual and *blocks* its key; every later record of that key is sent
after it as a **follower** (not run), into the lowest tier above its own that holds the key, so
it stays behind every earlier record of the key: records in a higher tier are always older than
records in a lower one, and within one tier partition offsets keep the order. A key's copies stay
on its partition number in every tier, so one member owns the key everywhere (range assignment).

The state is pure bookkeeping, per slot (main topic, partition) and key: the highest offset of
the key known on each tier partition and not yet settled (records of a key settle in offset
order, one lane each), the copies on their way to a tier or the DLQ, and whether the key's
followers go to the DLQ (an earlier record of the key was dead-lettered). It is rebuilt from
Kafka whenever the slot is assigned anew (`Recovered`, read by `keyscan`), so nothing lives only
in memory: a kill -9 loses nothing the tiers do not hold.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

Slot = tuple[str, int]  # (main topic, partition number shared by its tiers)
Token = tuple[int | None, ...]  # epochs of the slot's main and tier partitions when loaded
DLQ = -1  # the destination of a copy to the dead-letter topic
# run: handle it; follow: send it after the key's earlier record (to `tier`); dead: an earlier
# record of the key was dead-lettered, so this one goes to the DLQ behind it; wait: kept back
# until an earlier failure of the key, waiting for the breaker's verdict, is routed (strict.py).
Verdict = Literal["run", "follow", "dead", "wait"]


@dataclass(frozen=True)
class Admission:
    """What to do with one record of a strictly ordered key."""

    verdict: Verdict
    tier: int | None = None  # where a follower goes (None: the DLQ)
    follows: str | None = None  # message-id of the record it waits behind (or that died)


@dataclass
class KeyRecovered:
    """What a scan of the tiers found for one key."""

    pending: dict[int, int] = field(default_factory=dict)  # tier -> highest offset
    blocker: str | None = None  # message-id of the record it waits behind
    dead: str | None = None  # message-id of a dead-lettered record its followers go after


Recovered = dict[bytes | None, KeyRecovered]


@dataclass
class _Key:
    pending: dict[int, int] = field(default_factory=dict)  # tier -> highest unsettled offset
    routing: Counter[int] = field(default_factory=Counter)  # destination -> copies on their way
    blocker: str | None = None
    dead: str | None = None

    @property
    def idle(self) -> bool:
        return not self.pending and not +self.routing


@dataclass
class _Slot:
    token: Token
    keys: dict[bytes | None, _Key]


class KeyOrder:
    """The blocked keys of every owned slot (thread-safe; no I/O)."""

    def __init__(self, tiers: int, dead_letter_followers: bool = True) -> None:
        self.tiers = tiers
        self.dead_letter_followers = dead_letter_followers
        self._lock = threading.Lock()
        self._slots: dict[Slot, _Slot] = {}

    def loaded(self, slot: Slot, token: Token) -> bool:
        """True when the slot's state was rebuilt for this assignment (`token`)."""
        with self._lock:
            state = self._slots.get(slot)
            return state is not None and state.token == token

    def install(self, slot: Slot, token: Token, recovered: Recovered) -> None:
        """Replace the slot's state with what a scan of its tiers found."""
        keys = {
            key: _Key(dict(found.pending), blocker=found.blocker, dead=found.dead)
            for key, found in recovered.items()
            if found.pending
        }
        with self._lock:
            old = self._slots.get(slot)
            # Copies announced before and still on their way will land in the tiers: their key
            # stays blocked until they do.
            for key, state in (old.keys if old is not None else {}).items():
                if +state.routing:
                    kept = keys.setdefault(key, _Key(blocker=state.blocker, dead=state.dead))
                    kept.routing = Counter(+state.routing)
            self._slots[slot] = _Slot(token, keys)

    def forget(self, slot: Slot) -> None:
        """Drop a slot's state (revoked)."""
        with self._lock:
            self._slots.pop(slot, None)

    def admit(self, slot: Slot, key: bytes | None, tier: int, offset: int) -> Admission:
        """Decide for the record at `offset` of `tier` (0: the main topic) of `key`."""
        with self._lock:
            keys = self._slot(slot).keys
            state = keys.get(key)
            if tier > 0:
                # A tier record is pending until it settles (a replayed copy is first seen here).
                state = keys.setdefault(key, _Key())
                state.pending[tier] = max(state.pending.get(tier, -1), offset)
            if state is None:
                return Admission("run")
            ahead = [t for t in state.pending if t > tier]
            ahead += [t for t, n in state.routing.items() if n > 0 and t > tier]
            if ahead:
                follows = state.dead or state.blocker
                return Admission("follow", min(ahead), follows)
            if state.dead is not None and self.dead_letter_followers:
                return Admission("dead", None, state.dead)
            return Admission("run")

    def routing(
        self, slot: Slot, key: bytes | None, dest: int, message_id: str, failed: bool
    ) -> None:
        """A copy of a record of `key` is on its way to tier `dest` (or DLQ); `failed`: the
        record failed (it becomes the key's blocker), else it follows."""
        with self._lock:
            state = self._slot(slot).keys.setdefault(key, _Key())
            state.routing[dest] += 1
            if failed and dest == DLQ and self.dead_letter_followers:
                state.dead = message_id
            elif failed:
                state.blocker = message_id

    def placed(self, slot: Slot, key: bytes | None, dest: int, offset: int | None) -> None:
        """The broker acknowledged a copy announced by `routing` at `offset` of tier `dest`."""
        with self._lock:
            keys = self._slot(slot).keys
            state = keys.setdefault(key, _Key())
            if state.routing[dest] > 0:
                state.routing[dest] -= 1
            if dest != DLQ and offset is not None:
                state.pending[dest] = max(state.pending.get(dest, -1), offset)
            if state.idle:
                del keys[key]

    def unrouted(self, slot: Slot, key: bytes | None, dest: int) -> None:
        """A copy announced by `routing` will not be published (the run stops)."""
        with self._lock:
            state = self._slot(slot).keys.get(key)
            if state is not None and state.routing[dest] > 0:
                state.routing[dest] -= 1

    def settled(self, slot: Slot, key: bytes | None, tier: int, offset: int) -> None:
        """The record at `offset` of `tier` is done (handled, skipped, or its copy landed)."""
        if tier <= 0:
            return
        with self._lock:
            keys = self._slot(slot).keys
            state = keys.get(key)
            if state is None:
                return
            if state.pending.get(tier, -1) <= offset:
                state.pending.pop(tier, None)
            if state.idle:
                del keys[key]  # the key flows again (a dead mark ends with its last follower)

    def blocked_keys(self) -> int:
        """Keys waiting for a record in the tiers (a gauge)."""
        with self._lock:
            return sum(len(s.keys) for s in self._slots.values())

    def _slot(self, slot: Slot) -> _Slot:
        state = self._slots.get(slot)
        if state is None:
            state = self._slots[slot] = _Slot((), {})
        return state
