"""DLQ replay engine (SPEC §11): read dead letters, pick a target, republish, keep progress.

No Typer or Rich here: the CLI (cli/replay.py) parses flags and renders (render/replay.py).

Reading a dead letter
    The origin of a record comes from, in this order: kafkactl's own headers (SPEC §8), Kafka
    Connect's `__connect.errors.*` (text values) and Spring Kafka's `kafka_dlt-*` headers
    (partition and offset as big-endian 4- and 8-byte ints). The error class and message
    filters read the same three families.

Targets (`--to`)
    `retry` (default): tier 1 of the group that failed the record (`kafkactl.group`, else
    `--group`, else Spring's `kafka_dlt-original-consumer-group`), so only that group sees it
    again. The copy carries no `kafkactl.not-before`, i.e. it is due at once, with no
    dependence on the clocks of the replaying and the consuming host. `original`: the topic
    the record first failed on. Anything else is a topic name. A record whose target cannot
    be worked out (no original topic, no group, target topic missing) is counted as failed,
    with the reason, and stays in the DLQ for a later run.

The copy
    Key, value, `message-id` and every other header are kept; the retry state of SPEC §8 is
    removed; `kafkactl.replay.count` (+1), `.at` and `.from` (`dlq:partition:offset`) are set
    exactly once. Where the origin came from Connect or Spring headers, `kafkactl.original.*`
    (and, for the retry target, `kafkactl.group`) are filled in so a later failure in the
    kafkactl pipeline keeps pointing at the real origin. A record already replayed
    `max_replays` times is not sent again: it is counted as parked.

Progress, and why filters never hide records
    Progress lives in the replay consumer group (default `kafkactl-replay.<dlq>`, the name
    `health` uses for the DLQ depth). Partitions are assigned explicitly (no rebalancing) and
    read one after the other, from the committed offset up to the end offset taken when the
    run started. A record is *done* once its copy is acknowledged (acks=all), or it was parked.
    The committed offset is the lowest record that is not done, so a record a filter left
    out, or one that failed, keeps the committed offset from moving past it: a later replay
    with other filters still sees it. So that such a later run does not send again what was
    already replayed beyond that point, the done offsets above the committed offset are kept
    in the commit's metadata (compact offset ranges; at most MEMO_MAX_RANGES ranges per
    partition - when they run out, the partition stops early with a warning and the next run
    continues). A second run with the same flags therefore replays nothing new. (`health`
    reads only the committed offset, so records remembered above it still count in its DLQ
    depth until the records before them are replayed too.)

Crashes (kill -9)
    Before the first copy goes to a target topic, the commit metadata records a fence: the
    time and the target topics of this run. A run that ends cleanly drops the fence. A run
    that finds a fence (its predecessor died between an acknowledgement and a commit) first
    reads those targets from the fence time on and treats every copy whose
    `kafkactl.replay.from` names one of its offsets (and whose `kafkactl.replay.at` is not
    older than the fence) as done. So an interrupted replay, however it was interrupted,
    resumes without duplicates and without gaps (as long as the target still holds the
    copies, i.e. within its retention).

Not covered: two replays of the same DLQ running at the same time (nothing stops them, and
they would both send the same records).
"""

from __future__ import annotations

import bisect
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import orjson
from loguru import logger

from kafkactl import headers as hdr
from kafkactl.config import Settings
from kafkactl.errors import KafkactlError, UsageError
from kafkactl.metrics import Metrics
from kafkactl.names import shell_command
from kafkactl.topology import default_message_id, retry_topic

# Kafka Connect dead-letter headers (values are UTF-8 text).
CONNECT_TOPIC = "__connect.errors.topic"
CONNECT_PARTITION = "__connect.errors.partition"
CONNECT_OFFSET = "__connect.errors.offset"
CONNECT_ERROR_CLASS = "__connect.errors.exception.class.name"
CONNECT_ERROR_MESSAGE = "__connect.errors.exception.message"

# Spring Kafka dead-letter headers (partition: 4-byte, offset and timestamp: 8-byte big-endian).
SPRING_TOPIC = "kafka_dlt-original-topic"
SPRING_PARTITION = "kafka_dlt-original-partition"
SPRING_OFFSET = "kafka_dlt-original-offset"
SPRING_TIMESTAMP = "kafka_dlt-original-timestamp"
SPRING_GROUP = "kafka_dlt-original-consumer-group"
SPRING_ERROR_CLASS = "kafka_dlt-exception-fqcn"
SPRING_CAUSE_CLASS = "kafka_dlt-exception-cause-fqcn"
SPRING_ERROR_MESSAGE = "kafka_dlt-exception-message"

TO_RETRY = "retry"
TO_ORIGINAL = "original"

# Done ranges remembered above the committed offset, per partition (see the module docstring).
MEMO_MAX_RANGES = 150
# Kafka's default offset.metadata.max.bytes is 4096.
METADATA_MAX_CHARS = 3900
# How far before the fence time the crash recovery starts reading a target (clock slack).
RECOVERY_MARGIN_MS = 5 * 60_000
PROGRESS_FORMAT = 1


