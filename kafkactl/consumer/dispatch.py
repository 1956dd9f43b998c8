"""WorkerPool: runs work on N threads, one item at a time per lane (key or partition ordering)."""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from typing import Generic, Literal, TypeVar

from loguru import logger

# key: one at a time per (partition, key); partition: one at a time per partition; none: no lanes;
# key-strict: lanes of `key`, and a key's later records wait while it has one in the retry tiers
# (consumer/keyorder.py).
Ordering = Literal["key", "partition", "none", "key-strict"]
ORDERINGS: tuple[Ordering, ...] = ("key", "partition", "none", "key-strict")

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
    """Thread pool with lanes: items of one lane never run concurrently and keep their order."""

    def __init__(self, workers: int, run: Callable[[T], None], name: str = "worker") -> None:
        self._run = run
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
        if lane is None:
            lane = ("#", next(self._unique))
        with self._cond:
            queue = self._lanes.get(lane)
            if queue is None:
                self._lanes[lane] = deque((item,))
                self._ready.append(lane)
                self._cond.notify()
            else:
                queue.append(item)
            self._queued += 1

    def drop(self, predicate: Callable[[T], bool]) -> list[T]:
        """Remove queued (not yet running) items matching `predicate`; returns them."""
        dropped: list[T] = []
        with self._cond:
            for queue in self._lanes.values():
                if not queue:
                    continue
                # The head of a lane that is running is no longer queued; keep lanes intact.
                keep: deque[T] = deque()
                for item in queue:
                    (dropped if predicate(item) else keep).append(item)
                queue.clear()
                queue.extend(keep)
            self._queued -= len(dropped)
        return dropped

    @property
    def busy(self) -> int:
        """Items queued or running."""
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
                item = queue.popleft()
                self._queued -= 1
                self._running += 1
            try:
                self._run(item)
            except BaseException:
                # Whatever `run` let through (even a BaseException), the thread goes on: a
                # dead worker would strand its lane and every item queued behind it.
                logger.exception("worker failed unexpectedly")
            finally:
                with self._cond:
                    self._running -= 1
                    if queue:
                        self._ready.append(lane)
                        self._cond.notify()
                    else:
                        del self._lanes[lane]
                    self._cond.notify_all()

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
