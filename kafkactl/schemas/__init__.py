"""Schemas through a Confluent-compatible registry (DESIGN §14.1), as the core sees them.

`model` holds the kinds (Avro, JSON Schema, Protobuf, from a file's extension), the subject
rule (`TOPIC-key|value`, the topic-name strategy), the --decode modes, and the ports the
registry adapter (kafkactl.kafka.schemas, the only place that imports the registry client)
implements; `stage` encodes produce's records; `decoding` decodes consumed ones before their
handler; `documents` writes decoded documents as JSON. The wire format itself is the library's.
"""

from __future__ import annotations

from kafkactl.schemas.model import (
    DECODE_MODES,
    Decoded,
    DecodeMode,
    Decoder,
    Encoder,
    Field,
    SchemaKind,
    SchemaRegistry,
    SchemaRequest,
    kind_for_file,
    subject_for,
)

__all__ = [
    "DECODE_MODES",
    "DecodeMode",
    "Decoded",
    "Decoder",
    "Encoder",
    "Field",
    "SchemaKind",
    "SchemaRegistry",
    "SchemaRequest",
    "kind_for_file",
    "subject_for",
]
