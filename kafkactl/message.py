"""The Message a handler receives, and how a handler says it failed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from kafkactl import headers as hdr
from kafkactl.headers import Failure
from kafkactl.schemas.model import Decoded
from kafkactl.topology import default_message_id

if TYPE_CHECKING:
    from kafkactl.kafka.ports import Record


@dataclass
class Message:
    """One consumed record as handlers see it.

    `attempt` is 1 on the first try and grows by one with every retry tier it passes through.
    A header name that is not UTF-8 holds its bytes surrogate-escaped: `name.encode("utf-8",
    "surrogateescape")` gives them back, `kafkactl.headers.name_text(name)` shows them.
    """

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    timestamp: int = 0
    timestamp_type: int = 0
    message_id: str = ""
    attempt: int = 1
    # Set when the value / key was in the schema registry's wire format and decoding is on.
    decoded_value: Decoded | None = None
    decoded_key: Decoded | None = None

    def json(self) -> Any:
        """The value parsed as JSON (raises ValueError on bad JSON: a `decode` failure)."""
        return orjson.loads(self.value or b"null")

    def decoded(self) -> Any:
        """The value as a document: decoded from the registry's wire format (Avro, JSON Schema,
        Protobuf) when it was in it, else the value parsed as JSON (`json()`)."""
        if self.decoded_value is not None:
            return self.decoded_value.document
        return self.json()

    def decoded_key_document(self) -> Any:
        """The key as a document when it was in the wire format, else the key text (or None)."""
        if self.decoded_key is not None:
            return self.decoded_key.document
        return self.key_text()

    @property
    def value_schema_id(self) -> int | None:
        """The registry schema id the value was written with (None: not in the wire format)."""
        return self.decoded_value.schema_id if self.decoded_value is not None else None

    @property
    def key_schema_id(self) -> int | None:
        """The registry schema id the key was written with."""
        return self.decoded_key.schema_id if self.decoded_key is not None else None

    def text(self) -> str:
        """The value as UTF-8 text (raises UnicodeDecodeError: a `decode` failure)."""
        return (self.value or b"").decode("utf-8")

    def key_text(self) -> str | None:
        """The key as text (invalid UTF-8 replaced), or None."""
        return None if self.key is None else self.key.decode("utf-8", "replace")

    def header(self, name: str) -> bytes | None:
        """The last value of header `name`."""
        return hdr.get(self.headers, name)

    @property
    def traceparent(self) -> str | None:
        """The W3C `traceparent` the record carries (its trace), or None."""
        return hdr.get_text(self.headers, hdr.TRACEPARENT)

    @property
    def tracestate(self) -> str | None:
        """The W3C `tracestate` that travels with the trace, or None."""
        return hdr.get_text(self.headers, hdr.TRACESTATE)


def message_from_record(record: Record) -> Message:
    """The Message a handler gets for a consumed record: its id (the record's message-id, else
    topic-partition-offset) and its attempt (one past the record's attempt header)."""
    headers = list(record.headers or [])
    message_id = hdr.get_text(headers, hdr.MESSAGE_ID)
    if not message_id:
        message_id = default_message_id(record.topic, record.partition, record.offset)
    # A negative or absurd attempt header (by hand, or a foreign tool) counts as no attempt yet.
    attempt = (hdr.get_bounded(headers, hdr.ATTEMPT, 0, hdr.MAX_ATTEMPT) or 0) + 1
    return Message(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key,
        value=record.value,
        headers=headers,
        timestamp=record.timestamp,
        timestamp_type=record.timestamp_type,
        message_id=message_id,
        attempt=attempt,
    )


class HandlerFailure(Exception):
    """Raised by built-in handlers with a fully described failure (kind, class, message, trace)."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure
