"""WorkerPool: runs work on N threads, one run of items at a time per lane (key or partition
ordering), handed over in batches (DESIGN §6.5)."""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable
from typing import Generic, Literal, TypeVar

from loguru import logger

# key: one at a time per (partition, key); partition: one at a time per partition; none: no lanes;
# key-strict: lanes of `key`, and a key's later records wait while it has one in the retry tiers
# (consumer/keyorder.py).
Ordering = Literal["key", "partition", "none", "key-strict"]
ORDERINGS: tuple[Ordering, ...] = ("key", "partition", "none", "key-strict")

# The most items of one lane a worker takes at once: one lock acquisition hands over a run.
MAX_BATCH = 256

T = TypeVar("T")


def lane_for(ordering: Ordering, tp: Hashable, key: bytes | None) -> Hashable | None:
    """The lane of a message: same lane means one after another, in offset order.

    `key`: one lane per (partition, key) — a null key is its own lane per partition, so keyless
    records of a partition stay in order. `partition`: one lane per partition. `none`: no lane.
    """
    if ordering in ("key", "key-strict"):
        return (tp, key)
    if ordering == "partition":
        return tp
    return None


class WorkerPool(Generic[T]):
    """Thread pool with lanes: items of one lane never run concurrently and keep their order.

    A worker takes the queued run of one lane (up to `max_batch` items) under one lock
    acquisition and hands it to `run_batch`, which runs them in order and returns how many it
    ran (it may stop early: a slow run gives its lane's turn to the others); the rest go back to
    the head of the lane, and the lane to the back of the ready ones. The lane stays taken until
    the batch returns, so its later items wait for it. Without `run_batch`, `run` is called for
    each item of the batch in turn.
    """

    def __init__(
        self,
        workers: int,
        run: Callable[[T], None] | None = None,
        name: str = "worker",
        *,
        run_batch: Callable[[list[T]], int] | None = None,
        max_batch: int = MAX_BATCH,
    ) -> None:
        if run_batch is None:
            if run is None:
                raise ValueError("WorkerPool needs run or run_batch")
            run_batch = _one_by_one(run)
        self._run_batch = run_batch
        self._max_batch = max(1, max_batch)
        self._cond = threading.Condition()
        self._lanes: dict[Hashable, deque[T]] = {}
        self._ready: deque[Hashable] = deque()
        self._unique = itertools.count()
        self._queued = 0
        self._running = 0
        self._closed = False
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True)
            for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, item: T, lane: Hashable | None) -> None:
        """Queue `item` behind the other items of its lane (None: a lane of its own)."""
        with self._cond:
            self._queue(item, lane)

    def submit_many(self, items: Iterable[tuple[T, Hashable | None]]) -> None:
        """Queue each (item, lane) in turn, as `submit` does, under one lock acquisition."""
        lanes, queue = self._lanes, None
        last: Hashable | None = None
        with self._cond:
            for item, lane in items:
                if lane is None or lane != last or queue is None:
                    self._queue(item, lane)
                    last, queue = lane, lanes.get(lane)
                else:  # the lane of the item before: already queued, or taken by a worker
                    queue.append(item)
                    self._queued += 1

    def _queue(self, item: T, lane: Hashable | None) -> None:
        if lane is None:
            lane = ("#", next(self._unique))
        queue = self._lanes.get(lane)
        if queue is None:
            self._lanes[lane] = deque((item,))
            self._ready.append(lane)
            self._cond.notify()
        else:
            queue.append(item)
        self._queued += 1

    def drop(self, predicate: Callable[[T], bool]) -> list[T]:
        """Remove queued (not yet taken by a worker) items matching `predicate`; returns them.

        Items a worker already took in a batch are its own: the batch's runner skips those no
        longer wanted (consumer/batch.py checks each record's partition before running it).
        """
        dropped: list[T] = []
        with self._cond:
            for queue in self._lanes.values():
                if not queue:
                    continue
                keep: deque[T] = deque()
                for item in queue:
                    (dropped if predicate(item) else keep).append(item)
                queue.clear()
                queue.extend(keep)
            self._queued -= len(dropped)
        return dropped

    @property
    def busy(self) -> int:
        """Items queued or taken by a worker."""
        with self._cond:
            return self._queued + self._running

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._ready and not self._closed:
                    self._cond.wait()
                if self._closed and not self._ready:
                    return
                lane = self._ready.popleft()
                queue = self._lanes[lane]
                if not queue:
                    # Its items were dropped while it waited.
                    del self._lanes[lane]
                    continue
                if len(queue) <= self._max_batch:
                    batch = list(queue)
                    queue.clear()
                else:
                    batch = [queue.popleft() for _ in range(self._max_batch)]
                taken = len(batch)
                self._queued -= taken
                self._running += taken
            ran = taken
            try:
                ran = self._run_batch(batch)
            except BaseException:
                # Whatever `run_batch` let through (even a BaseException), the thread goes on:
                # a dead worker would strand its lane and every item queued behind it.
                logger.exception("worker failed unexpectedly")
            finally:
                with self._cond:
                    self._running -= taken
                    if 0 <= ran < taken:  # not started: queued again, at the lane's head
                        queue.extendleft(reversed(batch[ran:]))
                        self._queued += taken - ran
                    if queue:
                        self._ready.append(lane)
                        self._cond.notify()
                    else:
                        del self._lanes[lane]
                    self._cond.notify_all()

    def wait_until(self, done: Callable[[], bool], timeout: float) -> bool:
        """Wait until `done()` (asked whenever a batch ends); False on timeout."""
        with self._cond:
            return self._cond.wait_for(done, timeout)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is queued or running; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._queued + self._running == 0, timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Stop the threads after the queued items ran, waiting `timeout` in all at most.

        A thread still inside an item past the timeout is left behind (a daemon thread: it
        does not keep the process alive).
        """
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))


def _one_by_one(run: Callable[[T], None]) -> Callable[[list[T]], int]:
    """A batch runner calling `run` on each item; what one lets through is logged, the rest
    of the batch still runs (a worker never dies, its lane never stalls)."""

    def run_batch(batch: list[T]) -> int:
        for item in batch:
            try:
                run(item)
            except BaseException:
                logger.exception("worker failed unexpectedly")
        return len(batch)

    return run_batch
