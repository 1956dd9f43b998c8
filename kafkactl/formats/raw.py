"""`--format raw`: each line's bytes are the value; a key delimiter splits off a key (kcat -K)."""

from __future__ import annotations

from kafkactl.formats.base import ParsedRecord


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


class RawParser:
    """`--format raw` as a Parser: split at `key_delimiter`; a `fixed_key` replaces the key."""

    def __init__(self, key_delimiter: bytes | None = None, fixed_key: str | None = None) -> None:
        self.key_delimiter = key_delimiter
        self.fixed_key = fixed_key.encode("utf-8") if fixed_key is not None else None

    def parse(self, line: bytes) -> ParsedRecord:
        """The record of one raw line."""
        record = parse_raw_line(line, self.key_delimiter)
        if self.fixed_key is not None:
            record.key = self.fixed_key
        return record
