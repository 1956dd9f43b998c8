"""Crash recovery: which records of a target are the copies of the interrupted run."""

from __future__ import annotations

from collections import namedtuple

from kafkactl import headers as hdr
from kafkactl.ranges import RangeSet
from kafkactl.replay.checkpoint import Fence
from kafkactl.replay.recovery import copy_of

DLQ = "orders.billing.dlq"
CRec = namedtuple("CRec", "topic partition offset timestamp key value headers")
FENCE = Fence(1_000, ("t",))


def test_match_copy_only_takes_this_partitions_copies_from_after_the_fence():
    found = RangeSet()

    def copy(origin, at):
        return CRec("t", 0, 0, 0, None, b"", [(hdr.REPLAY_FROM, origin), (hdr.REPLAY_AT, at)])

    for origin, at in (
        (f"{DLQ}:0:12".encode(), b"1000"),
        (f"{DLQ}:0:13".encode(), b"999"),  # an earlier, committed run
        (f"{DLQ}:1:14".encode(), b"2000"),  # another partition
        (b"other.dlq:0:15", b"2000"),
        (f"{DLQ}:0:5".encode(), b"2000"),  # below the committed offset
    ):
        offset = copy_of(copy(origin, at), (DLQ, 0), FENCE, start=10)
        if offset is not None:
            found.add(offset)
    assert found.ranges() == [(12, 12)]


def test_a_copy_with_a_malformed_replay_at_is_not_taken_for_this_runs_copy():
    record = CRec(
        "t",
        0,
        0,
        0,
        None,
        b"",
        [(hdr.REPLAY_FROM, f"{DLQ}:0:12".encode()), (hdr.REPLAY_AT, b"soon")],
    )
    assert copy_of(record, (DLQ, 0), FENCE, start=10) is None
