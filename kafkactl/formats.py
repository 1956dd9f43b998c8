"""Input line formats for `produce`, and the envelope codec shared with `consume` (SPEC §6, §7).

Three input formats, one record per line:

- json: the line is one JSON document and becomes the value byte for byte (without the
  newline); the key comes from a dotted field path (`--key-field a.b`) or a fixed `--key`.
- envelope: what `kafkactl consume` prints and what `kcat -C -J` prints: an object with `key`,
  `payload` (or `value`), `headers`, `partition`, `ts`, with `key_encoding` /
  `payload_encoding` / `headers_encoding` set to `"base64"` when the bytes are not UTF-8.
- raw: the line's bytes are the value; a key delimiter (like kcat `-K`) splits key from value.

The envelope written by `encode_envelope` is kcat's `-J` shape plus binary safety: key and
payload are UTF-8 text, or base64 with `key_encoding` / `payload_encoding: "base64"`. Header
values are all text, or, when any of them is not UTF-8, all base64 with `headers_encoding:
"base64"`. kcat itself writes non-UTF-8 bytes raw into its JSON; those lines are read back
byte-exact too (see `_loads_lossless`).

Nothing here imports kafka-python, Typer or Rich.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from kafkactl.headers import MESSAGE_ID

FORMATS = ("json", "envelope", "raw")
BASE64 = "base64"
TIMESTAMP_TYPES = {0: "create", 1: "logappend"}


class FormatError(ValueError):
    """An input line that cannot become a record; `reason` says why, in one line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(slots=True)
class ParsedRecord:
    """One record read from a line, ready to publish."""

    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    partition: int | None = None
    timestamp_ms: int | None = None


# --- helpers ----------------------------------------------------------------------------------


def strip_newline(line: bytes) -> bytes:
    """The line without its trailing `\\n` (and a `\\r` before it, for CRLF files)."""
    if line.endswith(b"\n"):
        line = line[:-2] if line.endswith(b"\r\n") else line[:-1]
    return line


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


# Kafka's protocol limits for numbers taken from input (RecordBatch fields, SPEC §6).
MAX_PARTITION = 2**31 - 1  # partition ids are int32
MAX_TIMESTAMP = 2**63 - 1  # timestamps are int64 epoch milliseconds
NO_TIMESTAMP = -1  # what kcat and `kafkactl consume` print for a record without a timestamp

_BOM = b"\xef\xbb\xbf"


def _utf8_problem(text: bytes) -> str | None:
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


def _loads(text: bytes) -> Any:
    """Parse one JSON document, which must be UTF-8 text; orjson first, the standard library
    for what orjson refuses but JSON allows (integers beyond 64 bits). Never guesses an
    encoding: a BOM, UTF-16/32 or bytes that are not UTF-8 are a FormatError."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        first = exc
    problem = _utf8_problem(text)
    if problem:
        raise FormatError(f"invalid JSON: the line {problem}")
    try:
        return json.loads(text.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise FormatError(f"invalid JSON: {first}") from None


def _loads_lossless(text: bytes) -> tuple[Any, str]:
    """Parse an envelope line; returns the document and the error mode to turn its strings back
    into bytes. kcat -J writes bytes that are not UTF-8 raw into its strings: such lines are
    decoded with `surrogateescape`, so those bytes come back exactly. That is the only
    exception to UTF-8: a BOM, UTF-16/32 input or stray bytes outside strings are invalid."""
    try:
        return orjson.loads(text), "strict"
    except orjson.JSONDecodeError as exc:
        first = exc
    if text.startswith((_BOM, b"\xff\xfe", b"\xfe\xff")) or b"\x00" in text:
        raise FormatError(f"invalid JSON: the line {_utf8_problem(text)}")
    try:
        return json.loads(
            text.decode("utf-8", "surrogateescape"), parse_constant=_reject_constant
        ), "surrogateescape"
    except (ValueError, RecursionError):
        raise FormatError(f"invalid JSON: {first}") from None


class _Number(str):
    """A JSON number exactly as written in the input (`1e400`, `1.50`, `-0`)."""

    __slots__ = ()


def _loads_numbers_as_written(text: bytes) -> Any:
    """Parse `text` keeping every number as the text it was written as (a _Number)."""
    return json.loads(
        text.decode("utf-8", "surrogateescape"),
        parse_float=_Number,
        parse_int=_Number,
        parse_constant=_reject_constant,
    )


def _compact(value: Any) -> bytes:
    """Compact JSON of a value from _loads_numbers_as_written, numbers as written."""
    if isinstance(value, _Number):
        return value.encode()
    if isinstance(value, dict):
        return (
            b"{" + b",".join(orjson.dumps(k) + b":" + _compact(v) for k, v in value.items()) + b"}"
        )
    if isinstance(value, list):
        return b"[" + b",".join(_compact(v) for v in value) + b"]"
    if isinstance(value, str):
        return orjson.dumps(value.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
    return orjson.dumps(value)


def _exact(value: Any) -> bool:
    """True when `value` (from orjson) prints back as written: no float, no zero that may
    have been `-0`, inside it; a _Number is as written but not a JSON string)."""
    if isinstance(value, _Number):
        return False
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return True
    if isinstance(value, int):
        return value != 0
    if isinstance(value, dict):
        return all(_exact(v) for v in value.values())
    if isinstance(value, list):
        return all(_exact(v) for v in value)
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
    objects and arrays as compact JSON (numbers as written when parsed as _Number)."""
    if isinstance(value, _Number):
        return value.encode()
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, bool):
        return b"true" if value else b"false"
    if isinstance(value, int | float):
        return str(value).encode()
    if isinstance(value, dict | list) and not _exact(value):
        return _compact(value)
    return orjson.dumps(value)


