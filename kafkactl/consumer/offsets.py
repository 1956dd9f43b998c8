"""OffsetTracker: which offset of each partition is safe to commit (at-least-once)."""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar


@dataclass
class _PartitionState:
    # Offsets in the order they were fetched, each as [offset, done (0/1)]; a fetched offset
    # is always larger than the ones before it, so the left end is the lowest incomplete one.
    window: deque[list[int]] = field(default_factory=deque)
    index: dict[int, list[int]] = field(default_factory=dict)
    next_offset: int | None = None  # one past the highest offset completed in order
    committed: int | None = None
    first: int | None = None  # the first offset tracked, for counting committed progress


K = TypeVar("K", bound=Hashable)


class OffsetTracker(Generic[K]):
    """Per partition, the commit point is the lowest offset not yet complete.

    A message is complete when its handler succeeded or its retry/DLQ copy was acknowledged.
    Offsets may complete in any order; the commit point only moves over a contiguous done
    prefix, so a crash redelivers every message that was not finished: nothing is lost.
    Not thread-safe: the consumer guards it with its own lock.
    """

    def __init__(self) -> None:
        self._parts: dict[K, _PartitionState] = {}

    def add_partition(self, tp: K) -> None:
        """Start tracking a newly assigned partition (a no-op if already tracked)."""
        self._parts.setdefault(tp, _PartitionState())

    def remove_partition(self, tp: K) -> None:
        """Forget a revoked partition: late completions for it are ignored from now on."""
        self._parts.pop(tp, None)

    def partitions(self) -> list[K]:
        """The partitions being tracked."""
        return list(self._parts)

    def track(self, tp: K, offset: int) -> None:
        """Record that `offset` was fetched and handed to a worker."""
        state = self._parts.setdefault(tp, _PartitionState())
        if state.first is None:
            state.first = offset
        entry = [offset, 0]
        state.window.append(entry)
        state.index[offset] = entry

    def track_many(self, tp: K, offsets: list[int]) -> None:
        """`track` each of a partition's fetched offsets, in order."""
        if not offsets:
            return
        state = self._parts.setdefault(tp, _PartitionState())
        if state.first is None:
            state.first = offsets[0]
        entries = [[offset, 0] for offset in offsets]
        state.window.extend(entries)
        state.index.update(zip(offsets, entries, strict=True))

    def skip(self, tp: K, offset: int) -> None:
        """Record an offset that needs no work (e.g. a control record) as complete."""
        self.track(tp, offset)
        self.complete(tp, offset)

    def complete(self, tp: K, offset: int) -> bool:
        """Mark `offset` complete; False if the partition or offset is not tracked (late result)."""
        state = self._parts.get(tp)
        if state is None:
            return False
        entry = state.index.pop(offset, None)
        if entry is None:
            return False
        entry[1] = 1
        window = state.window
        while window and window[0][1]:
            state.next_offset = window.popleft()[0] + 1
        return True

    def pending(self, tp: K) -> int:
        """Messages of the partition handed out and not complete yet."""
        state = self._parts.get(tp)
        return len(state.index) if state else 0

    def total_pending(self) -> int:
        """Messages handed out and not complete, over every partition."""
        return sum(len(s.index) for s in self._parts.values())

    def commit_point(self, tp: K) -> int | None:
        """The offset to commit (the next one to read), or None if nothing completed yet."""
        state = self._parts.get(tp)
        if state is None:
            return None
        if state.window:
            return state.window[0][0]
        return state.next_offset

    def to_commit(self, partitions: list[K] | None = None, every: bool = False) -> dict[K, int]:
        """Commit points that moved since the last `mark_committed` (`every`: all of them)."""
        out = {}
        for tp in self._parts if partitions is None else partitions:
            state = self._parts.get(tp)
            point = self.commit_point(tp)
            if state is not None and point is not None and (every or point != state.committed):
                out[tp] = point
        return out

    def mark_committed(self, offsets: dict[K, int]) -> int:
        """Remember what was committed, so it is not sent again; returns messages it covered."""
        moved = 0
        for tp, offset in offsets.items():
            state = self._parts.get(tp)
            if state is None:
                continue
            previous = state.committed if state.committed is not None else state.first
            if state.committed is None or offset > state.committed:
                state.committed = offset
                moved += max(0, offset - (previous if previous is not None else offset))
        return moved
