"""Dead-letter triage (DESIGN §10): what is in a DLQ, in one pass and bounded memory.

Every dead letter (kafkactl, Kafka Connect, Spring or Karafka convention, read by
`replay.deadletter`) is folded into a group (error kind and class by default; or normalised
message, original topic, key, hour). No record is kept: groups and, inside each group, the
messages, original topics and groups are top-k counters of fixed capacity (`TopK`), so a DLQ of
millions of records is summarised in the same memory as one of thousands.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Generic, Literal, TypeVar

from kafkactl.replay.deadletter import DeadLetter

By = Literal["class", "message", "topic", "key", "hour"]
BY_CHOICES: tuple[By, ...] = ("class", "message", "topic", "key", "hour")
GROUP_CAPACITY = 1000  # groups tracked at once (the table shows --top of them)
DETAIL_CAPACITY = 32  # messages, topics, groups tracked per group
SHOWN = 3  # messages, topics, groups shown per group
BUCKETS = 10  # attempts / replay counts: 0..9 each, then "10+"
MESSAGE_CHARS = 200  # a message is cut to this before it is normalised

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TopK(Generic[K, V]):
    """Space-saving style top-k counter with at most `2 * capacity` keys.

    When full, the smaller half is dropped and `floor` (the largest count dropped so far)
    rises; a key seen again after that starts at `floor + 1` with `error = floor`. So every
    count is an upper bound, `count - error` a lower bound, and a key seen more than `floor`
    times is always kept. While nothing was dropped (`exact`), counts are exact.
    """

    def __init__(self, capacity: int, new: Callable[[], V] | None = None) -> None:
        self.capacity = capacity
        self.floor = 0
        self._new = new
        # key -> [count, error, payload]; only `add` makes a key (a fold may count a known
        # key itself, `slots[key][0] += 1`, to spare the call: DESIGN §10)
        self.slots: dict[K, list[Any]] = {}

    @property
    def exact(self) -> bool:
        """True while no key was ever dropped."""
        return self.floor == 0

    def __len__(self) -> int:
        return len(self.slots)

    def add(self, key: K) -> V | None:
        """Count one occurrence of `key`; returns its payload (created by `new`)."""
        slot = self.slots.get(key)
        if slot is None:
            if len(self.slots) >= 2 * self.capacity:
                self._prune()
            payload = self._new() if self._new is not None else None
            slot = self.slots[key] = [self.floor, self.floor, payload]
        slot[0] += 1
        payload_out: V | None = slot[2]
        return payload_out

    def _prune(self) -> None:
        ranked = sorted(self.slots.items(), key=lambda item: item[1][0], reverse=True)
        for key, slot in ranked[self.capacity :]:
            self.floor = max(self.floor, slot[0])
            del self.slots[key]

    def top(self, n: int | None = None) -> list[tuple[K, int, int, V]]:
        """(key, count, error, payload), most frequent first (ties: key order of arrival)."""
        ranked = sorted(self.slots.items(), key=lambda item: -item[1][0])
        return [(k, s[0], s[1], s[2]) for k, s in ranked[:n]]


# Normalisation: quoted values, uuids, hex ids, then numbers fold to placeholders.
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|`[^`]*`")
_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I)
# 0x..., or a word of 8+ hex digits holding both a digit and a letter a-f (ids, hashes)
_HEX = re.compile(
    r"\b0x[0-9a-f]+\b|\b(?=[0-9a-f]{8,}\b)(?=[0-9a-f]*\d)[0-9a-f]*[a-f][0-9a-f]*\b", re.I
)
_NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")
# The same patterns for ASCII text, where they match exactly the same: twice as fast without
# re.I and Unicode classes (DESIGN §10).
_H = "[0-9a-fA-F]"
_ASCII_UUID = re.compile(rf"\b{_H}{{8}}-{_H}{{4}}-{_H}{{4}}-{_H}{{4}}-{_H}{{12}}\b", re.ASCII)
_ASCII_HEX = re.compile(
    rf"\b0[xX]{_H}+\b|\b(?={_H}{{8,}}\b)(?={_H}*[0-9]){_H}*[a-fA-F]{_H}*\b", re.ASCII
)
_ASCII_NUMBER = re.compile(r"[0-9]+(?:[.,:][0-9]+)*")
# Hex digits to "h", all else to ".": a hex id needs "hhhhhhhh" (or "0x") in the mapped text.
_HEX_RUN = bytes(ord("h") if chr(i) in string.hexdigits else ord(".") for i in range(256))


@lru_cache(maxsize=4096)  # a DLQ repeats its messages
def normalize_message(text: str | None) -> str:
    """A message with its variable parts folded: "order 17 failed" -> "order <n> failed"."""
    if not text:
        return ""
    out = text[:MESSAGE_CHARS]
    if "'" in out or '"' in out or "`" in out:  # a pass skipped costs nothing
        out = _QUOTED.sub("<str>", out)
    if not out.isascii():
        if "-" in out:
            out = _UUID.sub("<uuid>", out)
        out = _HEX.sub("<hex>", out)
        out = _NUMBER.sub("<n>", out)
        return " ".join(out.split())  # runs of whitespace as one space (what \s+ matches)
    if out.count("-") >= 4:
        out = _ASCII_UUID.sub("<uuid>", out)
    raw = out.encode("ascii")
    if b"0x" in raw or b"0X" in raw or b"hhhhhhhh" in raw.translate(_HEX_RUN):
        out = _ASCII_HEX.sub("<hex>", out)
    out = _ASCII_NUMBER.sub("<n>", out)
    return " ".join(out.split())


def error_kind(dl: DeadLetter) -> str:
    """kafkactl's error kind (retryable, fatal, timeout, decode); `-` for other conventions."""
    return dl.error_kind or "-"


