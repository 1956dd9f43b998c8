"""`--format json`: each line is one JSON document and becomes the value as given (DESIGN §5.1)."""

from __future__ import annotations

from kafkactl.formats.base import FieldParser, ParsedRecord, strip_newline
from kafkactl.formats.jsontext import field_bytes, loads
from kafkactl.headers import MESSAGE_ID


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
    document = loads(value)
    key: bytes | None = None
    if key_field is not None:
        key = field_bytes(document, key_field, "key field", value)
    elif fixed_key is not None:
        key = fixed_key.encode("utf-8") if isinstance(fixed_key, str) else fixed_key
    headers: list[tuple[str, bytes]] = []
    if message_id_field is not None:
        headers.append(
            (MESSAGE_ID, field_bytes(document, message_id_field, "message-id field", value))
        )
    return ParsedRecord(key, value, headers)


class JsonLinesParser(FieldParser):
    """`--format json` as a Parser: key from `key_field` or `fixed_key`; message-id field."""

    def parse(self, line: bytes) -> ParsedRecord:
        """The record of one JSON line."""
        return parse_json_line(line, self.key_field, self.fixed_key, self.message_id_field)
