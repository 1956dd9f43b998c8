"""Decoded documents as JSON (imports nothing of kafkactl: the envelope codec uses it)."""

from __future__ import annotations

import datetime
import decimal
import uuid
from typing import Any

import orjson


def _json_default(value: Any) -> Any:
    """JSON for what a decoder may return besides JSON types (Avro bytes, fixed, decimal and
    time logical types)."""
    if isinstance(value, bytes | bytearray | memoryview):
        # Avro's own JSON encoding of bytes: one character per byte (U+0000 to U+00FF).
        return bytes(value).decode("latin-1")
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.date | datetime.time | uuid.UUID):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def document_json(document: Any) -> bytes:
    """A decoded document as compact JSON text (bytes as Avro's JSON encoding)."""
    return orjson.dumps(document, default=_json_default, option=orjson.OPT_NON_STR_KEYS)


def jsonable(document: Any) -> Any:
    """A decoded document with only JSON types in it (for envelopes built with orjson)."""
    return orjson.loads(document_json(document))


def document_text(document: Any) -> bytes:
    """How a decoded key or value reads as text (-f value, templates, --exec stdin): a string
    as itself, anything else as compact JSON."""
    if isinstance(document, str):
        return document.encode("utf-8")
    return document_json(document)
