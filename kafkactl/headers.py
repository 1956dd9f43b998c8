"""The one header codec: reading and replacing Kafka headers, and the retry/DLQ schema of SPEC §8.

Kafka headers are an ordered list of (str, bytes) pairs in which a key may repeat. Every
kafkactl header is written exactly once: setting one removes earlier copies.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

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
)
ERROR_KINDS = ("retryable", "fatal", "timeout", "decode")
MAX_MESSAGE_BYTES = 1024
MAX_TRACE_BYTES = 4096


def normalize(headers: Iterable[tuple[str, bytes | str | None]] | None) -> Headers:
    """Headers as a fresh list of (str, bytes) pairs (None values become empty bytes)."""
    out: Headers = []
    for key, value in headers or ():
        if value is None:
            value = b""
        elif isinstance(value, str):
            value = value.encode()
        out.append((str(key), bytes(value)))
    return out


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


def _encode(value: str | int | bytes) -> bytes:
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8")


@dataclass(frozen=True)
class Failure:
    """Why a handler failed a message: kind (SPEC §8), class (or exit:N), message, trace."""

    kind: str
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
    out = set_once(headers, MESSAGE_ID, message_id)
    out = set_once(out, ORIGINAL_TOPIC, origin.topic)
    out = set_once(out, ORIGINAL_PARTITION, origin.partition)
    out = set_once(out, ORIGINAL_OFFSET, origin.offset)
    out = set_once(out, ORIGINAL_TIMESTAMP, origin.timestamp)
    out = set_once(out, GROUP, group)
    out = set_once(out, FIRST_FAILURE, now_ms)
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
        },
    )