def _field_bytes(document: Any, path: str, what: str, text: bytes | None = None) -> bytes:
    """The field at `path` as bytes; a number is taken exactly as written in `text`."""
    try:
        value = field_value(document, path)
    except KeyError as exc:
        detail = "" if exc.args[0] == path else f" (no {exc.args[0]!r})"
        raise FormatError(f"{what} {path!r} is missing{detail}") from None
    if value is None:
        raise FormatError(f"{what} {path!r} is null")
    if text is not None and not _exact(value):
        # A float (1.50, 1e400, an integer beyond 64 bits) or a zero (maybe -0) does not print
        # back as written: read the field again from the text, numbers kept as written.
        value = field_value(_loads_numbers_as_written(text), path)
    return scalar_text(value)


_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


def _message_ids() -> Iterator[bytes]:
    """Fresh UUID4s in canonical text form, from batched os.urandom (a third of uuid4's cost)."""
    while True:
        pool = os.urandom(16 * 4096).hex()
        for p in range(0, len(pool), 32):
            h = pool[p : p + 32]
            # Version 4 in the 13th digit, the RFC 4122 variant in the 17th.
            yield f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}".encode()


_next_message_id = _message_ids().__next__
_message_id_lock = threading.Lock()


def new_message_id() -> bytes:
    """A new UUID4 message id (`xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx`); thread-safe."""
    with _message_id_lock:
        return _next_message_id()


def has_message_id(headers: list[tuple[str, bytes]]) -> bool:
    """True when the headers carry a `message-id`."""
    return any(k == MESSAGE_ID for k, _ in headers)


# --- json -------------------------------------------------------------------------------------


def parse_json_line(
    line: bytes,
    key_field: str | None = None,
    fixed_key: str | bytes | None = None,
    message_id_field: str | None = None,
) -> ParsedRecord:
    """A `--format json` line: the value is the line as given (without the newline), checked to
    be one JSON document; the key comes from `key_field` or is `fixed_key`; a
    `message_id_field` becomes the `message-id` header."""
    value = strip_newline(line)
    document = _loads(value)
    key: bytes | None = None
    if key_field is not None:
        key = _field_bytes(document, key_field, "key field", value)
    elif fixed_key is not None:
        key = fixed_key.encode("utf-8") if isinstance(fixed_key, str) else fixed_key
    headers: list[tuple[str, bytes]] = []
    if message_id_field is not None:
        headers.append(
            (MESSAGE_ID, _field_bytes(document, message_id_field, "message-id field", value))
        )
    return ParsedRecord(key, value, headers)


# --- raw --------------------------------------------------------------------------------------


def parse_key_delimiter(text: str) -> bytes:
    """A `--key-delimiter` as bytes; `\\t` and `\\\\` are understood, like kcat `-K`."""
    if not text:
        raise ValueError("must not be empty")
    return text.replace("\\t", "\t").replace("\\\\", "\\").encode("utf-8")