@lru_cache(maxsize=4096)
def class_label(kind: str, error_class: str | None) -> str:
    """`fatal ValueError`; the kind is left out when unknown (other conventions)."""
    name = error_class or "(no error class)"
    return name if kind == "-" else f"{kind} {name}"


def hour_label(ms: int) -> str:
    """The hour a time falls in, as `--by hour` names it: `2025-12-31T23:00Z`."""
    return datetime.fromtimestamp(ms // 3_600_000 * 3600, UTC).strftime("%Y-%m-%dT%H:00Z")


def group_key(dl: DeadLetter, by: By) -> str:
    """The group a dead letter counts in, as a display string."""
    if by == "class":
        return class_label(error_kind(dl), dl.error_class)
    if by == "message":
        return normalize_message(dl.error_message) or "-"
    if by == "topic":
        return dl.original_topic or "-"
    if by == "key":
        text = dl.key_text()
        return "-" if text is None else text[:MESSAGE_CHARS]
    return hour_label(dl.timestamp)


_BUCKET_NAMES = (*map(str, range(BUCKETS)), f"{BUCKETS}+")


def bucket(value: int) -> str:
    """A histogram bucket of attempts or replays: "0".."9", then "10+"."""
    return _BUCKET_NAMES[min(value, BUCKETS)]


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


@dataclass
class GroupStats:
    """What one group holds: times, top messages/topics/groups, attempts and replays."""

    kind: str = "-"
    error_class: str | None = None
    first_ms: int | None = None
    last_ms: int | None = None
    messages: TopK[str, None] = field(default_factory=lambda: TopK(DETAIL_CAPACITY))
    topics: TopK[str, None] = field(default_factory=lambda: TopK(DETAIL_CAPACITY))
    groups: TopK[str, None] = field(default_factory=lambda: TopK(DETAIL_CAPACITY))
    attempts_min: int | None = None
    attempts_max: int | None = None
    attempts: dict[str, int] = field(default_factory=dict)
    replays: dict[str, int] = field(default_factory=dict)
    parked: int = 0

    def add(self, dl: DeadLetter, kind: str, error_class: str | None, max_replays: int) -> None:
        """Fold one dead letter in (each of its facts read once)."""
        origin = dl.origin
        self.kind, self.error_class = kind, error_class
        ts = dl.timestamp
        if self.first_ms is None or ts < self.first_ms:
            self.first_ms = ts
        if self.last_ms is None or ts > self.last_ms:
            self.last_ms = ts
        self.messages.add(normalize_message(dl.error_message) or "-")
        self.topics.add(origin.topic or "-")
        self.groups.add(dl.group or dl.foreign_group or "-")
        a = origin.attempts
        if a is not None:
            self.attempts_min = a if self.attempts_min is None else min(self.attempts_min, a)
            self.attempts_max = a if self.attempts_max is None else max(self.attempts_max, a)
            slot = bucket(a)
            self.attempts[slot] = self.attempts.get(slot, 0) + 1
        replays = origin.replay_count
        slot = bucket(replays)
        self.replays[slot] = self.replays.get(slot, 0) + 1
        if replays >= max_replays or origin.malformed:
            self.parked += 1


def _top_dict(counter: TopK[str, None]) -> list[dict[str, Any]]:
    top = counter.top(SHOWN)
    return [{"value": key, "count": count, "error": error} for key, count, error, _ in top]


@dataclass
class TriageSummary:
    """The result of one pass over a DLQ."""

    dlq: str
    by: By
    max_replays: int
    since_ms: int | None = None
    until_ms: int | None = None
    scanned: int = 0
    matched: int = 0
    parked: int = 0
    first_ms: int | None = None
    last_ms: int | None = None
    styles: dict[str, int] = field(default_factory=dict)
    groups: TopK[str, GroupStats] = field(default_factory=lambda: TopK(GROUP_CAPACITY, GroupStats))
    seconds: float = 0.0
    interrupted: bool = False

    def add(self, dl: DeadLetter) -> None:
        """Count one dead letter (already inside the time bounds)."""
        origin = dl.origin
        self.matched += 1
        self.styles[origin.style] = self.styles.get(origin.style, 0) + 1
        ts = dl.timestamp
        if self.first_ms is None or ts < self.first_ms:
            self.first_ms = ts
        if self.last_ms is None or ts > self.last_ms:
            self.last_ms = ts
        if origin.replay_count >= self.max_replays or origin.malformed:
            self.parked += 1
        kind, error_class = error_kind(dl), dl.error_class
        by = self.by
        stats = self.groups.add(
            class_label(kind, error_class) if by == "class" else group_key(dl, by)
        )
        assert stats is not None
        stats.add(dl, kind, error_class, self.max_replays)

    def in_bounds(self, timestamp: int) -> bool:
        """Whether a DLQ record time is within --since (inclusive) and --until (exclusive)."""
        if self.since_ms is not None and timestamp < self.since_ms:
            return False
        return self.until_ms is None or timestamp < self.until_ms

    def rows(self, top: int | None = None) -> list[dict[str, Any]]:
        """The groups, largest first, as JSON-ready dicts."""
        out: list[dict[str, Any]] = []
        for key, count, error, stats in self.groups.top(top):
            out.append(
                {
                    "group": key,
                    "kind": stats.kind if self.by == "class" else None,
                    "class": stats.error_class if self.by == "class" else None,
                    "count": count,
                    "count_error": error,
                    "first_failure": _iso(stats.first_ms),
                    "last_failure": _iso(stats.last_ms),
                    "messages": _top_dict(stats.messages),
                    "topics": _top_dict(stats.topics),
                    "consumer_groups": _top_dict(stats.groups),
                    "attempts": {
                        "min": stats.attempts_min,
                        "max": stats.attempts_max,
                        "histogram": dict(sorted(stats.attempts.items(), key=_bucket_order)),
                    },
                    "replays": dict(sorted(stats.replays.items(), key=_bucket_order)),
                    "parked": stats.parked,
                }
            )
        return out

    def as_dict(self, top: int | None = None) -> dict[str, Any]:
        """JSON-ready form (schema in the README)."""
        return {
            "dlq": self.dlq,
            "by": self.by,
            "since": _iso(self.since_ms),
            "until": _iso(self.until_ms),
            "scanned": self.scanned,
            "matched": self.matched,
            "parked": self.parked,
            "max_replays": self.max_replays,
            "first_failure": _iso(self.first_ms),
            "last_failure": _iso(self.last_ms),
            "conventions": dict(sorted(self.styles.items())),
            "group_count": len(self.groups),
            "exact": self.groups.exact,
            "groups": self.rows(top),
            "seconds": round(self.seconds, 3),
            "interrupted": self.interrupted,
        }


def _bucket_order(item: tuple[str, int]) -> int:
    return BUCKETS if item[0].endswith("+") else int(item[0])


def summarize(
    dead_letters: Iterable[DeadLetter],
    summary: TriageSummary,
) -> TriageSummary:
    """Fold dead letters into `summary` (time bounds applied); returns it."""
    for dl in dead_letters:
        summary.scanned += 1
        if summary.in_bounds(dl.timestamp):
            summary.add(dl)
    return summary
