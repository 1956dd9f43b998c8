"""Reading JSON lines the way every format needs: UTF-8 only, numbers kept as written, fields.

Nothing here guesses an encoding: a BOM, UTF-16/32 or bytes that are not UTF-8 are a
FormatError. A number a key or id is taken from is the number as written (`1.50`, `1e400`).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from kafkactl.formats.base import FormatError


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_BOM = b"\xef\xbb\xbf"


def utf8_problem(text: bytes) -> str | None:
    """Why a JSON line is not UTF-8 text (RFC 8259), or None when it is."""
    if text.startswith(_BOM):
        return "starts with a byte order mark; JSON lines are UTF-8 without one"
    if text.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in text:
        return "is UTF-16 or UTF-32, not UTF-8 (convert it: iconv -f UTF-16 -t UTF-8)"
    try:
        text.decode("utf-8")
    except UnicodeDecodeError as exc:
        return (
            f"is not valid UTF-8 (byte 0x{text[exc.start]:02x} at column {exc.start + 1}); "
            "JSON lines are UTF-8"
        )
    return None


def loads(text: bytes) -> Any:
    """Parse one JSON document, which must be UTF-8 text; orjson first, the standard library
    for what orjson refuses but JSON allows (integers beyond 64 bits). Never guesses an
    encoding: a BOM, UTF-16/32 or bytes that are not UTF-8 are a FormatError."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        first = exc
    problem = utf8_problem(text)
    if problem:
        raise FormatError(f"invalid JSON: the line {problem}")
    try:
        return json.loads(text.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise FormatError(f"invalid JSON: {first}") from None


def loads_lossless(text: bytes) -> tuple[Any, str]:
    """Parse an envelope line; returns the document and the error mode to turn its strings back
    into bytes. kcat -J writes bytes that are not UTF-8 raw into its strings: such lines are
    decoded with `surrogateescape`, so those bytes come back exactly. That is the only
    exception to UTF-8: a BOM, UTF-16/32 input or stray bytes outside strings are invalid."""
    try:
        return orjson.loads(text), "strict"
    except orjson.JSONDecodeError as exc:
        first = exc
    if text.startswith((_BOM, b"\xff\xfe", b"\xfe\xff")) or b"\x00" in text:
        raise FormatError(f"invalid JSON: the line {utf8_problem(text)}")
    try:
        return json.loads(
            text.decode("utf-8", "surrogateescape"), parse_constant=_reject_constant
        ), "surrogateescape"
    except (ValueError, RecursionError):
        raise FormatError(f"invalid JSON: {first}") from None


class Number(str):
    """A JSON number exactly as written in the input (`1e400`, `1.50`, `-0`)."""

    __slots__ = ()


def loads_numbers_as_written(text: bytes) -> Any:
    """Parse `text` keeping every number as the text it was written as (a Number)."""
    return json.loads(
        text.decode("utf-8", "surrogateescape"),
        parse_float=Number,
        parse_int=Number,
        parse_constant=_reject_constant,
    )


def compact(value: Any) -> bytes:
    """Compact JSON of a value from _loads_numbers_as_written, numbers as written."""
    if isinstance(value, Number):
        return value.encode()
    if isinstance(value, dict):
        return (
            b"{" + b",".join(orjson.dumps(k) + b":" + compact(v) for k, v in value.items()) + b"}"
        )
    if isinstance(value, list):
        return b"[" + b",".join(compact(v) for v in value) + b"]"
    if isinstance(value, str):
        return orjson.dumps(value.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
    return orjson.dumps(value)


def exact(value: Any) -> bool:
    """True when `value` (from orjson) prints back as written: no float, no zero that may
    have been `-0`, inside it; a Number is as written but not a JSON string)."""
    if isinstance(value, Number):
        return False
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return True
    if isinstance(value, int):
        return value != 0
    if isinstance(value, dict):
        return all(exact(v) for v in value.values())
    if isinstance(value, list):
        return all(exact(v) for v in value)
    return False


def field_value(document: Any, path: str) -> Any:
    """The value at dotted `path` (`a.b`, `items.0.id`) in a parsed document.

    Raises KeyError naming the first missing part.
    """
    node = document
    for part in path.split("."):
        if isinstance(node, dict):
            if part not in node:
                raise KeyError(part)
            node = node[part]
        elif isinstance(node, list) and part.lstrip("-").isdigit():
            index = int(part)
            if not -len(node) <= index < len(node):
                raise KeyError(part)
            node = node[index]
        else:
            raise KeyError(part)
    return node


def scalar_text(value: Any) -> bytes:
    """A field value as key or id bytes: strings as UTF-8, numbers and booleans as JSON text,
    objects and arrays as compact JSON (numbers as written when parsed as Number)."""
    if isinstance(value, Number):
        return value.encode()
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, bool):
        return b"true" if value else b"false"
    if isinstance(value, int | float):
        return str(value).encode()
    if isinstance(value, dict | list) and not exact(value):
        return compact(value)
    return orjson.dumps(value)


def field_bytes(document: Any, path: str, what: str, text: bytes | None = None) -> bytes:
    """The field at `path` as bytes; a number is taken exactly as written in `text`."""
    try:
        value = field_value(document, path)
    except KeyError as exc:
        detail = "" if exc.args[0] == path else f" (no {exc.args[0]!r})"
        raise FormatError(f"{what} {path!r} is missing{detail}") from None
    if value is None:
        raise FormatError(f"{what} {path!r} is null")
    if text is not None and not exact(value):
        # A float (1.50, 1e400, an integer beyond 64 bits) or a zero (maybe -0) does not print
        # back as written: read the field again from the text, numbers kept as written.
        value = field_value(loads_numbers_as_written(text), path)
    return scalar_text(value)
