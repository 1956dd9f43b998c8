"""The one header codec: reading and replacing Kafka headers; the retry/DLQ schema (DESIGN §8.1).

Kafka headers are an ordered list of (str, bytes) pairs in which a key may repeat. Every
kafkactl header is written exactly once: setting one removes earlier copies. A name that is
not UTF-8 holds its bytes surrogate-escaped (see `kafkactl.kafka.ports.header_name`): it is
copied as it is, and shown with `name_text`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from kafkactl.kafka.ports import header_name, header_name_bytes, is_raw_name

Headers = list[tuple[str, bytes]]

MESSAGE_ID = "message-id"
ORIGINAL_TOPIC = "kafkactl.original.topic"
ORIGINAL_PARTITION = "kafkactl.original.partition"
ORIGINAL_OFFSET = "kafkactl.original.offset"
ORIGINAL_TIMESTAMP = "kafkactl.original.timestamp"
GROUP = "kafkactl.group"
ATTEMPT = "kafkactl.attempt"
NOT_BEFORE = "kafkactl.not-before"
FIRST_FAILURE = "kafkactl.first-failure"
LAST_FAILURE = "kafkactl.last-failure"
ERROR_KIND = "kafkactl.error.kind"
ERROR_CLASS = "kafkactl.error.class"
ERROR_MESSAGE = "kafkactl.error.message"
ERROR_TRACE = "kafkactl.error.trace"
REPLAY_COUNT = "kafkactl.replay.count"
REPLAY_AT = "kafkactl.replay.at"
REPLAY_FROM = "kafkactl.replay.from"
# "true" on a replayed copy whose value a `--transform` / `--transform-handler` repaired.
REPLAY_TRANSFORMED = "kafkactl.replay.transformed"
# Set on a follower (--ordering key-strict): the message-id of the earlier record of its key it
# waits behind (or that was dead-lettered), and when it was sent to follow it.
FOLLOWS = "kafkactl.follows"
FOLLOWED_AT = "kafkactl.followed-at"
# The error class of a follower dead-lettered behind an earlier record of its key.
FOLLOWER_CLASS = "kafkactl.Follower"
# W3C trace context: copied unchanged onto every retry, DLQ and replay copy (DESIGN §14.2).
TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"

# Headers that describe the retry state of one pass through the pipeline; a replay resets them.
RETRY_STATE = (
    ATTEMPT,
    NOT_BEFORE,
    FIRST_FAILURE,
    LAST_FAILURE,
    ERROR_KIND,
    ERROR_CLASS,
    ERROR_MESSAGE,
    ERROR_TRACE,
    FOLLOWS,
    FOLLOWED_AT,
)
# `retryable` goes to the next tier, `fatal` and `decode` straight to the DLQ (retrying cannot
# fix them), `timeout` (an --exec handler ran too long) is retried.
FailureKind = Literal["retryable", "fatal", "timeout", "decode"]
ERROR_KINDS: tuple[FailureKind, ...] = ("retryable", "fatal", "timeout", "decode")
MAX_MESSAGE_BYTES = 1024
MAX_TRACE_BYTES = 4096
# A copy that would not fit its topic keeps this much of its error message (and no trace).
SHRUNK_MESSAGE_BYTES = 128
# Bounds of the pipeline's numeric headers: attempts in a plausible range, times up to 9999 AD.
MAX_ATTEMPT = 1_000_000
MAX_EPOCH_MS = 253_402_300_799_999
# What the broker adds to a record besides its key, value and headers (record framing, and a
# batch of its own: a large copy is alone in its batch). Generous on purpose.
RECORD_OVERHEAD_BYTES = 256


def normalize(headers: Iterable[tuple[str | bytes, bytes | str | None]] | None) -> Headers:
    """Headers as a fresh list of (str, bytes) pairs (None values become empty bytes; a bytes
    name becomes its surrogate-escaped text, never its repr)."""
    out: Headers = []
    for key, value in headers or ():
        if value.__class__ is bytes and key.__class__ is str:  # what the engines give
            out.append((key, value))
            continue
        if value is None:
            value = b""
        elif isinstance(value, str):
            value = value.encode("utf-8", "surrogateescape")
        out.append((header_name(key) if isinstance(key, bytes) else key, bytes(value)))
    return out


def name_text(name: str) -> str:
    """A header name as plain text for JSON and tables: bytes that are not UTF-8 as `\\xNN`.

    Names are kept as their exact bytes (`kafkactl.kafka.ports.header_name`); JSON encoders
    refuse the escaped surrogates such a name holds, so text meant for people or JSON uses this.
    """
    if name.isascii() or not is_raw_name(name):
        return str(name)  # str(): a plain str even when an engine handed a subclass
    return header_name_bytes(name).decode("utf-8", "backslashreplace")


def get(headers: Sequence[tuple[str, bytes]] | None, name: str) -> bytes | None:
    """The last value of header `name`, or None."""
    found = None
    for key, value in headers or ():
        if key == name:
            found = value
    return found


def get_text(headers: Sequence[tuple[str, bytes]] | None, name: str) -> str | None:
    """The last value of header `name` as text, or None."""
    value = get(headers, name)
    return None if value is None else value.decode("utf-8", "replace")


def get_int(headers: Sequence[tuple[str, bytes]] | None, name: str) -> int | None:
    """The last value of header `name` as a decimal integer, or None if absent or not a number."""
    text = get_text(headers, name)
    try:
        return None if text is None else int(text.strip())
    except ValueError:
        return None


def get_bounded(
    headers: Sequence[tuple[str, bytes]] | None, name: str, low: int, high: int
) -> int | None:
    """The last value of header `name` as an integer in [low, high]; None if absent or not.

    For the pipeline's own numeric headers (attempt, due time): a negative or absurd value
    written by hand or by a foreign tool is treated as absent, never trusted.
    """
    value = get_int(headers, name)
    return value if value is not None and low <= value <= high else None


def replace(headers: Headers, updates: dict[str, str | int | bytes | None]) -> Headers:
    """A copy with each updated header present exactly once (None removes it), order kept."""
    names = set(updates)
    out = [(k, v) for k, v in headers if k not in names]
    for name, value in updates.items():
        if value is None:
            continue
        out.append((name, _encode(value)))
    return out


def set_once(headers: Headers, name: str, value: str | int | bytes) -> Headers:
    """A copy where `name` is set only if it was absent (a write-once header)."""
    if get(headers, name) is not None:
        return list(headers)
    return [*headers, (name, _encode(value))]


def truncate(text: str, limit: int) -> str:
    """Text cut to at most `limit` UTF-8 bytes, never in the middle of a character."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode("utf-8", "ignore") + "..."


