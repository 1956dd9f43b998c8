"""What the core knows of schemas: kinds, subjects, requests, decoded documents, and the ports
the registry adapter (kafkactl.kafka.schemas) implements. No registry client here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

SchemaKind = Literal["AVRO", "JSON", "PROTOBUF"]
Field = Literal["key", "value"]
# --decode: auto decodes wire-format records when a registry is configured (print, message
# .decoded()); json also gives --exec handlers the decoded JSON on stdin; none keeps bytes.
DecodeMode = Literal["auto", "json", "none"]
DECODE_MODES: tuple[DecodeMode, ...] = ("auto", "json", "none")

# The file extension says the kind of a schema file (Confluent's names for the kinds).
KIND_BY_EXTENSION: dict[str, SchemaKind] = {
    ".avsc": "AVRO",
    ".json": "JSON",
    ".proto": "PROTOBUF",
}
KIND_LABELS: dict[SchemaKind, str] = {
    "AVRO": "Avro",
    "JSON": "JSON Schema",
    "PROTOBUF": "Protobuf",
}


def kind_for_file(path: str) -> SchemaKind:
    """The schema kind of a file from its extension; ValueError naming the allowed ones."""
    kind = KIND_BY_EXTENSION.get(Path(path).suffix.lower())
    if kind is None:
        allowed = ", ".join(f"{ext} ({KIND_LABELS[k]})" for ext, k in KIND_BY_EXTENSION.items())
        raise ValueError(f"{path!r} has no schema extension; use {allowed}")
    return kind


def subject_for(topic: str, field: Field) -> str:
    """The subject of a topic's keys or values: the topic-name strategy, `TOPIC-key|value`."""
    return f"{topic}-{field}"


@dataclass(frozen=True)
class SchemaRequest:
    """What produce asks of the registry for keys or values.

    `text` set: a schema file (`kind` from its extension) to register under `subject` (or, with
    `register` off, to find there). `text` None: the subject's latest registered version.
    `message` names the Protobuf message (default: the file's first).
    """

    field: Field
    subject: str
    text: str | None = None
    kind: SchemaKind | None = None
    message: str | None = None
    register: bool = True
    path: str | None = None


@dataclass(frozen=True)
class Decoded:
    """A record's key or value decoded from the wire format: a JSON-ready document and the
    schema id it was written with."""

    document: Any
    schema_id: int


class Encoder(Protocol):
    """Turns documents into wire-format bytes with one schema (adapter: kafkactl.kafka.schemas)."""

    subject: str
    schema_id: int
    version: int | None
    kind: SchemaKind

    def encode(self, document: Any) -> bytes:
        """The wire-format bytes of `document`; SchemaMismatch when it does not fit."""
        ...


class Decoder(Protocol):
    """Reads wire-format bytes back into documents (adapter: kafkactl.kafka.schemas)."""

    def framed(self, data: bytes | None) -> bool:
        """Whether `data` is in the registry's wire format (and so is decoded)."""
        ...

    def decode(self, data: bytes, topic: str, field: Field) -> Decoded:
        """The document in `data`; RecordDecodeError when it cannot be decoded."""
        ...


class SchemaRegistry(Protocol):
    """A connected registry: encoders for produce, a decoder for consume, subjects for health."""

    url: str

    def encoder(self, request: SchemaRequest, topic: str) -> Encoder:
        """An encoder for `request` (registers or looks the schema up now: RegistryError,
        RegistryUnreachable, UsageError for a schema file that does not parse)."""
        ...

    def encoder_for_id(self, schema_id: int, topic: str, field: Field) -> Encoder:
        """An encoder for the schema with this id (envelopes that carry one)."""
        ...

    def decoder(self) -> Decoder:
        """The decoder of wire-format records (thread-safe)."""
        ...

    def subjects(self) -> list[str]:
        """Every subject registered (RegistryUnreachable when it cannot be asked)."""
        ...

    def close(self) -> None:
        """Release the HTTP client."""
        ...