def parse_raw_line(line: bytes, key_delimiter: bytes | str | None = None) -> ParsedRecord:
    """A `--format raw` line: its bytes are the value (without the newline). With a delimiter,
    the part before its first occurrence is the key (like kcat `-K`); a line without the
    delimiter has no key and is all value, as with kcat."""
    value = line[:-1] if line.endswith(b"\n") else line
    if key_delimiter:
        delim = key_delimiter.encode("utf-8") if isinstance(key_delimiter, str) else key_delimiter
        key, sep, rest = value.partition(delim)
        if sep:
            return ParsedRecord(key, rest, [])
    return ParsedRecord(None, value, [])


# --- envelope ---------------------------------------------------------------------------------


def _b64(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise FormatError(f"{what} is base64-encoded but is not a string")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise FormatError(f"{what} is not valid base64") from None


def _encoding(document: dict[str, Any], name: str) -> bool:
    """True when `name` (e.g. payload_encoding) says base64; FormatError for other values."""
    encoding = document.get(name)
    if encoding is None or encoding in ("utf-8", "utf8", "text"):
        return False
    if encoding == BASE64:
        return True
    raise FormatError(f"{name} {encoding!r} is not supported; use base64")


def _data(value: Any, base64_encoded: bool, what: str, errors: str) -> bytes | None:
    """Key or payload bytes from the envelope (null stays None)."""
    if value is None:
        return None
    if base64_encoded:
        return _b64(value, what)
    if isinstance(value, str):
        return value.encode("utf-8", errors)
    if what == "key":
        raise FormatError(f"key must be a string or null, not {type(value).__name__}")
    # A hand-written envelope with a JSON payload: the compact JSON text is the value, its
    # numbers as written (the caller passes them as _Number when the line has any).
    return scalar_text(value)


def _header_value(value: Any, base64_encoded: bool, name: str, errors: str) -> bytes:
    if value is None:
        return b""
    if base64_encoded:
        return _b64(value, f"header {name!r}")
    if isinstance(value, str):
        return value.encode("utf-8", errors)
    if isinstance(value, int | float | bool):
        return scalar_text(value)
    raise FormatError(f"header {name!r} value must be a string or null")


def _header_name(name: Any, errors: str) -> str:
    if not isinstance(name, str):
        raise FormatError(f"header name must be a string, not {type(name).__name__}")
    if errors != "strict":
        # Header names are text in Kafka; keep raw bytes kcat may have written as they were.
        return name.encode("utf-8", errors).decode("utf-8", "replace")
    return name


def parse_headers(
    raw: Any, base64_encoded: bool = False, errors: str = "strict"
) -> list[tuple[str, bytes]]:
    """Envelope headers in any of the accepted shapes, as (name, bytes) pairs in order:

    - kcat's flat array `["k1", "v1", "k2", "v2"]`,
    - an object `{"k1": "v1"}` (a list value repeats the header),
    - a list of `{"key": "k1", "value": "v1"}` objects (or `[k, v]` pairs).
    """
    if raw is None:
        return []
    out: list[tuple[str, bytes]] = []
    if isinstance(raw, dict):
        for name, value in raw.items():
            values = value if isinstance(value, list) else [value]
            for item in values:
                out.append((name, _header_value(item, base64_encoded, name, errors)))
        return out
    if not isinstance(raw, list):
        raise FormatError("headers must be an array or an object")
    if not raw:
        return out
    if all(isinstance(item, dict) for item in raw):
        for item in raw:
            if "key" not in item:
                raise FormatError("each header object needs a 'key' (and a 'value')")
            name = _header_name(item["key"], errors)
            out.append((name, _header_value(item.get("value"), base64_encoded, name, errors)))
        return out
    if all(isinstance(item, list) for item in raw):
        for item in raw:
            if len(item) != 2:
                raise FormatError("each header pair must be [name, value]")
            name = _header_name(item[0], errors)
            out.append((name, _header_value(item[1], base64_encoded, name, errors)))
        return out
    if len(raw) % 2:
        raise FormatError("headers as a flat array need an even number of items [k, v, ...]")
    for i in range(0, len(raw), 2):
        name = _header_name(raw[i], errors)
        out.append((name, _header_value(raw[i + 1], base64_encoded, name, errors)))
    return out


def parse_envelope_line(
    line: bytes,
    key_field: str | None = None,
    fixed_key: str | bytes | None = None,
    message_id_field: str | None = None,
) -> ParsedRecord:
    """A `--format envelope` line (kafkactl's envelope or kcat -J output) as a record.

    `payload` (or `value`) may be null when there is a key (a tombstone). `partition` and `ts`
    are kept when present. `fixed_key` replaces the envelope's key; `key_field` and
    `message_id_field` are looked up in the payload when it is JSON.
    """
    text = strip_newline(line)
    document, errors = _loads_lossless(text)
    if isinstance(document, dict) and (
        not _exact([document.get("payload", document.get("value")), document.get("headers")])
        or any(isinstance(document.get(name), float) for name in ("partition", "ts", "timestamp"))
    ):
        # A JSON payload or a header value with a float or zero in it: numbers as written;
        # a partition or ts beyond 64 bits (orjson reads it as a float): the integer it is.
        document = _loads_numbers_as_written(text)
        for name in ("partition", "ts", "timestamp"):  # these are numbers, not text
            if isinstance(document.get(name), _Number):
                document[name] = _number(document[name])
    if not isinstance(document, dict):
        raise FormatError(f"an envelope must be a JSON object, not {_kind(document)}")
    if "payload" in document:
        payload_raw = document["payload"]
    elif "value" in document:
        payload_raw = document["value"]
    else:
        raise FormatError("envelope has no 'payload' (or 'value') field")
    value = _data(payload_raw, _encoding(document, "payload_encoding"), "payload", errors)
    key = _data(document.get("key"), _encoding(document, "key_encoding"), "key", errors)
    headers = parse_headers(
        document.get("headers"), _encoding(document, "headers_encoding"), errors
    )
    if fixed_key is not None:
        key = fixed_key.encode("utf-8") if isinstance(fixed_key, str) else fixed_key
    if key_field is not None or message_id_field is not None:
        try:
            payload_doc = _loads(value) if value is not None else None
        except FormatError as exc:
            flag = "--key-field" if key_field is not None else "--message-id-field"
            raise FormatError(f"payload is not JSON, needed for {flag}: {exc.reason}") from None
        if key_field is not None:
            key = _field_bytes(payload_doc, key_field, "key field", value)
        if message_id_field is not None and not has_message_id(headers):
            headers.append(
                (
                    MESSAGE_ID,
                    _field_bytes(payload_doc, message_id_field, "message-id field", value),
                )
            )
    if value is None and key is None:
        raise FormatError("envelope has neither key nor payload (a null payload needs a key)")
    partition = document.get("partition")
    if partition is not None:
        partition = check_partition(partition, "partition")
    ts = document.get("ts", document.get("timestamp"))
    return ParsedRecord(key, value, headers, partition, check_timestamp(ts))


def check_partition(value: Any, what: str = "partition") -> int:
    """A partition number from input: a whole number 0..2^31-1 (Kafka's int32), else
    FormatError."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise FormatError(f"{what} must be a whole number 0 or more, not {value!r}")
    if value > MAX_PARTITION:
        raise FormatError(
            f"{what} {value} is out of range: Kafka partitions are 0 to {MAX_PARTITION}"
        )
    return value


def check_timestamp(value: Any) -> int | None:
    """An envelope `ts` as a record timestamp: epoch milliseconds 0..2^63-1 (Kafka's int64);
    -1 (what kcat and consume print for a record without one) or null: none, the producer
    stamps the time of sending. Anything else is a FormatError."""
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise FormatError(f"ts must be epoch milliseconds (a whole number), not {value!r}")
    if value == NO_TIMESTAMP:
        return None
    if value < 0:
        raise FormatError(
            f"ts {value} is before 1970: Kafka timestamps are epoch milliseconds 0 to "
            f"{MAX_TIMESTAMP} (-1: none, the time of sending)"
        )
    if value > MAX_TIMESTAMP:
        raise FormatError(
            f"ts {value} is out of range: Kafka timestamps are epoch milliseconds 0 to "
            f"{MAX_TIMESTAMP}"
        )
    return value


def _number(text: str) -> Any:
    """A _Number back as the Python number it says (int when whole as written)."""
    try:
        return int(text)
    except ValueError:
        return float(text)


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    return type(value).__name__


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
) -> bytes:
    """One envelope line (without newline), kcat -J shape, binary-safe:
    `{"topic","partition","offset","tstype","ts","headers":[k,v,...],"key","payload"}`."""
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
    if key is not None:
        try:
            doc["key"] = key.decode("utf-8")
        except UnicodeDecodeError:
            doc["key"] = base64.b64encode(key).decode("ascii")
            doc["key_encoding"] = BASE64
    if value is not None:
        try:
            doc["payload"] = value.decode("utf-8")
        except UnicodeDecodeError:
            doc["payload"] = base64.b64encode(value).decode("ascii")
            doc["payload_encoding"] = BASE64
    if headers_b64:
        doc["headers_encoding"] = BASE64
    return orjson.dumps(doc)