def record_size(
    key: bytes | None, value: bytes | None, headers: Sequence[tuple[str, bytes]]
) -> int:
    """An upper estimate of a record's size on the wire (what max.message.bytes limits)."""
    size = RECORD_OVERHEAD_BYTES + len(key or b"") + len(value or b"")
    for name, data in headers:
        size += len(name.encode("utf-8", "surrogateescape")) + len(data or b"") + 10
    return size


def shrink(headers: Headers) -> Headers:
    """The failure headers cut to their minimum: no trace, the error message cut short.

    Everything else (origin, attempt, due time, error kind and class) is kept: it is what the
    pipeline and replay-dlq need. Only the optional detail goes.
    """
    message = get_text(headers, ERROR_MESSAGE)
    updates: dict[str, str | int | bytes | None] = {ERROR_TRACE: None}
    if message is not None:
        updates[ERROR_MESSAGE] = truncate(message, SHRUNK_MESSAGE_BYTES)
    return replace(headers, updates)


def fit(
    key: bytes | None, value: bytes | None, headers: Headers, limit: int | None
) -> tuple[Headers, bool]:
    """Headers for a copy that fits in `limit` bytes if shrinking them can make it fit.

    Returns (headers, shrunk). Optional detail goes first (the trace, then most of the error
    message); a copy that is still too large is returned shrunk for the broker to judge.
    """
    if limit is None or record_size(key, value, headers) <= limit:
        return headers, False
    return shrink(headers), True


def _encode(value: str | int | bytes) -> bytes:
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8")


@dataclass(frozen=True)
class Failure:
    """Why a handler failed a message: kind (DESIGN §6.7), class (or exit:N), message, trace."""

    kind: FailureKind
    error_class: str
    message: str
    trace: str | None = None


@dataclass(frozen=True)
class Origin:
    """Where a record was consumed from."""

    topic: str
    partition: int
    offset: int
    timestamp: int


def failure_headers(
    headers: Headers,
    origin: Origin,
    group: str,
    failure: Failure,
    attempt: int,
    now_ms: int,
    not_before_ms: int | None,
    message_id: str,
) -> Headers:
    """Headers of the retry or DLQ copy: write-once origin fields, replaced failure state.

    `not_before_ms` is None for the DLQ, which removes any earlier due time.
    """
    out = set_once(_origin(headers, origin, group, message_id), FIRST_FAILURE, now_ms)
    return replace(
        out,
        {
            ATTEMPT: attempt,
            NOT_BEFORE: not_before_ms,
            LAST_FAILURE: now_ms,
            ERROR_KIND: failure.kind,
            ERROR_CLASS: failure.error_class,
            ERROR_MESSAGE: truncate(failure.message, MAX_MESSAGE_BYTES),
            ERROR_TRACE: truncate(failure.trace, MAX_TRACE_BYTES) if failure.trace else None,
            # A follower that ran and failed is a blocker of its own now.
            FOLLOWS: None,
            FOLLOWED_AT: None,
        },
    )


def follower_headers(
    headers: Headers,
    origin: Origin,
    group: str,
    follows: str,
    now_ms: int,
    not_before_ms: int | None,
    message_id: str,
) -> Headers:
    """Headers of a follower's copy (--ordering key-strict): it did not run, it waits behind
    `follows`. On a tier (`not_before_ms` set) its failure state is kept as it was; on the DLQ
    it says why it is there (class `kafkactl.Follower`), so triage and replay read it."""
    out = _origin(headers, origin, group, message_id)
    updates: dict[str, str | int | bytes | None] = {
        FOLLOWS: follows,
        FOLLOWED_AT: now_ms,
        NOT_BEFORE: not_before_ms,
    }
    if not_before_ms is None:
        out = set_once(out, FIRST_FAILURE, now_ms)
        updates |= {
            LAST_FAILURE: now_ms,
            ERROR_KIND: "retryable",
            ERROR_CLASS: FOLLOWER_CLASS,
            ERROR_MESSAGE: f"not run: it follows {follows}, dead-lettered before it "
            "(--ordering key-strict keeps a key's records in order)",
            ERROR_TRACE: None,
        }
    return replace(out, updates)


def _origin(headers: Headers, origin: Origin, group: str, message_id: str) -> Headers:
    """The write-once fields of a first copy: its message-id, where it came from, its group."""
    out = set_once(headers, MESSAGE_ID, message_id)
    out = set_once(out, ORIGINAL_TOPIC, origin.topic)
    out = set_once(out, ORIGINAL_PARTITION, origin.partition)
    out = set_once(out, ORIGINAL_OFFSET, origin.offset)
    out = set_once(out, ORIGINAL_TIMESTAMP, origin.timestamp)
    return set_once(out, GROUP, group)
