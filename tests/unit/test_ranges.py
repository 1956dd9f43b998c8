"""RangeSet: sorted, disjoint, inclusive ranges of offsets."""

from __future__ import annotations

from kafkactl.ranges import RangeSet


def test_range_set_merges_splits_and_finds_gaps():
    rs = RangeSet()
    for o in (5, 7, 6, 1, 2, 10):
        rs.add(o)
    assert rs.ranges() == [(1, 2), (5, 7), (10, 10)]
    rs.add_range(3, 4)
    assert rs.ranges() == [(1, 7), (10, 10)]
    assert 4 in rs and 8 not in rs and 0 not in rs
    assert rs.first_missing(0) == 0
    assert rs.first_missing(1) == 8
    assert rs.first_missing(10) == 11
    assert rs.above(5) == [(6, 7), (10, 10)]
    rs.discard(3)
    assert rs.ranges() == [(1, 2), (4, 7), (10, 10)]
    rs.discard(10)
    rs.discard(99)
    assert rs.ranges() == [(1, 2), (4, 7)]
    rs.add_range(0, 20)
    assert rs.ranges() == [(0, 20)]
    rs.add_range(5, 2)  # empty
    assert len(rs) == 1
