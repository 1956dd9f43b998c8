"""The replay checkpoint: what is done per DLQ partition, and how it is kept in the commit metadata.

Progress lives in the replay consumer group (default `kafkactl-replay.<dlq>`, the name
`health` uses for the DLQ depth). A record is *done* once its copy is acknowledged (acks=all),
or it was parked. The committed offset is the lowest record that is not done, so a record a
filter left out, or one that failed, keeps the committed offset from moving past it: a later
replay with other filters still sees it. So that such a later run does not send again what was
already replayed beyond that point, the done offsets above the committed offset are kept in the
commit's metadata (compact base-36 offset ranges; at most MEMO_MAX_RANGES ranges per partition -
when they run out, the partition stops early with a warning and the next run continues). A
second run with the same flags therefore replays nothing new. (`health` reads only the committed
offset, so records remembered above it still count in its DLQ depth until the records before
them are replayed too.)

The fence: before the first copy goes to a target topic, the commit metadata records the time
and the target topics of the run (see `recovery`). A run that ends cleanly drops it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
from loguru import logger

from kafkactl.errors import KafkactlError
from kafkactl.kafka.admin_port import AdminPort
from kafkactl.kafka.ports import ConsumerPort, TopicPartition
from kafkactl.ranges import RangeSet, len_offsets

if TYPE_CHECKING:
    from kafkactl.replay.model import ReplayStop, ReplaySummary

# Done ranges remembered above the committed offset, per partition.
MEMO_MAX_RANGES = 150
# Kafka's default offset.metadata.max.bytes is 4096.
METADATA_MAX_CHARS = 3900
PROGRESS_FORMAT = 1


# --- the metadata codec -----------------------------------------------------------------------


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if not n:
            return out


def encode_ranges(base: int, ranges: Sequence[tuple[int, int]]) -> str:
    """Ranges above `base` as `gap[+len]` items in base 36, gaps counted from the previous end."""
    items = []
    cursor = base
    for start, end in ranges:
        item = _b36(start - cursor)
        if end > start:
            item += "+" + _b36(end - start)
        items.append(item)
        cursor = end + 1
    return ",".join(items)


def decode_ranges(base: int, text: str) -> list[tuple[int, int]]:
    """The inverse of encode_ranges."""
    out = []
    cursor = base
    for item in filter(None, text.split(",")):
        gap, _, length = item.partition("+")
        start = cursor + int(gap, 36)
        end = start + (int(length, 36) if length else 0)
        out.append((start, end))
        cursor = end + 1
    return out


@dataclass(frozen=True)
class Fence:
    """A run's pledge, committed before its first copy to each target: when, and where to."""

    ts: int
    topics: tuple[str, ...]


