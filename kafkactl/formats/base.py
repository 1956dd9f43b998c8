"""What every input format shares: the record a line becomes, the error it raises, the protocol.

Go kafkactl style: one module per input format (`json_lines`, `envelope`, `raw`), each a
`Parser` that turns one line into a `ParsedRecord` or raises `FormatError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

FORMATS = ("json", "envelope", "raw")


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
    # An envelope printed from a schema-registry topic: its key/payload are documents to encode
    # with these schema ids (their JSON text is in key/value until then).
    key_schema_id: int | None = None
    value_schema_id: int | None = None


class Parser(Protocol):
    """One input format: a line (with its newline) -> a record, or FormatError."""

    def parse(self, line: bytes) -> ParsedRecord:
        """The record of one line; FormatError says why the line cannot be one."""
        ...


class FieldParser:
    """A JSON format whose key may be fixed or come from a field, and whose message-id may
    come from a field (json, envelope)."""

    def __init__(
        self,
        key_field: str | None = None,
        fixed_key: str | bytes | None = None,
        message_id_field: str | None = None,
    ) -> None:
        self.key_field = key_field
        self.fixed_key = fixed_key
        self.message_id_field = message_id_field


def strip_newline(line: bytes) -> bytes:
    """The line without its trailing `\\n` (and a `\\r` before it, for CRLF files)."""
    if line.endswith(b"\n"):
        line = line[:-2] if line.endswith(b"\r\n") else line[:-1]
    return line
