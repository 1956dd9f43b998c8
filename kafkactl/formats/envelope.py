"""`--format envelope`: what `kafkactl consume` prints and what `kcat -C -J` prints (DESIGN §5.1).

An object with `key`, `payload` (or `value`), `headers`, `partition`, `ts`, with `key_encoding`
/ `payload_encoding` / `headers_encoding` / `header_names_encoding` set to `"base64"` when the
bytes are not UTF-8.
kcat itself writes non-UTF-8 bytes raw into its JSON; those lines are read back byte-exact too
(see `loads_lossless`).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

from kafkactl.formats.base import FieldParser, FormatError, ParsedRecord, strip_newline
from kafkactl.formats.envelope_codec import BASE64
from kafkactl.formats.jsontext import (
    Number,
    exact,
    field_bytes,
    loads,
    loads_lossless,
    loads_numbers_as_written,
    scalar_text,
)
from kafkactl.formats.limits import check_partition, check_timestamp
from kafkactl.formats.message_id import has_message_id
from kafkactl.headers import MESSAGE_ID
from kafkactl.kafka.ports import header_name, header_name_bytes


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
    # numbers as written (the caller passes them as Number when the line has any).
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


def _header_name(name: Any, names_base64: bool) -> str:
    """A header name; its bytes, when not UTF-8, surrogate-escaped (kafkactl.kafka.ports)."""
    if not isinstance(name, str):
        raise FormatError(f"header name must be a string, not {type(name).__name__}")
    if names_base64:
        return header_name(_b64(name, f"header name {name!r}"))
    if not name.isascii():
        # kcat -J writes a name's non-UTF-8 bytes raw (read back surrogate-escaped); a JSON
        # escape of a lone surrogate (\ud800) stands for no bytes at all.
        try:
            header_name_bytes(name)
        except UnicodeEncodeError:
            raise FormatError(
                f"header name {name.encode('utf-8', 'backslashreplace').decode()!r} holds a "
                "lone surrogate; write names that are not UTF-8 in base64 with "
                '"header_names_encoding": "base64"'
            ) from None
    return name


def parse_headers(
    raw: Any, base64_encoded: bool = False, errors: str = "strict", names_base64: bool = False
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
        for key, value in raw.items():
            name = _header_name(key, names_base64)
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
            name = _header_name(item["key"], names_base64)
            out.append((name, _header_value(item.get("value"), base64_encoded, name, errors)))
        return out
    if all(isinstance(item, list) for item in raw):
        for item in raw:
            if len(item) != 2:
                raise FormatError("each header pair must be [name, value]")
            name = _header_name(item[0], names_base64)
            out.append((name, _header_value(item[1], base64_encoded, name, errors)))
        return out
    if len(raw) % 2:
        raise FormatError("headers as a flat array need an even number of items [k, v, ...]")
    for i in range(0, len(raw), 2):
        name = _header_name(raw[i], names_base64)
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
    document, errors = loads_lossless(text)
    if isinstance(document, dict) and (
        not exact([document.get("payload", document.get("value")), document.get("headers")])
        or any(isinstance(document.get(name), float) for name in ("partition", "ts", "timestamp"))
    ):
        # A JSON payload or a header value with a float or zero in it: numbers as written;
        # a partition or ts beyond 64 bits (orjson reads it as a float): the integer it is.
        document = loads_numbers_as_written(text)
        for name in ("partition", "ts", "timestamp"):  # these are numbers, not text
            if isinstance(document.get(name), Number):
                document[name] = _number(document[name])
    if not isinstance(document, dict):
        raise FormatError(f"an envelope must be a JSON object, not {_kind(document)}")
    if "payload" in document:
        payload_raw = document["payload"]
    elif "value" in document:
        payload_raw = document["value"]
    else:
        raise FormatError("envelope has no 'payload' (or 'value') field")
    value_schema_id = _schema_id(document, "value_schema_id")
    key_schema_id = _schema_id(document, "key_schema_id")
    if value_schema_id is not None:
        value = _document_text(payload_raw)
    else:
        value = _data(payload_raw, _encoding(document, "payload_encoding"), "payload", errors)
    if key_schema_id is not None:
        key = _document_text(document.get("key"))
    else:
        key = _data(document.get("key"), _encoding(document, "key_encoding"), "key", errors)
    headers = parse_headers(
        document.get("headers"),
        _encoding(document, "headers_encoding"),
        errors,
        _encoding(document, "header_names_encoding"),
    )
    if fixed_key is not None:
        key = fixed_key.encode("utf-8") if isinstance(fixed_key, str) else fixed_key
    if key_field is not None or message_id_field is not None:
        try:
            payload_doc = loads(value) if value is not None else None
        except FormatError as exc:
            flag = "--key-field" if key_field is not None else "--message-id-field"
            raise FormatError(f"payload is not JSON, needed for {flag}: {exc.reason}") from None
        if key_field is not None:
            key = field_bytes(payload_doc, key_field, "key field", value)
        if message_id_field is not None and not has_message_id(headers):
            headers.append(
                (
                    MESSAGE_ID,
                    field_bytes(payload_doc, message_id_field, "message-id field", value),
                )
            )
    if value is None and key is None:
        raise FormatError("envelope has neither key nor payload (a null payload needs a key)")
    partition = document.get("partition")
    if partition is not None:
        partition = check_partition(partition, "partition")
    ts = document.get("ts", document.get("timestamp"))
    return ParsedRecord(
        key, value, headers, partition, check_timestamp(ts), key_schema_id, value_schema_id
    )


def _schema_id(document: dict[str, Any], name: str) -> int | None:
    """`value_schema_id` / `key_schema_id`: the registry id a decoded payload or key was
    written with (consume prints it); the part is then a document to encode with it."""
    raw = document.get(name)
    if raw is None:
        return None
    if isinstance(raw, str) and raw.isdigit():  # a Number: written as digits
        raw = int(raw)
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= 2**31 - 1:
        raise FormatError(f"{name} must be a schema id (a whole number 0 to 2^31-1), not {raw!r}")
    return raw


def _document_text(document: Any) -> bytes | None:
    """A decoded key or payload as JSON text (null stays None: a tombstone or no key)."""
    if document is None:
        return None
    if isinstance(document, str) and not isinstance(document, Number):
        return orjson.dumps(document)
    return scalar_text(document)


def _number(text: str) -> Any:
    """A Number back as the Python number it says (int when whole as written)."""
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


class EnvelopeParser(FieldParser):
    """`--format envelope` as a Parser: `fixed_key` replaces the envelope's key; `key_field`
    and `message_id_field` are looked up in a JSON payload."""

    def parse(self, line: bytes) -> ParsedRecord:
        """The record of one envelope line."""
        return parse_envelope_line(line, self.key_field, self.fixed_key, self.message_id_field)
