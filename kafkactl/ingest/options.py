"""What a produce run is asked to do (ProduceOptions, the --header flags) and what it needs from
the Publisher."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from kafkactl.formats import FORMATS, ParsedRecord, has_message_id, new_message_id
from kafkactl.headers import MESSAGE_ID
from kafkactl.ingest.flush import FLUSH_TIMEOUT_S
from kafkactl.kafka.ports import Delivery, SendBatch
from kafkactl.schemas.stage import SchemaStage

# Bytes of records in flight (sent, not yet acknowledged) before reading pauses; together with
# the Publisher's record bound this caps memory for large records too.
MAX_BYTES_IN_FLIGHT = 64 * 1024 * 1024
# `--message-id`: None adds no header (DESIGN §5.2); "uuid" adds a new UUID4 to each record.
MESSAGE_ID_MODES = (None, "uuid")


class PublisherLike(Protocol):
    """What the job needs from kafkactl.producer.Publisher (a fake in unit tests)."""

    def publish(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
        partition: int | None = None,
        timestamp_ms: int | None = None,
        on_delivery: Callable[[Delivery], None] | None = None,
    ) -> None: ...

    def flush(self, timeout: float | None = None) -> bool: ...

    @property
    def in_flight(self) -> int: ...

    # Failures only are reported (kafkactl.kafka.ports.ProducerPort.errors_only).
    errors_only: bool

    @property
    def max_record_bytes(self) -> int | None: ...

    def batch_sender(self) -> SendBatch | None: ...

    def fault(self) -> str | None: ...

    def cancel(self) -> None: ...

    def abandon(self, reason: str) -> None: ...


@dataclass
class ProduceOptions:
    """What to produce and how to read it."""

    topic: str
    format: str = "json"
    key_field: str | None = None
    key: str | None = None
    key_delimiter: bytes | None = None
    message_id_field: str | None = None
    message_id: str | None = None  # "uuid": a new UUID4 `message-id` for each record without one
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    partition: int | None = None
    partitions: int | None = None  # the topic's partition count, to check record partitions
    strict: bool = False
    trace: bool = False  # --trace: a new W3C traceparent for each record without one
    schemas: SchemaStage | None = None  # --value-schema/--key-schema, envelope schema ids
    max_bytes_in_flight: int = MAX_BYTES_IN_FLIGHT
    flush_timeout: float = FLUSH_TIMEOUT_S

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"unknown format {self.format!r}; use one of {', '.join(FORMATS)}")
        if self.message_id not in MESSAGE_ID_MODES:
            raise ValueError(f"unknown message-id mode {self.message_id!r}; use uuid")


def parse_header_flag(text: str) -> tuple[str, bytes]:
    """A `--header k=v` flag as a header; ValueError when it is not k=v."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise ValueError(f"{text!r} is not k=v (e.g. --header source=import)")
    try:
        return name.strip().encode("utf-8").decode("utf-8"), value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{text!r} is not UTF-8 text") from None


def record_headers(
    record: ParsedRecord, flags: list[tuple[str, bytes]], new_ids: bool = False
) -> list[tuple[str, bytes]]:
    """The record's headers and the --header flags (replacing same-named ones); with `new_ids`
    (--message-id uuid) a new UUID4 `message-id` unless the record has one already."""
    headers = record.headers
    if flags:
        names = {name for name, _ in flags}
        headers = [h for h in headers if h[0] not in names] + flags
    if new_ids and not has_message_id(headers):
        headers = [*headers, (MESSAGE_ID, new_message_id())]
    return headers
