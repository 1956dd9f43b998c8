"""OffsetTracker: the commit point never passes an incomplete message."""

from kafkactl.consumer.offsets import OffsetTracker

TP = ("orders", 0)


def test_nothing_completed_commits_nothing():
    tracker = OffsetTracker()
    tracker.add_partition(TP)
    assert tracker.commit_point(TP) is None
    assert tracker.to_commit() == {}


def test_in_order_completion_moves_commit_point():
    tracker = OffsetTracker()
    for offset in range(3):
        tracker.track(TP, offset)
    tracker.complete(TP, 0)
    tracker.complete(TP, 1)
    assert tracker.commit_point(TP) == 2  # offset 2 is still in flight
    tracker.complete(TP, 2)
    assert tracker.commit_point(TP) == 3


def test_out_of_order_completion_waits_for_the_lowest():
    tracker = OffsetTracker()
    for offset in (10, 11, 12, 13):
        tracker.track(TP, offset)
    tracker.complete(TP, 12)
    tracker.complete(TP, 13)
    assert tracker.commit_point(TP) == 10
    tracker.complete(TP, 11)
    assert tracker.commit_point(TP) == 10
    tracker.complete(TP, 10)
    assert tracker.commit_point(TP) == 14


def test_gaps_in_offsets_are_fine():
    # Compacted topics and transaction markers leave gaps between fetched offsets.
    tracker = OffsetTracker()
    for offset in (5, 9, 20):
        tracker.track(TP, offset)
    tracker.complete(TP, 9)
    assert tracker.commit_point(TP) == 5
    tracker.complete(TP, 5)
    assert tracker.commit_point(TP) == 20
    tracker.complete(TP, 20)
    assert tracker.commit_point(TP) == 21


def test_partitions_are_independent():
    tracker = OffsetTracker()
    other = ("orders", 1)
    tracker.track(TP, 0)
    tracker.track(other, 0)
    tracker.complete(other, 0)
    assert tracker.to_commit() == {TP: 0, other: 1}


def test_to_commit_reports_only_moves_and_counts_progress():
    tracker = OffsetTracker()
    for offset in range(100, 105):
        tracker.track(TP, offset)
        tracker.complete(TP, offset)
    offsets = tracker.to_commit()
    assert offsets == {TP: 105}
    assert tracker.mark_committed(offsets) == 5
    assert tracker.to_commit() == {}
    tracker.track(TP, 105)
    tracker.complete(TP, 105)
    assert tracker.mark_committed(tracker.to_commit()) == 1


def test_revoked_partition_ignores_late_results():
    tracker = OffsetTracker()
    tracker.track(TP, 0)
    tracker.remove_partition(TP)
    assert tracker.complete(TP, 0) is False
    assert tracker.to_commit() == {}
    assert tracker.partitions() == []


def test_unknown_offset_completion_is_ignored():
    tracker = OffsetTracker()
    tracker.track(TP, 0)
    assert tracker.complete(TP, 7) is False
    assert tracker.commit_point(TP) == 0


def test_pending_counts():
    tracker = OffsetTracker()
    for offset in range(4):
        tracker.track(TP, offset)
    tracker.complete(TP, 2)
    assert tracker.pending(TP) == 3
    assert tracker.total_pending() == 3


def test_every_commit_point_is_sent_again_when_asked():
    """The final commit repeats points already committed: a retried older commit may have
    landed after them and moved the group back."""
    tracker = OffsetTracker()
    tracker.add_partition("p0")
    tracker.add_partition("p1")
    for offset in range(3):
        tracker.track("p0", offset)
        tracker.complete("p0", offset)
    tracker.track("p1", 0)
    tracker.complete("p1", 0)
    tracker.mark_committed(tracker.to_commit())
    assert tracker.to_commit() == {}
    assert tracker.to_commit(every=True) == {"p0": 3, "p1": 1}
    assert tracker.to_commit(["p1"], every=True) == {"p1": 1}
