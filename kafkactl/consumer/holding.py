"""StormGuard: the breaker at work in the pipeline (holding the storm's records, probing).

Closed, a main-topic failure waits for the breaker's verdict before it is routed (the record
stays incomplete meanwhile). Open, every failure and every record a worker picks up is held
(incomplete: the commit point never passes it), the poll loop pauses all partitions and
dispatches nothing, and one held record at a time — the oldest of a lane, lanes in turn — runs
as the probe at a growing interval. A probe that succeeds closes the breaker and the held records
go back to the workers in their order (per lane, as fetched). Shared state is guarded by the
pipeline's lock (`Partitions.lock`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Any

from loguru import logger

from kafkactl import headers as hdr
from kafkactl.consumer.breaker import BREAKER_METADATA, Breaker, BreakerRules, environmental
from kafkactl.consumer.dispatch import WorkerPool
from kafkactl.consumer.state import Partitions, Work

# What a failure waiting for a verdict keeps: the work, its failure, when its handler began.
Waiting = tuple[Work, hdr.Failure, float]
Route = Callable[[Work, hdr.Failure, float], None]


class StormGuard:
    """Holds records while the breaker is open; routes the failures it let wait when it may."""

    def __init__(
        self,
        rules: BreakerRules,
        partitions: Partitions,
        pool: WorkerPool[Work],
        lane: Callable[[Work], Hashable | None],
        route: Route,
        may_wait: bool = True,
    ) -> None:
        self.breaker: Breaker[Waiting] = Breaker(rules, clock=time.perf_counter)
        self._partitions = partitions
        self._pool = pool
        self._lane = lane
        self._route = route
        # False while tracing: a failure is routed inside its span (the copy's publish span is
        # its child), so it cannot wait for a verdict; the breaker still opens by its rules.
        self._may_wait = may_wait
        self._held: list[Work] = []
        self._probe: Work | None = None
        self._turn = 0  # which lane's head the next probe is
        self._probe_at = 0  # where the probe was in `_held` (a failed one goes back there)
        self._stopping = False  # the run stops: nothing is held any more, nothing waits
        # Records kept back behind a failure awaiting a verdict (--ordering key-strict): in
        # flight, yet waiting for nothing but the verdict.
        self.waiting_behind: Callable[[], int] = lambda: 0

    @property
    def is_open(self) -> bool:
        """True while the breaker is open or half-open (nothing is dispatched)."""
        return self.breaker.state != "closed"

    def commit_metadata(self) -> str | None:
        """What the pipeline's commits carry while the breaker is open (`health -g` reads it):
        `kafkactl:breaker=open;since=ISO;by=REASON`; None while closed."""
        breaker = self.breaker
        if breaker.state == "closed" or breaker.since is None:
            return None
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(breaker.since))
        return f"{BREAKER_METADATA}open;since={since};by={(breaker.reason or '')[:300]}"

    def snapshot(self) -> dict[str, Any]:
        """The breaker's state for the metrics (and how many records it holds)."""
        with self._partitions.lock:
            return {**self.breaker.snapshot(), "held": len(self._held)}

    # --- on a worker ----------------------------------------------------------------------

    def holds(self, work: Work) -> bool:
        """True (and the work held) when the breaker is open and `work` is not the probe."""
        if self.breaker.state == "closed":
            return False  # without the lock: a record that slips by fails and is held anyway
        with self._partitions.lock:
            if not self.is_open or work is self._probe:
                return False
            if self._stopping:
                self._partitions.abandon(work)  # read again next run
            else:
                self._held.append(work)
            return True

    def failed(self, work: Work, why: hdr.Failure, started: float, exc: BaseException) -> bool:
        """A handler failure: True when the guard keeps it (waiting for a verdict, or held);
        False: route it now."""
        with self._partitions.lock:
            if self._stopping:
                if not self.is_open and work is not self._probe:
                    return False  # routed as without a breaker
                self._partitions.abandon(work)  # read again next run
                return True
            if work is self._probe:
                self._probe = None
                delay = self.breaker.probe_failed()
                self._held.insert(self._probe_at, work)  # the head of its lane again
                logger.bind(fold=(("breaker probe failed",), "breaker probe failed")).info(
                    "breaker open: the probe {}[{}]@{} failed ({} {}); next probe in {:.1f}s",
                    work.tp.topic,
                    work.tp.partition,
                    work.message.offset,
                    why.error_class,
                    why.message,
                    delay,
                )
                return True
            was_open = self.is_open
            counts = work.message.attempt <= 1
            verdict, moved = self.breaker.failed(
                (work, why, started),
                why,
                counts,
                environmental(exc, why),
                self._may_wait,
                self._lane(work),
            )
            if verdict == "route":
                return False
            if verdict == "wait":
                return True
            self._held.extend(w for w, _, _ in moved)
            self._held.append(work)
            if not was_open:
                logger.warning(
                    "failure storm: breaker open ({}); {} record(s) held, not routed or "
                    "committed, all partitions paused; probing from 1s to 60s",
                    self.breaker.reason,
                    len(self._held),
                )
            return True

    def succeeded(self, work: Work, started: float) -> None:
        """A handler success: closes the breaker if it was the probe; routes the failures it
        proves to be the records' own."""
        with self._partitions.lock:
            released = self._succeeded(work, started)
        for waiting in released:
            self._route(*waiting)

    def _succeeded(self, work: Work, started: float) -> list[Waiting]:
        if work is self._probe:
            self._close(work)
            return []
        if self._stopping:
            return []
        return self.breaker.succeeded(started, 1, (self._lane(work),))

    def settled(self, work: Work) -> None:
        """`work` settled without running (deduplicated): a probe that proved nothing, or a
        record that counts as no failure."""
        with self._partitions.lock:
            self._settled(work)

    def _settled(self, work: Work) -> None:
        if work is self._probe:
            self._probe = None
            self.breaker.probe_void()
        elif work.message.attempt <= 1:
            self.breaker.skipped(1, (self._lane(work),))

    def settle(self, succeeded: list[tuple[Work, float]], skipped: list[Work]) -> None:
        """A batch's successes (each with when its handler began) and records settled without
        running (deduplicated), in one lock acquisition: what `succeeded` and `settled` do for
        each, the successes counted by the breaker as one run."""
        partitions = self._partitions
        released: list[Waiting] = []
        with partitions.lock:
            if self._probe is not None or self.breaker.state != "closed":
                for work, started in succeeded:  # rare: one at a time, as they came
                    released += self._succeeded(work, started)
                for work in skipped:
                    self._settled(work)
            else:
                if succeeded and not self._stopping:
                    latest = max(started for _, started in succeeded)
                    lanes = self._ends_lanes([succeeded[0][0], succeeded[-1][0]])
                    released = self.breaker.succeeded(latest, len(succeeded), lanes)
                first_tries = [work for work in skipped if work.message.attempt <= 1]
                self.breaker.skipped(len(first_tries), self._ends_lanes(first_tries))
        for waiting in released:
            self._route(*waiting)

    def _ends_lanes(self, works: list[Work]) -> list[Hashable]:
        """The lanes of the first and the last of records settled together: a batch is one
        lane's run, so these are its lanes but when several batches settle at once (a lane
        missed here only lets a streak open from fewer lanes, as before lanes counted)."""
        if not works:
            return []
        first, last = self._lane(works[0]), self._lane(works[-1])
        return [first] if first is not None and first == last else [first, last]

    def _close(self, probe: Work) -> None:
        self._probe = None
        breaker = self.breaker
        opened_at = breaker.since or time.time()
        breaker.close()
        held, self._held = self._held, []
        partitions = self._partitions
        for work in held:
            if partitions.epochs.get(work.tp) == work.epoch:
                self._pool.submit(work, self._lane(work))
        logger.warning(
            "breaker closed: the probe {}[{}]@{} succeeded after {:.1f}s open ({} probe(s)); "
            "{} held record(s) run again",
            probe.tp.topic,
            probe.tp.partition,
            probe.message.offset,
            time.time() - opened_at,
            breaker.probes,
            len(held),
        )

    # --- on the poll thread ---------------------------------------------------------------

    def tick(self) -> None:
        """Route failures no verdict will come for; start a probe when one is due."""
        partitions = self._partitions
        with partitions.lock:
            breaker = self.breaker
            idle = partitions.busy() <= len(breaker.pending) + self.waiting_behind()
            released = breaker.release_stale(idle)
            if breaker.probe_due() and self._probe is None:
                self._start_probe()
        for waiting in released:
            self._route(*waiting)

    def _start_probe(self) -> None:
        heads: list[int] = []
        lanes: set[Hashable] = set()
        for index, work in enumerate(self._held):
            lane = self._lane(work)
            if lane is None or lane not in lanes:
                heads.append(index)
                if lane is not None:
                    lanes.add(lane)
        if not heads:
            # Its records went to another member (a rebalance): the next ones are the probe.
            self.breaker.close()
            logger.warning("breaker closed: it holds no record to probe any more")
            return
        self._turn += 1
        self._probe_at = heads[self._turn % len(heads)]
        probe = self._held.pop(self._probe_at)
        self._probe = probe
        self.breaker.probe_started()
        self._pool.submit(probe, self._lane(probe))

    # --- rebalances and shutdown ----------------------------------------------------------

    def drop(self, predicate: Callable[[Work], bool]) -> list[Work]:
        """Remove the held and waiting records matching `predicate` (revoked partitions);
        returns them, for the caller to stop counting (the caller holds the lock)."""
        dropped = [w for w in self._held if predicate(w)]
        self._held = [w for w in self._held if not predicate(w)]
        pending = self.breaker.pending
        kept = [entry for entry in pending if not predicate(entry[1][0])]
        dropped += [entry[1][0] for entry in pending if predicate(entry[1][0])]
        pending.clear()
        pending.extend(kept)
        return dropped

    def release(self, predicate: Callable[[Work], bool]) -> None:
        """Route now the failures waiting for a verdict that match `predicate` (partitions being
        revoked: their drain cannot wait for a verdict, and a copy sent after the revoke would
        be a second one once the new owner fails the record again)."""
        with self._partitions.lock:
            pending = self.breaker.pending
            released = [entry[1] for entry in pending if predicate(entry[1][0])]
            if not released:
                return
            kept = [entry for entry in pending if not predicate(entry[1][0])]
            pending.clear()
            pending.extend(kept)
        for waiting in released:
            self._route(*waiting)

    def abandon_all(self) -> int:
        """At shutdown: held and waiting records stay uncommitted (read again next run)."""
        with self._partitions.lock:
            self._stopping = True
            dropped = self.drop(lambda w: True)
            for work in dropped:
                self._partitions.abandon(work)
        if dropped:
            logger.info(
                "{} record(s) held by the breaker or waiting for its verdict are not committed; "
                "they are read again on the next run",
                len(dropped),
            )
        return len(dropped)
