"""Replay progress: the base-36 range codec, the commit metadata and fence, memo capacity."""

from __future__ import annotations

from kafkactl.kafka.ports import TopicPartition
from kafkactl.ranges import RangeSet
from kafkactl.replay.checkpoint import (
    MEMO_MAX_RANGES,
    METADATA_MAX_CHARS,
    Fence,
    PartitionProgress,
    decode_progress,
    decode_ranges,
    encode_progress,
    encode_ranges,
)

DLQ = "orders.billing.dlq"


def test_ranges_encode_compactly_and_round_trip():
    ranges = [(12, 12), (14, 50), (1_000_000, 1_000_100)]
    text = encode_ranges(10, ranges)
    assert text.startswith("2,1+10,") and text.endswith("+2s")  # gaps and lengths, base 36
    assert decode_ranges(10, text) == ranges
    assert decode_ranges(0, "") == []


def test_progress_metadata_round_trip():
    done = RangeSet([(3, 4), (9, 20)])
    text = encode_progress(1, done, Fence(1234, ("a.retry.1", "b")))
    assert len(text) < 100
    again, fence = decode_progress(1, text)
    assert again.ranges() == [(3, 4), (9, 20)]
    assert fence == Fence(1234, ("a.retry.1", "b"))
    assert decode_progress(1, encode_progress(1, done, None))[1] is None
    # Foreign or broken metadata is ignored.
    assert decode_progress(1, "")[0].ranges() == []
    assert decode_progress(1, "{not json")[0].ranges() == []
    assert decode_progress(1, '{"v":99,"done":"1"}')[0].ranges() == []


def test_oversized_metadata_keeps_the_low_ranges_and_the_runs_fence():
    done = RangeSet([(10 * i**3, 10 * i**3) for i in range(1, 2000)])
    run = Fence(5, ("t",))
    text = encode_progress(0, done, None, run)
    assert len(text) <= METADATA_MAX_CHARS
    kept, fence = decode_progress(0, text)
    assert kept.ranges() == done.ranges()[: len(kept)]
    assert fence == run, "dropped ranges must be findable again"


def test_memo_capacity():
    part = PartitionProgress(TopicPartition(DLQ, 0), 0, 10_000, None, RangeSet(), None)
    part.claimed.add_range(0, 9)
    assert not part.memo_full(10)  # extends the done prefix
    for i in range(MEMO_MAX_RANGES):
        part.claimed.add(20 + 2 * i)  # 11 is left out: one range each
    last = 20 + 2 * (MEMO_MAX_RANGES - 1)
    assert part.memo_full(last + 2)
    assert not part.memo_full(last + 1), "extending the last range needs no room"
    assert not part.memo_full(10)
