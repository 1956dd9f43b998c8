"""RangeSet: a set of integers (offsets) kept as sorted, disjoint, inclusive ranges."""

from __future__ import annotations

import bisect
from collections.abc import Sequence


class RangeSet:
    """A set of offsets kept as sorted, disjoint, inclusive [start, end] ranges."""

    def __init__(self, ranges: Sequence[tuple[int, int]] = ()) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []
        for start, end in ranges:
            self.add_range(start, end)

    def __contains__(self, offset: int) -> bool:
        i = bisect.bisect_right(self._starts, offset) - 1
        return i >= 0 and self._ends[i] >= offset

    def __len__(self) -> int:
        return len(self._starts)

    def ranges(self) -> list[tuple[int, int]]:
        """The ranges, lowest first."""
        return list(zip(self._starts, self._ends, strict=True))

    def add(self, offset: int) -> None:
        """Add one offset."""
        self.add_range(offset, offset)

    def add_range(self, start: int, end: int) -> None:
        """Add every offset from `start` to `end` (inclusive); merges touching ranges."""
        if end < start:
            return
        lo = bisect.bisect_left(self._ends, start - 1)  # first range that ends at/after start-1
        hi = bisect.bisect_right(self._starts, end + 1)  # ranges starting at/before end+1
        if lo < hi:
            start = min(start, self._starts[lo])
            end = max(end, self._ends[hi - 1])
        self._starts[lo:hi] = [start]
        self._ends[lo:hi] = [end]

    def discard(self, offset: int) -> None:
        """Remove one offset (splitting its range)."""
        i = bisect.bisect_right(self._starts, offset) - 1
        if i < 0 or self._ends[i] < offset:
            return
        start, end = self._starts[i], self._ends[i]
        pieces = [(s, e) for s, e in ((start, offset - 1), (offset + 1, end)) if s <= e]
        self._starts[i : i + 1] = [s for s, _ in pieces]
        self._ends[i : i + 1] = [e for _, e in pieces]

    def first_missing(self, offset: int) -> int:
        """The lowest offset >= `offset` not in the set."""
        i = bisect.bisect_right(self._starts, offset) - 1
        if i >= 0 and self._ends[i] >= offset:
            return self._ends[i] + 1
        return offset

    def above(self, offset: int) -> list[tuple[int, int]]:
        """Ranges (clipped) of offsets greater than `offset`."""
        out = []
        i = max(0, bisect.bisect_right(self._starts, offset) - 1)
        for start, end in zip(self._starts[i:], self._ends[i:], strict=True):
            if end > offset:
                out.append((max(start, offset + 1), end))
        return out


def len_offsets(ranges: RangeSet) -> int:
    """How many offsets a RangeSet holds."""
    return sum(end - start + 1 for start, end in ranges.ranges())
