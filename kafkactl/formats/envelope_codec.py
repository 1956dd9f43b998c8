"""The envelope `consume` prints (DESIGN §7.3): kcat's `-J` shape plus binary safety.

Key and payload are UTF-8 text, or base64 with `key_encoding` / `payload_encoding: "base64"`.
Header values are all text, or, when any of them is not UTF-8, all base64 with
`headers_encoding: "base64"`; header names likewise, with `header_names_encoding: "base64"`
(Kafka calls names strings, but the wire and kcat -H carry any bytes).
`kafkactl.formats.envelope` reads these lines back byte for byte.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import orjson

from kafkactl.kafka.ports import header_name_bytes, is_raw_name
from kafkactl.schemas.documents import document_json
from kafkactl.schemas.model import Decoded

BASE64 = "base64"
TIMESTAMP_TYPES = {0: "create", 1: "logappend"}


def tstype_name(timestamp_type: int | str | None) -> str:
    """kcat's name for a timestamp type: create, logappend, or none."""
    if isinstance(timestamp_type, str):
        return timestamp_type
    return TIMESTAMP_TYPES.get(timestamp_type, "none") if timestamp_type is not None else "none"


def encode_envelope(
    topic: str,
    partition: int,
    offset: int,
    timestamp: int | None,
    timestamp_type: int | str | None,
    key: bytes | None,
    value: bytes | None,
    headers: Sequence[tuple[str, bytes | None]] | None,
    key_document: Decoded | None = None,
    value_document: Decoded | None = None,
) -> bytes:
    """One envelope line (without newline), kcat -J shape, binary-safe:
    `{"topic","partition","offset","tstype","ts","headers":[k,v,...],"key","payload"}`.

    A key or value decoded from the schema registry's wire format is its document (any JSON)
    with `key_schema_id` / `value_schema_id` beside it; `produce --format envelope` encodes it
    back with that schema."""
    doc: dict[str, Any] = {
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "tstype": tstype_name(timestamp_type),
        "ts": timestamp if timestamp is not None else -1,
        "headers": None,
        "key": None,
        "payload": None,
    }
    flat: list[str | None] = []
    headers_b64 = False
    if headers:
        try:
            for name, hv in headers:
                flat.append(name)
                flat.append(None if hv is None else hv.decode("utf-8"))
        except UnicodeDecodeError:
            headers_b64 = True
            flat = []
            for name, hv in headers:
                flat.append(name)
                flat.append(None if hv is None else base64.b64encode(hv).decode("ascii"))
    doc["headers"] = flat
    if key_document is None:
        _put_data(doc, "key", key)
    else:
        doc["key"] = key_document.document
        doc["key_schema_id"] = key_document.schema_id
    if value_document is None:
        _put_data(doc, "payload", value)
    else:
        doc["payload"] = value_document.document
        doc["value_schema_id"] = value_document.schema_id
    if headers_b64:
        doc["headers_encoding"] = BASE64
    plain = key_document is None and value_document is None
    try:
        return orjson.dumps(doc) if plain else document_json(doc)
    except orjson.JSONEncodeError:
        # A header name that is not UTF-8 (its escaped bytes are no JSON text): checked only
        # here, so ordinary records pay nothing for it.
        if not any(is_raw_name(name) for name in flat[0::2] if name is not None):
            raise
    flat[0::2] = [_b64_name(name) for name in flat[0::2] if name is not None]
    doc["header_names_encoding"] = BASE64
    return orjson.dumps(doc) if plain else document_json(doc)


_NEWLINE = orjson.OPT_APPEND_NEWLINE


def envelope_line(
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    headers: Sequence[tuple[str, bytes | None]] | None,
    timestamp: int,
    timestamp_type: int,
) -> bytes:
    """`encode_envelope` of a record as it comes off the engine, with its newline: the
    reader's fast path (a RecordEncoder). Text fields go straight into one dict; anything
    else (bytes that are not UTF-8, a header name that is not) takes `encode_envelope`, so
    the bytes are the same either way."""
    try:
        flat: list[str | None] = []
        if headers:
            for name, hv in headers:
                flat.append(name)
                flat.append(None if hv is None else hv.decode("utf-8"))
        return orjson.dumps(
            {
                "topic": topic,
                "partition": partition,
                "offset": offset,
                "tstype": TIMESTAMP_TYPES[timestamp_type],
                "ts": timestamp,
                "headers": flat,
                "key": None if key is None else key.decode("utf-8"),
                "payload": None if value is None else value.decode("utf-8"),
            },
            option=_NEWLINE,
        )
    except (UnicodeDecodeError, orjson.JSONEncodeError, KeyError, TypeError):
        line = encode_envelope(
            topic, partition, offset, timestamp, timestamp_type, key, value, headers
        )
        return line + b"\n"


def _b64_name(name: str) -> str:
    """A header name's exact bytes in base64."""
    return base64.b64encode(header_name_bytes(name)).decode("ascii")


def _put_data(doc: dict[str, Any], name: str, data: bytes | None) -> None:
    """Key or payload bytes as UTF-8 text, or as base64 with `<name>_encoding: "base64"`."""
    if data is None:
        return
    try:
        doc[name] = data.decode("utf-8")
    except UnicodeDecodeError:
        doc[name] = base64.b64encode(data).decode("ascii")
        doc[f"{name}_encoding"] = BASE64
