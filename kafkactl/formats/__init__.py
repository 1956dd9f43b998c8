"""Input line formats for `produce`, and the envelope codec shared with `consume` (DESIGN §5.1,
§7.3).

Three input formats, one record per line, one module each behind the `Parser` protocol
(`base`): `json_lines` (`--format json`), `envelope` (kafkactl's envelope and kcat -J), `raw`.
`envelope_codec` writes the envelope `consume` prints; `jsontext` holds the UTF-8 and
numbers-as-written rules of JSON input, `limits` Kafka's ranges for partitions and timestamps,
`message_id` the UUID4s of `produce --message-id uuid`.

Nothing here imports a Kafka library, Typer or Rich.
"""

from __future__ import annotations

from kafkactl.formats.base import FORMATS, FormatError, ParsedRecord, Parser, strip_newline
from kafkactl.formats.envelope import EnvelopeParser, parse_envelope_line, parse_headers
from kafkactl.formats.envelope_codec import (
    BASE64,
    TIMESTAMP_TYPES,
    encode_envelope,
    tstype_name,
)
from kafkactl.formats.json_lines import JsonLinesParser, parse_json_line
from kafkactl.formats.jsontext import field_value, scalar_text
from kafkactl.formats.limits import (
    MAX_PARTITION,
    MAX_TIMESTAMP,
    NO_TIMESTAMP,
    check_partition,
    check_timestamp,
)
from kafkactl.formats.message_id import has_message_id, new_message_id
from kafkactl.formats.raw import RawParser, parse_key_delimiter, parse_raw_line

__all__ = [
    "BASE64",
    "FORMATS",
    "MAX_PARTITION",
    "MAX_TIMESTAMP",
    "NO_TIMESTAMP",
    "TIMESTAMP_TYPES",
    "EnvelopeParser",
    "FormatError",
    "JsonLinesParser",
    "ParsedRecord",
    "Parser",
    "RawParser",
    "check_partition",
    "check_timestamp",
    "encode_envelope",
    "field_value",
    "has_message_id",
    "new_message_id",
    "parse_envelope_line",
    "parse_headers",
    "parse_json_line",
    "parse_key_delimiter",
    "parse_raw_line",
    "parser_for",
    "scalar_text",
    "strip_newline",
    "tstype_name",
]


def parser_for(
    format: str,
    *,
    key_field: str | None = None,
    key: str | None = None,
    key_delimiter: bytes | None = None,
    message_id_field: str | None = None,
) -> Parser:
    """The Parser of one input format (one of FORMATS); ValueError for another name."""
    if format == "json":
        return JsonLinesParser(key_field, key, message_id_field)
    if format == "envelope":
        return EnvelopeParser(key_field, key, message_id_field)
    if format == "raw":
        return RawParser(key_delimiter, key)
    raise ValueError(f"unknown format {format!r}; use one of {', '.join(FORMATS)}")
