"""--format raw: the line's bytes are the value; a key delimiter like kcat -K."""

from __future__ import annotations

import pytest

from kafkactl.formats import (
    ParsedRecord,
    parse_key_delimiter,
    parse_raw_line,
)


def test_raw_line_is_the_value():
    assert parse_raw_line(b"hello world\n") == ParsedRecord(None, b"hello world", [])
    assert parse_raw_line(b"\xff\x00binary\r\n").value == b"\xff\x00binary\r"
    assert parse_raw_line(b"no newline").value == b"no newline"


def test_raw_key_delimiter_splits_at_the_first_occurrence():
    record = parse_raw_line(b"k1\tv\twith\ttabs\n", b"\t")
    assert (record.key, record.value) == (b"k1", b"v\twith\ttabs")
    assert parse_raw_line(b"user:42::payload\n", "::") == ParsedRecord(b"user:42", b"payload", [])
    assert parse_raw_line(b"k:\n", ":") == ParsedRecord(b"k", b"", [])
    assert parse_raw_line(b":v\n", ":") == ParsedRecord(b"", b"v", [])


def test_raw_line_without_delimiter_has_no_key_like_kcat():
    assert parse_raw_line(b"just a value\n", b"\t") == ParsedRecord(None, b"just a value", [])


def test_key_delimiter_escapes():
    assert parse_key_delimiter("\\t") == b"\t"
    assert parse_key_delimiter("::") == b"::"
    assert parse_key_delimiter("\\\\") == b"\\"
    with pytest.raises(ValueError):
        parse_key_delimiter("")