# --- reading dead letters -------------------------------------------------------------------


@dataclass(frozen=True)
class DeadLetter:
    """One DLQ record and what its headers say about where and why it failed."""

    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: hdr.Headers
    style: str  # kafkactl | connect | spring | unknown
    original_topic: str | None = None
    original_partition: int | None = None
    original_offset: int | None = None
    original_timestamp: int | None = None
    group: str | None = None  # kafkactl.group
    foreign_group: str | None = None  # Spring's original consumer group
    error_classes: tuple[str, ...] = ()
    error_message: str | None = None
    replay_count: int = 0
    # kafkactl's numeric headers that are present but not a whole number in range: (name, raw)
    malformed: tuple[tuple[str, str], ...] = ()

    @property
    def error_class(self) -> str | None:
        """The main error class, if any header names one."""
        return self.error_classes[0] if self.error_classes else None

    def error_text(self) -> str:
        """`Class: message` for tables and logs."""
        parts = [p for p in (self.error_class, self.error_message) if p]
        return ": ".join(parts)

    def key_text(self) -> str | None:
        """The key as text (invalid UTF-8 replaced)."""
        return None if self.key is None else self.key.decode("utf-8", "replace")


def decode_int(raw: bytes | None) -> int | None:
    """A Spring-style header int: 4- or 8-byte big-endian signed, else decimal text, else None."""
    if raw is None:
        return None
    if len(raw) in (4, 8):
        return int.from_bytes(raw, "big", signed=True)
    try:
        return int(raw.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        return None


def _text_int(raw: bytes | None) -> int | None:
    if raw is None:
        return None
    try:
        return int(raw.decode("utf-8").strip())
    except (UnicodeDecodeError, ValueError):
        return None


_DECIMAL = re.compile(r"[0-9]{1,19}")
# kafkactl's numeric headers a replay reads, and the largest value each may hold.
NUMERIC_HEADERS = {
    hdr.ORIGINAL_PARTITION: 2**31 - 1,
    hdr.ORIGINAL_OFFSET: 2**63 - 1,
    hdr.ORIGINAL_TIMESTAMP: 2**63 - 1,
    hdr.REPLAY_COUNT: 2**31 - 1,
}


def header_int(headers: hdr.Headers, name: str, high: int) -> tuple[int | None, str | None]:
    """(value, None) for a decimal header from 0 to `high`; (None, raw) when it is present but
    not that (negative, fractional, not a number, not UTF-8); (None, None) when absent."""
    raw = hdr.get(headers, name)
    if raw is None:
        return None, None
    text = raw.decode("utf-8", "backslashreplace")
    if _DECIMAL.fullmatch(text) and int(text) <= high:
        return int(text), None
    return None, text[:40]


def read_dead_letter(record: Any) -> DeadLetter:
    """Parse a consumed DLQ record (kafka-python ConsumerRecord or alike)."""
    headers = hdr.normalize(record.headers)
    text = partial(hdr.get_text, headers)
    style = "unknown"
    topic = partition = offset = timestamp = None
    numbers: dict[str, int | None] = {}
    malformed: list[tuple[str, str]] = []
    for name, high in NUMERIC_HEADERS.items():
        numbers[name], bad = header_int(headers, name, high)
        if bad is not None:
            malformed.append((name, bad))
    if text(hdr.ORIGINAL_TOPIC):
        style = "kafkactl"
        topic = text(hdr.ORIGINAL_TOPIC)
        partition = numbers[hdr.ORIGINAL_PARTITION]
        offset = numbers[hdr.ORIGINAL_OFFSET]
        timestamp = numbers[hdr.ORIGINAL_TIMESTAMP]
    elif text(CONNECT_TOPIC):
        style = "connect"
        topic = text(CONNECT_TOPIC)
        partition = _text_int(hdr.get(headers, CONNECT_PARTITION))
        offset = _text_int(hdr.get(headers, CONNECT_OFFSET))
    elif text(SPRING_TOPIC):
        style = "spring"
        topic = text(SPRING_TOPIC)
        partition = decode_int(hdr.get(headers, SPRING_PARTITION))
        offset = decode_int(hdr.get(headers, SPRING_OFFSET))
        timestamp = decode_int(hdr.get(headers, SPRING_TIMESTAMP))
    classes = tuple(
        c
        for c in (
            text(hdr.ERROR_CLASS),
            text(CONNECT_ERROR_CLASS),
            text(SPRING_ERROR_CLASS),
            text(SPRING_CAUSE_CLASS),
        )
        if c
    )
    message = text(hdr.ERROR_MESSAGE) or text(CONNECT_ERROR_MESSAGE) or text(SPRING_ERROR_MESSAGE)
    return DeadLetter(
        partition=record.partition,
        offset=record.offset,
        timestamp=record.timestamp,
        key=record.key,
        value=record.value,
        headers=headers,
        style=style,
        original_topic=topic,
        original_partition=partition,
        original_offset=offset,
        original_timestamp=timestamp,
        group=text(hdr.GROUP) or None,
        foreign_group=text(SPRING_GROUP) or None,
        error_classes=classes,
        error_message=message,
        replay_count=numbers[hdr.REPLAY_COUNT] or 0,
        malformed=tuple(malformed),
    )


# --- filters and targets --------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """Which dead letters to replay; every given filter must match (a repeated flag: any value).

    `since_ms` (inclusive) and `until_ms` (exclusive) compare with the DLQ record's timestamp,
    i.e. when it was dead-lettered. `error_contains` is a case-insensitive substring of the
    error message; `error_classes` match the full class name or its last dotted part.
    """

    since_ms: int | None = None
    until_ms: int | None = None
    keys: tuple[bytes, ...] = ()
    error_contains: tuple[str, ...] = ()
    error_classes: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        """True when any record filter is set."""
        return bool(
            self.since_ms is not None
            or self.until_ms is not None
            or self.keys
            or self.error_contains
            or self.error_classes
        )

    def matches(self, dl: DeadLetter) -> bool:
        """Whether the dead letter passes every filter."""
        if self.since_ms is not None and dl.timestamp < self.since_ms:
            return False
        if self.until_ms is not None and dl.timestamp >= self.until_ms:
            return False
        if self.keys and dl.key not in self.keys:
            return False
        if self.error_contains:
            message = (dl.error_message or "").casefold()
            if not any(text.casefold() in message for text in self.error_contains):
                return False
        return not self.error_classes or any(
            _class_matches(have, want) for have in dl.error_classes for want in self.error_classes
        )


def _class_matches(have: str, want: str) -> bool:
    return have == want or have.rsplit(".", 1)[-1] == want


@dataclass(frozen=True)
class Decision:
    """What to do with one dead letter: replay (to target), parked, failed (reason), filtered."""

    action: str
    target: str | None = None
    reason: str | None = None


def target_for(
    dl: DeadLetter, to: str, settings: Settings, dlq: str, fallback_group: str | None
) -> tuple[str | None, str | None]:
    """(target topic, None) or (None, why there is none) for `--to retry|original|TOPIC`."""
    if to in (TO_RETRY, TO_ORIGINAL) and not dl.original_topic:
        return None, (
            "no original topic in its headers (not a kafkactl, Kafka Connect or Spring Kafka "
            "dead letter); use --to TOPIC"
        )
    if to == TO_ORIGINAL:
        target = dl.original_topic
    elif to == TO_RETRY:
        group = dl.group or fallback_group or dl.foreign_group
        if not group:
            return None, (
                "no consumer group: it has no kafkactl.group header; pass --group G "
                "(with --dlq when TOPIC is the DLQ) or use --to original"
            )
        target = retry_topic(settings, dl.original_topic or "", 1, group)
    else:
        target = to
    if target == dlq:
        return None, "its target is the DLQ itself"
    return target, None


def decide(
    dl: DeadLetter,
    *,
    filters: Filters,
    to: str,
    settings: Settings,
    dlq: str,
    fallback_group: str | None,
    max_replays: int,
) -> Decision:
    """Filters first, then parking (also for a malformed kafkactl header), then the target."""
    if not filters.matches(dl):
        return Decision("filtered")
    if dl.malformed:
        name, raw = dl.malformed[0]
        return Decision(
            "parked",
            reason=f"malformed {name} header {raw!r} (not a whole number from 0); not replayed",
        )
    if dl.replay_count >= max_replays:
        return Decision("parked", reason=f"replayed {dl.replay_count} times already")
    target, reason = target_for(dl, to, settings, dlq, fallback_group)
    if target is None:
        return Decision("failed", reason=reason)
    return Decision("replay", target)


def replay_group_for(dl: DeadLetter, fallback_group: str | None) -> str | None:
    """The group the retry target belongs to."""
    return dl.group or fallback_group or dl.foreign_group


def replay_headers(
    dl: DeadLetter,
    dlq: str,
    now_ms: int,
    group: str | None = None,
) -> hdr.Headers:
    """Headers of the replayed copy (see the module docstring); `group` only for --to retry."""
    out = hdr.replace(list(dl.headers), dict.fromkeys(hdr.RETRY_STATE))
    if dl.original_topic and dl.original_partition is not None and dl.original_offset is not None:
        # What the consumer would have used for a record without one, so dedupe agrees.
        default_id = default_message_id(
            dl.original_topic, dl.original_partition, dl.original_offset
        )
    else:
        default_id = default_message_id(dlq, dl.partition, dl.offset)
    out = hdr.set_once(out, hdr.MESSAGE_ID, default_id)
    if dl.original_topic:
        out = hdr.set_once(out, hdr.ORIGINAL_TOPIC, dl.original_topic)
        for name, value in (
            (hdr.ORIGINAL_PARTITION, dl.original_partition),
            (hdr.ORIGINAL_OFFSET, dl.original_offset),
            (hdr.ORIGINAL_TIMESTAMP, dl.original_timestamp),
        ):
            if value is not None:
                out = hdr.set_once(out, name, value)
    if group:
        out = hdr.set_once(out, hdr.GROUP, group)
    return hdr.replace(
        out,
        {
            hdr.REPLAY_COUNT: dl.replay_count + 1,
            hdr.REPLAY_AT: now_ms,
            hdr.REPLAY_FROM: replay_from(dlq, dl.partition, dl.offset),
        },
    )


def replay_from(dlq: str, partition: int, offset: int) -> str:
    """The `kafkactl.replay.from` value: `dlq-topic:partition:offset`."""
    return f"{dlq}:{partition}:{offset}"


def parse_replay_from(text: str | None) -> tuple[str, int, int] | None:
    """(dlq, partition, offset) from a `kafkactl.replay.from` value (topics never contain ':')."""
    if not text:
        return None
    parts = text.rsplit(":", 2)
    if len(parts) != 3:
        return None
    try:
        return parts[0], int(parts[1]), int(parts[2])
    except ValueError:
        return None


# --- progress: offset ranges and the commit metadata ----------------------------------------


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


# --- pacing ---------------------------------------------------------------------------------


class RateLimiter:
    """A token bucket: `rate` records/s, bursts of at most `burst`; waits without spinning."""

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate / 10)
        self._clock = clock
        self._tokens = 1.0
        self._last = clock()

    def delay(self) -> float:
        """Seconds to wait before the next record may go (0: now)."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        return 0.0 if self._tokens >= 1.0 else (1.0 - self._tokens) / self.rate

    def take(self) -> None:
        """Spend one token (after delay() said 0)."""
        self._tokens -= 1.0

    def acquire(self, stop: threading.Event) -> bool:
        """Wait for a token; False if `stop` was set meanwhile."""
        while True:
            wait = self.delay()
            if wait <= 0:
                self.take()
                return True
            if stop.wait(wait):
                return False


# --- the engine -----------------------------------------------------------------------------


@dataclass
class ReplayOptions:
    """What to replay, where to, and how (the `replay-dlq` flags)."""

    dlq: str
    to: str = TO_RETRY
    group: str | None = None
    replay_group: str | None = None
    filters: Filters = field(default_factory=Filters)
    partitions: tuple[int, ...] = ()
    limit: int | None = None
    max_replays: int = 3
    rate: float | None = None
    from_beginning: bool = False
    commit_interval: float = 1.0
    flush_timeout: float = 60.0
    max_rows: int = 10_000
    poll_timeout_ms: int = 200


@dataclass
class PlanRow:
    """One dead letter as the dry run shows it."""

    partition: int
    offset: int
    key: str | None
    original_topic: str | None
    error: str
    action: str  # replay | parked | failed
    target: str | None
    reason: str | None = None


@dataclass
class ReplaySummary:
    """Counts of a replay (or of a dry run: what it would do) and how it ended."""

    dlq: str
    replay_group: str
    to: str
    dry_run: bool
    scanned: int = 0
    matched: int = 0
    replayed: int = 0
    skipped: int = 0
    parked: int = 0
    failed: int = 0
    filtered: int = 0
    targets: dict[str, int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    committed: dict[str, int] = field(default_factory=dict)
    recovered: int = 0
    stopped_by: str = "end"
    warnings: list[str] = field(default_factory=list)
    rows: list[PlanRow] = field(default_factory=list)
    rows_omitted: int = 0
    seconds: float = 0.0
    metrics: dict[str, Any] = field(default_factory=dict)
    total: int = 0  # records in the range to scan

    @property
    def to_replay(self) -> int:
        """Records a run would send (dry run / plan) or sent (run)."""
        return sum(self.targets.values())

    def as_dict(self, rows: bool = True) -> dict[str, Any]:
        """JSON-ready form."""
        out: dict[str, Any] = {
            "dlq": self.dlq,
            "replay_group": self.replay_group,
            "to": self.to,
            "dry_run": self.dry_run,
            "scanned": self.scanned,
            "matched": self.matched,
            "replayed": self.replayed,
            "skipped": self.skipped,
            "parked": self.parked,
            "failed": self.failed,
            "filtered": self.filtered,
            "recovered": self.recovered,
            "targets": dict(self.targets),
            "failures": dict(self.failures),
            "committed": dict(self.committed),
            "stopped_by": self.stopped_by,
            "warnings": list(self.warnings),
            "seconds": round(self.seconds, 3),
        }
        if self.metrics:
            out["metrics"] = self.metrics
        if rows and self.dry_run:
            out["records"] = [r.__dict__ for r in self.rows]
            out["records_omitted"] = self.rows_omitted
        return out


@dataclass
class _Partition:
    """Replay state of one DLQ partition."""

    tp: Any
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

    def watermark(self) -> int:
        """The offset to commit: the lowest one not done."""
        return self.done.first_missing(self.start)

    def memo_full(self, offset: int) -> bool:
        """Would marking `offset` done need one range more than the metadata may hold?"""
        low = self.claimed.first_missing(self.start)
        if offset == low or (offset - 1) in self.claimed:
            return False  # extends the done prefix or the last range
        return len(self.claimed.above(low)) >= MEMO_MAX_RANGES


class ReplayEngine:
    """Runs one replay of one DLQ: `open()`, then `plan()` (dry run) and/or `run()`, `close()`.

    Threads: the caller's thread reads the DLQ, decides and commits; the producer's IO thread
    reports acknowledgements (guarded by one lock).
    """

    def __init__(
        self,
        settings: Settings,
        options: ReplayOptions,
        metrics: Metrics | None = None,
        on_progress: Callable[[ReplaySummary], None] | None = None,
        clock: Callable[[], float] = time.time,
        connect_admin: Callable[[Settings], Any] | None = None,
        connect_consumer: Callable[..., Any] | None = None,
        connect_producer: Callable[[Settings], Any] | None = None,
    ) -> None:
        from kafkactl import kafka
        from kafkactl.topology import replay_group

        # The clients it connects (kafkactl.kafka's by default; tests pass in-memory fakes).
        self._connect_admin = connect_admin or kafka.connect_admin
        self._connect_consumer = connect_consumer or kafka.connect_consumer
        self._connect_producer = connect_producer or kafka.connect_producer
        self.settings = settings
        self.options = options
        self.group = options.replay_group or replay_group(options.dlq)
        self.metrics = metrics or Metrics()
        self.on_progress = on_progress
        self._clock = clock
        self._stop = threading.Event()
        self._stopped_by: str | None = None
        self._lock = threading.Lock()
        self._admin: Any = None
        self._consumer: Any = None
        self._publisher: Any = None
        self._parts: list[_Partition] = []
        self._topic_exists: dict[str, bool] = {}
        self._last_now = 0
        self._summary: ReplaySummary = self._new_summary(dry_run=True)
        self._publish_error: str | None = None
        self._replays = 0
        self._pass_started = time.monotonic()
        self._next_progress = 0.0

    # --- lifecycle ------------------------------------------------------------------------

    def request_stop(self, reason: str = "signal") -> None:
        """Stop reading; in-flight copies are awaited and what was acknowledged is committed."""
        if not self._stop.is_set():
            self._stopped_by = reason
            self._stop.set()

    def open(self) -> None:
        """Connect, check the DLQ and the target, and read each partition's range and progress."""
        from kafkactl import admin as kadmin
        from kafkactl.kafka import TopicPartition

        opts = self.options
        if opts.to not in (TO_RETRY, TO_ORIGINAL) and opts.to == opts.dlq:
            raise UsageError(f"--to {opts.to} is the DLQ itself; pick another target")
        self._admin = self._connect_admin(self.settings)
        info = kadmin.describe_topics(self._admin, [opts.dlq])[opts.dlq]
        if not info.exists:
            raise KafkactlError(
                f"DLQ topic {opts.dlq} does not exist; check the topic name and --group "
                "(with --group G, TOPIC is the main topic; without it, TOPIC is the DLQ)"
            )
        if opts.to not in (TO_RETRY, TO_ORIGINAL) and not self._exists(opts.to):
            raise KafkactlError(
                f"target topic {opts.to} does not exist; create it with: "
                + shell_command("kafkactl", "create-topics", opts.to, "--no-retry")
            )
        available = [p.partition for p in info.partitions]
        unknown = sorted(set(opts.partitions) - set(available))
        if unknown:
            raise UsageError(
                f"--partition {','.join(map(str, unknown))} does not exist: {opts.dlq} has "
                f"partitions 0-{max(available)}"
            )
        chosen = sorted(set(opts.partitions)) if opts.partitions else sorted(available)
        self._consumer = self._connect_consumer(self.settings, self.group, read_committed=True)
        tps = [TopicPartition(opts.dlq, p) for p in chosen]
        marks = self._consumer.watermarks(tps)
        committed = self._admin.committed(self.group, tps)
        for tp in tps:
            meta = committed.get(tp)
            offset = meta.offset if meta is not None else None
            memo, fence = RangeSet(), None
            if meta is not None:
                memo, fence = decode_progress(meta.offset, meta.metadata)
            begin, end = marks[tp]
            self._parts.append(_Partition(tp, begin, end, offset, memo, fence))
        self._reset()

    def close(self) -> None:
        """Close every client (the producer after a last flush)."""
        for client, name in (
            (self._publisher, "producer"),
            (self._consumer, "consumer"),
            (self._admin, "admin"),
        ):
            if client is None:
                continue
            try:
                if name == "producer":
                    client.close(timeout=5.0)
                else:
                    client.close()
            except Exception as exc:  # closing must not hide the summary
                logger.debug("closing the {} failed: {}", name, exc)
        self._publisher = self._consumer = self._admin = None

    def __enter__(self) -> ReplayEngine:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # --- the two passes -------------------------------------------------------------------

    def plan(self) -> ReplaySummary:
        """Read the range and decide, sending and committing nothing (dry run, confirmation)."""
        self._reset()
        summary = self._new_summary(dry_run=True)
        self._summary = summary
        self._pass(publish=False)
        return self._finish(summary)

    def run(self) -> ReplaySummary:
        """Replay: send the copies, commit progress as they are acknowledged."""
        from kafkactl.producer import Publisher

        self._reset()
        summary = self._new_summary(dry_run=False)
        self._summary = summary
        if self._publisher is None:
            self._publisher = Publisher(
                self.settings, self.metrics, max_in_flight=1000, connect=self._connect_producer
            )
        self._pass(publish=True)
        return self._finish(summary)

    def _new_summary(self, dry_run: bool) -> ReplaySummary:
        return ReplaySummary(self.options.dlq, self.group, self.options.to, dry_run)

    def _reset(self) -> None:
        """Fresh per-pass state from what was committed when the engine opened."""
        self._stop.clear()
        self._stopped_by = None
        self._publish_error = None
        self._replays = 0
        for part in self._parts:
            if self.options.from_beginning or part.committed is None:
                part.start = part.begin
            else:
                part.start = max(part.committed, part.begin)
            part.done = RangeSet(() if self.options.from_beginning else part.memo.ranges())
            if part.recovered is not None:
                for start, end in part.recovered.ranges():
                    part.done.add_range(start, end)
            part.claimed = RangeSet(part.done.ranges())
            part.pending = 0
            part.fence_ts = part.first_fence_ts = None
            part.fence_topics = []
            part.touched = False

    def _finish(self, summary: ReplaySummary) -> ReplaySummary:
        summary.stopped_by = self._stopped_by or "end"
        summary.seconds = time.monotonic() - self._pass_started
        summary.metrics = self.metrics.snapshot()
        if self.on_progress is not None:
            self.on_progress(summary)
        return summary

    def _pass(self, publish: bool) -> None:
        summary = self._summary
        self._pass_started = time.monotonic()
        self._next_progress = 0.0
        summary.total = sum(max(0, p.end - p.start) for p in self._parts)
        limiter = RateLimiter(self.options.rate) if publish and self.options.rate else None
        for part in self._parts:
            if self._stop.is_set():
                break
            if part.fence is not None and not self.options.from_beginning:
                self._recover(part, commit=publish)
            if part.start < part.end:
                self._read_partition(part, publish, limiter)
            if publish:
                self._settle_partition(part)
        if self._publish_error:
            summary.warnings.append(self._publish_error)
        self._progress(force=True)

    # --- one partition --------------------------------------------------------------------

    def _read_partition(self, part: _Partition, publish: bool, limiter: RateLimiter | None) -> None:
        """Read from the start to the end offset taken at open(), or until told to stop."""
        consumer = self._consumer
        consumer.assign([part.tp])
        consumer.seek(part.tp, part.start)
        cursor = part.start  # the next offset not seen yet
        next_commit = time.monotonic() + self.options.commit_interval
        while not self._stop.is_set():
            fetched = consumer.poll(self.options.poll_timeout_ms / 1000, 500)
            for record in fetched.get(part.tp, []):
                if self._stop.is_set():
                    return
                if record.offset >= part.end:
                    self._mark_absent(part, cursor, part.end - 1)
                    return
                if record.offset < cursor:
                    continue
                # Offsets with no record (transaction markers, compaction) count as done.
                self._mark_absent(part, cursor, record.offset - 1)
                if not self._visit(part, record, publish, limiter):
                    return
                cursor = record.offset + 1
                if publish and time.monotonic() >= next_commit:
                    self._commit(part)
                    next_commit = time.monotonic() + self.options.commit_interval
                self._progress()
            position = consumer.position(part.tp)
            if position is not None and position >= part.end:
                self._mark_absent(part, cursor, part.end - 1)
                return
            if publish and time.monotonic() >= next_commit:
                self._commit(part)
                next_commit = time.monotonic() + self.options.commit_interval
            self._progress()

    def _mark_absent(self, part: _Partition, start: int, end: int) -> None:
        if end < start:
            return
        with self._lock:
            part.done.add_range(start, end)
            part.claimed.add_range(start, end)

    def _visit(
        self, part: _Partition, record: Any, publish: bool, limiter: RateLimiter | None
    ) -> bool:
        """Handle one record; False stops reading the partition (the record is left as is)."""
        summary = self._summary
        offset = record.offset
        if offset in part.done:
            summary.scanned += 1
            summary.skipped += 1  # replayed by an earlier run (remembered or recovered)
            return True
        dl = read_dead_letter(record)
        opts = self.options
        decision = decide(
            dl,
            filters=opts.filters,
            to=opts.to,
            settings=self.settings,
            dlq=opts.dlq,
            fallback_group=opts.group,
            max_replays=opts.max_replays,
        )
        if decision.action == "replay" and not self._exists(decision.target):
            decision = Decision("failed", reason=f"target topic {decision.target} does not exist")
        if decision.action in ("replay", "parked") and part.memo_full(offset):
            summary.warnings.append(
                f"partition {part.partition}: stopped at offset {offset}: too many separate "
                f"replayed ranges beyond offset {part.watermark()} (the first dead letter left "
                "in the DLQ by the filters or a failure) to remember; replay or include those "
                "records so progress can move on, then run again"
            )
            return False
        if decision.action == "replay" and limiter and not limiter.acquire(self._stop):
            return False
        summary.scanned += 1
        if decision.action == "filtered":
            summary.filtered += 1
            return True
        summary.matched += 1
        self._add_row(dl, decision)
        if decision.action == "parked":
            summary.parked += 1
            if dl.malformed:
                logger.bind(topic=opts.dlq, partition=dl.partition, offset=dl.offset).warning(
                    "parked {}:{}:{}: {}", opts.dlq, dl.partition, dl.offset, decision.reason
                )
            with self._lock:
                part.done.add(offset)
                part.claimed.add(offset)
                part.touched = True
            return True
        if decision.action == "failed":
            self._fail(decision.reason or "unknown", dl)
            return True
        assert decision.target is not None
        if publish:
            self._send(part, dl, decision.target)
        else:
            summary.targets[decision.target] = summary.targets.get(decision.target, 0) + 1
            part.done.add(offset)
            part.claimed.add(offset)
        self._replays += 1
        if opts.limit is not None and self._replays >= opts.limit:
            self.request_stop("limit")
        return True

    def _add_row(self, dl: DeadLetter, decision: Decision) -> None:
        summary = self._summary
        if not summary.dry_run:
            return
        if len(summary.rows) >= self.options.max_rows:
            summary.rows_omitted += 1
            return
        summary.rows.append(
            PlanRow(
                dl.partition,
                dl.offset,
                dl.key_text(),
                dl.original_topic,
                dl.error_text(),
                decision.action,
                decision.target,
                decision.reason,
            )
        )

    def _fail(self, reason: str, dl: DeadLetter) -> None:
        summary = self._summary
        with self._lock:
            summary.failed += 1
            summary.failures[reason] = summary.failures.get(reason, 0) + 1
        logger.bind(topic=self.options.dlq, partition=dl.partition, offset=dl.offset).debug(
            "not replayed: {}", reason
        )

    # --- sending ---------------------------------------------------------------------------

    def _send(self, part: _Partition, dl: DeadLetter, target: str) -> None:
        if target not in part.fence_topics:
            # The fence must be committed before anything reaches a new target (crash recovery).
            part.fence_topics.append(target)
            self._commit(part, required=True)
        group = replay_group_for(dl, self.options.group) if self.options.to == TO_RETRY else None
        headers = replay_headers(dl, self.options.dlq, self._now_ms(), group)
        with self._lock:
            part.claimed.add(dl.offset)
            part.pending += 1
            part.touched = True
        assert self._publisher is not None
        self._publisher.publish(
            target,
            dl.value,
            key=dl.key,
            headers=headers,
            on_delivery=partial(self._delivered, part, dl.offset, target),
        )

    def _delivered(self, part: _Partition, offset: int, target: str, delivery: Any) -> None:
        """Producer IO thread: the copy of `offset` settled."""
        summary = self._summary
        with self._lock:
            part.pending -= 1
            if delivery.ok:
                part.done.add(offset)
                summary.replayed += 1
                summary.targets[target] = summary.targets.get(target, 0) + 1
            else:
                part.claimed.discard(offset)
                summary.failed += 1
                reason = f"publish to {target} failed: {delivery.error}"
                summary.failures[reason] = summary.failures.get(reason, 0) + 1
        if delivery.ok:
            self.metrics.incr("replayed")
            return
        logger.bind(topic=self.options.dlq, partition=part.partition, offset=offset).error(
            "could not replay to {}: {}; stopping (the record stays in the DLQ)",
            target,
            delivery.error,
        )
        self._publish_error = f"publish to {target} failed: {delivery.error}"
        self.request_stop("publish failed")

    def _now_ms(self) -> int:
        # Never goes back within a run: replay.at must not be older than the fence.
        self._last_now = max(self._last_now, int(self._clock() * 1000))
        return self._last_now

    # --- commits ---------------------------------------------------------------------------

    def _settle_partition(self, part: _Partition) -> None:
        """Wait for the partition's copies, then commit; the fence stays if some never settled."""
        if self._publisher is not None and part.pending:
            self._publisher.flush(self.options.flush_timeout)
        if part.touched:
            self._commit(part, final=True)

    def _commit(self, part: _Partition, final: bool = False, required: bool = False) -> None:
        """Commit the watermark and memo, with the fence while a copy may be unaccounted for."""
        with self._lock:
            offset = part.watermark()
            settled = part.pending == 0
            if settled and part.fence_topics and not final:
                # Everything sent so far is in `done`: the fence can move up to now.
                part.fence_ts = self._now_ms()
                if part.first_fence_ts is None:
                    part.first_fence_ts = part.fence_ts
            fence = run_fence = None
            if part.fence_topics:
                run_fence = Fence(part.first_fence_ts or self._now_ms(), tuple(part.fence_topics))
                if not (final and settled):
                    fence = Fence(part.fence_ts or run_fence.ts, run_fence.topics)
            metadata = encode_progress(offset, part.done, fence, run_fence)
        try:
            self._consumer.commit({part.tp: offset}, metadata={part.tp: metadata})
        except Exception as exc:
            if required:
                self.request_stop("commit failed")
                raise KafkactlError(
                    f"could not commit replay progress to group {self.group}: {exc}; "
                    "nothing more was sent"
                ) from None
            logger.warning("committing replay progress failed (will retry): {}", exc)
            return
        self._summary.committed[f"{part.tp.topic}:{part.partition}"] = offset
        if final and fence is not None:
            logger.warning(
                "partition {}: {} copies were not acknowledged in time; the next run looks "
                "for them in {} before replaying",
                part.partition,
                part.pending,
                ", ".join(part.fence_topics),
            )

    # --- crash recovery ---------------------------------------------------------------------

    def _recover(self, part: _Partition, commit: bool) -> None:
        """Count copies an interrupted run sent but did not commit as done (module docstring)."""
        if part.recovered is None:
            part.recovered = self._find_copies(part)
        self._summary.recovered += len_offsets(part.recovered)
        for start, end in part.recovered.ranges():
            part.done.add_range(start, end)
            part.claimed.add_range(start, end)
        if commit:
            # Record what was found, and drop the old fence, before anything new is sent.
            part.touched = True
            self._commit(part, final=True, required=True)

    def _exists(self, topic: str | None) -> bool:
        from kafkactl import admin as kadmin

        if topic is None:
            return False
        known = self._topic_exists.get(topic)
        if known is None:
            known = kadmin.describe_topics(self._admin, [topic])[topic].exists
            self._topic_exists[topic] = known
        return known

    def _find_copies(self, part: _Partition) -> RangeSet:
        from kafkactl.kafka import TopicPartition

        fence = part.fence
        assert fence is not None
        found = RangeSet()
        topics = [t for t in fence.topics if self._exists(t)]
        logger.info(
            "partition {}: the last replay stopped without committing; looking for its copies "
            "in {}",
            part.partition,
            ", ".join(topics) or "nothing",
        )
        if not topics:
            return found
        reader = self._connect_consumer(self.settings, None)
        try:
            tps = [TopicPartition(t, p) for t in topics for p in reader.partitions_for(t)]
            since = fence.ts - RECOVERY_MARGIN_MS
            starts = reader.offsets_for_times(dict.fromkeys(tps, since))
            marks = reader.watermarks(tps)
            todo = {tp: marks[tp][1] for tp in tps if starts[tp] < marks[tp][1]}
            if not todo:
                return found
            reader.assign(list(todo))
            for tp in todo:
                reader.seek(tp, starts[tp])
            wanted = (self.options.dlq, part.partition)
            deadline = time.monotonic() + 600
            while todo:
                if self._stop.is_set():
                    raise KafkactlError("interrupted while looking for copies of the last run")
                if time.monotonic() > deadline:
                    raise KafkactlError(
                        f"could not read {', '.join(t.topic for t in todo)} to its end to look "
                        "for copies of the interrupted replay; nothing was sent"
                    )
                for tp, records in reader.poll(0.5, 500).items():
                    for r in records:
                        if tp in todo and r.offset < todo[tp]:
                            self._match_copy(r, wanted, fence, part, found)
                for tp in list(todo):
                    position = reader.position(tp)
                    if position is not None and position >= todo[tp]:
                        del todo[tp]
        finally:
            reader.close()
        if found:
            logger.info(
                "partition {}: {} records were already replayed by the interrupted run",
                part.partition,
                len_offsets(found),
            )
        return found

    @staticmethod
    def _match_copy(
        record: Any, wanted: tuple[str, int], fence: Fence, part: _Partition, found: RangeSet
    ) -> None:
        origin = parse_replay_from(hdr.get_text(record.headers, hdr.REPLAY_FROM))
        if origin is None or origin[:2] != wanted or origin[2] < part.start:
            return
        at, bad = header_int(hdr.normalize(record.headers), hdr.REPLAY_AT, 2**63 - 1)
        if bad is not None:
            return  # not a copy this replay wrote
        if at is not None and at < fence.ts:
            return  # a copy from an earlier, committed run
        found.add(origin[2])

    # --- progress display -------------------------------------------------------------------

    def _progress(self, force: bool = False) -> None:
        if self.on_progress is None:
            return
        now = time.monotonic()
        if force or now >= self._next_progress:
            self._next_progress = now + 0.2
            self.on_progress(self._summary)


def len_offsets(ranges: RangeSet) -> int:
    """How many offsets a RangeSet holds."""
    return sum(end - start + 1 for start, end in ranges.ranges())
