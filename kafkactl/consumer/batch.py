"""Batches: a worker's run of one lane's records, their successes settled together (DESIGN §6.5).

A worker takes the queued run of a lane at once and handles its records in order, one after
another, as it would one by one. What a record's success changes — the dedupe mark, the
`processed`/`deduplicated` counters and latencies, the OffsetTracker, in-flight counts, the
breaker's window — is gathered in `Settled` and settled under one lock acquisition each
(`Settler.flush`): before a failure is handed on, every worker's (the breaker sees outcomes in
order), at the batch's end, and FLUSH_AFTER_S after they finished at the latest (by the poll loop
while a later record of the batch runs long); after every record while the breaker is not
closed, with tracing and with `--ordering key-strict` (their state is per record).
A durable dedupe store (SQLite) is still marked the moment each handler returns.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from loguru import logger

from kafkactl.consumer.dedupe import DedupeStore
from kafkactl.consumer.holding import StormGuard
from kafkactl.consumer.state import Partitions, Work
from kafkactl.metrics import Metrics

# How long a batch's finished records may wait to be settled (and so committed) at most.
FLUSH_AFTER_S = 0.05
# How long a worker keeps a lane: past it the rest of the batch goes back to the lane's head and
# other lanes take their turn (slow handlers take lanes in turn, as one record at a time did).
BATCH_SLICE_S = 0.05


class Settled:
    """What a worker's batch finished and has not settled yet, in the order it finished.

    One per worker thread, reused batch after batch; its lock lets the poll loop settle what
    waits behind a long-running record (`Settler.flush_stale`).
    """

    __slots__ = ("latencies", "lock", "marked", "marks", "since", "skipped", "succeeded")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.succeeded: list[tuple[Work, float]] = []  # each with when its handler began
        self.latencies: list[float] = []
        self.marks: list[str] = []  # ids still to mark in a store that is not durable
        self.marked: set[str] = set()  # ids of this batch's successes not marked yet
        self.skipped: list[Work] = []  # deduplicated
        self.since: float | None = None  # when the oldest outcome here finished

    def success(self, work: Work, started: float, elapsed: float, mark: bool) -> None:
        """A handler returned; `mark`: its id still has to go to the dedupe store."""
        with self.lock:
            if self.since is None:
                self.since = started + elapsed
            self.succeeded.append((work, started))
            self.latencies.append(elapsed)
            if mark:
                message_id = work.message.message_id
                if message_id:
                    self.marks.append(message_id)
                    self.marked.add(message_id)

    def skip(self, work: Work) -> None:
        """A record settled without running (deduplicated)."""
        with self.lock:
            if self.since is None:
                self.since = time.perf_counter()
            self.skipped.append(work)

    def seen(self, message_id: str) -> bool:
        """True when an earlier record of this batch with the same id succeeded (its mark is
        still to come: a duplicate within one batch is deduplicated as across batches)."""
        return bool(message_id) and message_id in self.marked

    def clear(self) -> None:
        """Forget what was settled (the caller holds the lock)."""
        self.succeeded = []
        self.latencies = []
        self.marks = []
        self.marked = set()
        self.skipped = []
        self.since = None

    def __bool__(self) -> bool:
        return bool(self.succeeded or self.skipped)


class Settler:
    """Settles a batch's finished records: marks, counters, commit points, the breaker."""

    def __init__(
        self,
        group: str,
        dedupe: DedupeStore,
        metrics: Metrics,
        partitions: Partitions,
        guard: StormGuard,
        store_failed: Callable[[Exception], None],
        eager: bool = False,
    ) -> None:
        self._group = group
        self._dedupe = dedupe
        self._metrics = metrics
        self._partitions = partitions
        self._guard = guard
        self._store_failed = store_failed
        self._eager = eager  # settle after every record (tracing)
        self._local = threading.local()
        self._workers: list[Settled] = []  # each worker's, for flush_stale
        self._workers_lock = threading.Lock()
        # Set for --ordering key-strict: a complete record no longer holds its key back.
        self.strict_settled: Callable[[Work], None] | None = None

    def mine(self) -> Settled:
        """The calling worker's `Settled` (made on its first batch)."""
        settled: Settled | None = getattr(self._local, "settled", None)
        if settled is None:
            settled = self._local.settled = Settled()
            with self._workers_lock:
                self._workers.append(settled)
        return settled

    def flush_stale(self, every: bool = False) -> None:
        """Settle what a worker finished FLUSH_AFTER_S ago or more (`every`: all it finished)
        while a later record of its batch still runs (the poll loop, a revoke's drain)."""
        now = time.perf_counter()
        with self._workers_lock:
            workers = list(self._workers)
        for settled in workers:
            since = settled.since
            if since is not None and (every or now - since >= FLUSH_AFTER_S):
                self.flush(settled)

    def due(self, settled: Settled, now: float) -> bool:
        """True when what the batch finished should be settled now, not at its end."""
        since = settled.since
        return (
            self._eager
            or (since is not None and now - since >= FLUSH_AFTER_S)
            or self._guard.breaker.state != "closed"
            or self.strict_settled is not None
        )

    def flush(self, settled: Settled) -> None:
        """Settle everything gathered (the marks first: a success is recorded before its
        offset may be committed), and empty `settled`."""
        with settled.lock:
            if settled:
                self._flush_locked(settled)

    def _flush_locked(self, settled: Settled) -> None:
        done = [work for work, _ in settled.succeeded]
        done += settled.skipped
        try:
            self._count(settled)
        except BaseException as exc:  # a bug of ours: these stay unfinished, not lost
            logger.opt(exception=exc).error(
                "could not settle {} finished message(s) ({}: {}); they are not committed and "
                "will be redelivered",
                len(done),
                type(exc).__name__,
                exc,
            )
            for work in done:
                self._partitions.abandon(work)
            settled.clear()
            return
        succeeded, skipped = settled.succeeded, settled.skipped
        settled.clear()
        self._partitions.complete_many(done)
        if self.strict_settled is not None:
            for work in done:
                self.strict_settled(work)
        self._guard.settle(succeeded, skipped)

    def _count(self, settled: Settled) -> None:
        """The marks first (a success is recorded before its offset may be committed), then the
        counters and latencies."""
        if settled.marks:
            try:
                self._dedupe.mark_many(self._group, settled.marks)
            except Exception as exc:
                # The handlers did succeed: the messages stay complete; the run stops.
                self._store_failed(exc)
        self._metrics.settle(
            {"processed": len(settled.succeeded), "deduplicated": len(settled.skipped)},
            settled.latencies,
        )