def encode_progress(
    offset: int, done: RangeSet, fence: Fence | None, run_fence: Fence | None = None
) -> str:
    """Commit metadata: the done ranges above the committed `offset`, and the fence if any.

    Too long for the broker: the highest ranges are left out and `run_fence` (the run's first
    fence time, all its targets) is kept instead, so the next run finds those copies again.
    """
    ranges = done.above(offset)
    doc: dict[str, Any] = {"v": PROGRESS_FORMAT, "done": encode_ranges(offset, ranges)}
    if fence is not None:
        doc["fence"] = [fence.ts, list(fence.topics)]
    text = orjson.dumps(doc).decode()
    while len(text) > METADATA_MAX_CHARS and ranges:
        ranges = ranges[: len(ranges) // 2]
        doc["done"] = encode_ranges(offset, ranges)
        if run_fence is not None:
            doc["fence"] = [run_fence.ts, list(run_fence.topics)]
        text = orjson.dumps(doc).decode()
    return text


def decode_progress(offset: int, metadata: str | None) -> tuple[RangeSet, Fence | None]:
    """The done ranges and fence from commit metadata (anything unreadable: nothing)."""
    if not metadata:
        return RangeSet(), None
    try:
        doc = orjson.loads(metadata)
        if not isinstance(doc, dict) or doc.get("v") != PROGRESS_FORMAT:
            return RangeSet(), None
        done = RangeSet(decode_ranges(offset, str(doc.get("done", ""))))
        fence = None
        if doc.get("fence"):
            ts, topics = doc["fence"]
            fence = Fence(int(ts), tuple(str(t) for t in topics))
        return done, fence
    except (orjson.JSONDecodeError, ValueError, TypeError):
        logger.warning("replay progress metadata is unreadable; starting at the committed offset")
        return RangeSet(), None


# --- one partition's progress -------------------------------------------------------------------


@dataclass
class PartitionProgress:
    """Replay state of one DLQ partition: its range, what was committed, what is done now."""

    tp: TopicPartition
    begin: int
    end: int
    committed: int | None
    memo: RangeSet
    fence: Fence | None
    start: int = 0
    done: RangeSet = field(default_factory=RangeSet)
    claimed: RangeSet = field(default_factory=RangeSet)  # done + in flight
    pending: int = 0
    fence_ts: int | None = None  # moves up whenever every copy sent so far is accounted for
    first_fence_ts: int | None = None
    fence_topics: list[str] = field(default_factory=list)
    recovered: RangeSet | None = None  # found by crash recovery (cached between passes)
    touched: bool = False  # something to commit this run

    @property
    def partition(self) -> int:
        return self.tp.partition

    def reset(self, from_beginning: bool) -> None:
        """Fresh per-pass state from what was committed when the replay opened."""
        if from_beginning or self.committed is None:
            self.start = self.begin
        else:
            self.start = max(self.committed, self.begin)
        self.done = RangeSet(() if from_beginning else self.memo.ranges())
        if self.recovered is not None:
            for start, end in self.recovered.ranges():
                self.done.add_range(start, end)
        self.claimed = RangeSet(self.done.ranges())
        self.pending = 0
        self.fence_ts = self.first_fence_ts = None
        self.fence_topics = []
        self.touched = False

    def mark_done(self, start: int, end: int) -> None:
        """Offsets `start` to `end` need nothing more (no record there, parked, or recovered)."""
        self.done.add_range(start, end)
        self.claimed.add_range(start, end)

    def mark_recovered(self) -> int:
        """Mark the copies crash recovery found (`recovered`) done; how many offsets."""
        recovered = self.recovered or RangeSet()
        for start, end in recovered.ranges():
            self.mark_done(start, end)
        return len_offsets(recovered)

    def watermark(self) -> int:
        """The offset to commit: the lowest one not done."""
        return self.done.first_missing(self.start)

    def memo_full(self, offset: int) -> bool:
        """Would marking `offset` done need one range more than the metadata may hold?"""
        low = self.claimed.first_missing(self.start)
        if offset == low or (offset - 1) in self.claimed:
            return False  # extends the done prefix or the last range
        return len(self.claimed.above(low)) >= MEMO_MAX_RANGES

    def commit_point(self, now_ms: Callable[[], int], final: bool) -> tuple[int, str, Fence | None]:
        """(offset, metadata, fence) to commit now; the fence stays while a copy may be
        unaccounted for (and after a final commit only if some copies never settled)."""
        offset = self.watermark()
        settled = self.pending == 0
        if settled and self.fence_topics and not final:
            # Everything sent so far is in `done`: the fence can move up to now.
            self.fence_ts = now_ms()
            if self.first_fence_ts is None:
                self.first_fence_ts = self.fence_ts
        fence = run_fence = None
        if self.fence_topics:
            run_fence = Fence(self.first_fence_ts or now_ms(), tuple(self.fence_topics))
            if not (final and settled):
                fence = Fence(self.fence_ts or run_fence.ts, run_fence.topics)
        return offset, encode_progress(offset, self.done, fence, run_fence), fence


def load_progress(
    consumer: ConsumerPort, admin: AdminPort, group: str, tps: list[TopicPartition]
) -> list[PartitionProgress]:
    """Each partition's range (its watermarks now) and the progress `group` committed on it."""
    marks = consumer.watermarks(tps)
    committed = admin.committed(group, tps)
    parts = []
    for tp in tps:
        meta = committed.get(tp)
        offset = meta.offset if meta is not None else None
        memo, fence = RangeSet(), None
        if meta is not None:
            memo, fence = decode_progress(meta.offset, meta.metadata)
        begin, end = marks[tp]
        parts.append(PartitionProgress(tp, begin, end, offset, memo, fence))
    return parts


def commit_checkpoint(
    consumer: ConsumerPort,
    group: str,
    part: PartitionProgress,
    summary: ReplaySummary,
    lock: threading.Lock,
    now_ms: Callable[[], int],
    *,
    final: bool = False,
    required: bool = False,
    stop: Callable[[ReplayStop], None],
) -> None:
    """Commit the watermark and memo, with the fence while a copy may be unaccounted for; a
    `required` commit that fails stops the run (KafkactlError), another is retried later."""
    with lock:
        offset, metadata, fence = part.commit_point(now_ms, final)
    try:
        consumer.commit({part.tp: offset}, metadata={part.tp: metadata})
    except Exception as exc:
        if required:
            stop("commit failed")
            raise KafkactlError(
                f"could not commit replay progress to group {group}: {exc}; nothing more was sent"
            ) from None
        logger.warning("committing replay progress failed (will retry): {}", exc)
        return
    summary.committed[f"{part.tp.topic}:{part.partition}"] = offset
    if final and fence is not None:
        logger.warning(
            "partition {}: {} copies were not acknowledged in time; the next run looks "
            "for them in {} before replaying",
            part.partition,
            part.pending,
            ", ".join(part.fence_topics),
        )
