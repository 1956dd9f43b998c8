"""--format json: the line as given is the value; keys and ids from fields; UTF-8 only."""

from __future__ import annotations

import re

import orjson
import pytest

from kafkactl.formats import (
    FormatError,
    field_value,
    parse_envelope_line,
    parse_json_line,
    scalar_text,
)


def test_json_value_is_the_line_as_given_without_newline():
    line = b'{ "id" : 7,  "x": [1, 2] }\n'
    record = parse_json_line(line)
    assert record.value == b'{ "id" : 7,  "x": [1, 2] }'
    assert record.key is None and record.headers == [] and record.partition is None


def test_json_crlf_line_ending_is_dropped():
    assert parse_json_line(b'{"a":1}\r\n').value == b'{"a":1}'


def test_json_any_document_is_a_value():
    for doc in (b"1", b'"text"', b"[1,2]", b"null", b"true"):
        assert parse_json_line(doc + b"\n").value == doc


@pytest.mark.parametrize(
    ("doc", "path", "key"),
    [
        (b'{"id": "abc"}', "id", b"abc"),
        (b'{"id": 42}', "id", b"42"),
        (b'{"id": 4.5}', "id", b"4.5"),
        (b'{"id": true}', "id", b"true"),
        (b'{"a": {"b": {"c": "deep"}}}', "a.b.c", b"deep"),
        (b'{"items": [{"sku": "x1"}, {"sku": "x2"}]}', "items.1.sku", b"x2"),
        (b'{"id": "\xc3\xa9t\xc3\xa9"}', "id", "été".encode()),
        (b'{"o": {"z": 1, "a": 2}}', "o", b'{"z":1,"a":2}'),
        (b'{"big": 123456789012345678901234567890}', "big", b"123456789012345678901234567890"),
    ],
)
def test_json_key_field_paths(doc, path, key):
    record = parse_json_line(doc + b"\n", key_field=path)
    assert record.key == key
    assert record.value == doc


@pytest.mark.parametrize(
    ("doc", "path", "reason"),
    [
        (b'{"name": "x"}', "id", "key field 'id' is missing"),
        (b'{"a": {"c": 1}}', "a.b", "key field 'a.b' is missing (no 'b')"),
        (b'{"a": 5}', "a.b", "key field 'a.b' is missing (no 'b')"),
        (b'{"id": null}', "id", "key field 'id' is null"),
        (b"[1, 2]", "id", "key field 'id' is missing"),
        (b'{"items": []}', "items.0", "key field 'items.0' is missing (no '0')"),
    ],
)
def test_json_missing_key_field_is_an_error(doc, path, reason):
    with pytest.raises(FormatError) as info:
        parse_json_line(doc, key_field=path)
    assert info.value.reason == reason


@pytest.mark.parametrize(
    "line",
    [b"{bad json}", b'{"a": 1', b"", b"   ", b'{"a":1} {"b":2}', b"NaN", b'{"a": NaN}', b"\xff"],
)
def test_invalid_json_is_a_format_error(line):
    with pytest.raises(FormatError) as info:
        parse_json_line(line + b"\n")
    assert info.value.reason.startswith("invalid JSON: ")


def test_fixed_key_and_message_id_field():
    record = parse_json_line(
        b'{"order": {"uid": "m-1"}}', fixed_key="k", message_id_field="order.uid"
    )
    assert record.key == b"k"
    assert record.headers == [("message-id", b"m-1")]
    with pytest.raises(FormatError, match="message-id field 'uid' is missing"):
        parse_json_line(b'{"order": 1}', message_id_field="uid")


def test_field_value_and_scalar_text():
    assert field_value({"a": [{"b": 1}]}, "a.-1.b") == 1
    with pytest.raises(KeyError):
        field_value({"a": "text"}, "a.0")
    assert scalar_text(False) == b"false"
    assert scalar_text([1, "x"]) == b'[1,"x"]'


UTF16 = '{"id": 1}'.encode("utf-16")  # with its BOM


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b'\xef\xbb\xbf{"id": 1}', "starts with a byte order mark"),
        (UTF16, "is UTF-16 or UTF-32"),
        ('{"id": 1}'.encode("utf-16-le"), "is UTF-16 or UTF-32"),
        ('{"id": 1}'.encode("utf-16-be"), "is UTF-16 or UTF-32"),
        ('{"id": 1}'.encode("utf-32"), "is UTF-16 or UTF-32"),
        ('{"id": 1}'.encode("utf-32-le"), "is UTF-16 or UTF-32"),
        (b'{"id": "\xff"}', "is not valid UTF-8 (byte 0xff at column 9)"),
        (b'{"id": "\xc3"}', "is not valid UTF-8"),
        (b'{"id": "\xed\xa0\x80"}', "is not valid UTF-8"),  # an encoded surrogate
        (b'{"n": 18446744073709551616, "s": "\xff"}', "is not valid UTF-8"),
    ],
)
def test_json_lines_must_be_utf8(line, message):
    with pytest.raises(FormatError, match=re.escape(message)):
        parse_json_line(line)


def test_json_beyond_64_bit_integers_in_utf8_still_parse():
    record = parse_json_line(b'{"n": 18446744073709551616, "s": "\xc3\xa9"}', key_field="n")
    assert record.key == b"18446744073709551616"


@pytest.mark.parametrize(
    "number", ["1e400", "1E400", "1.50", "-0", "-0.0", "0", "0.1", "1e2", "1E+2", "-1.0e-7", "7"]
)
def test_key_and_message_id_from_a_number_are_the_number_as_written(number):
    line = b'{"id": %s, "n": 1}' % number.encode()
    record = parse_json_line(line, key_field="id", message_id_field="id")
    assert record.key == number.encode()
    assert record.headers == [("message-id", number.encode())]
    assert record.value == line
    payload = orjson.dumps({"id": 0}).replace(b"0", number.encode())
    wrapped = b'{"key": null, "payload": %s}' % payload
    record = parse_envelope_line(wrapped, key_field="id", message_id_field="id")
    assert record.key == number.encode()


def test_key_from_an_object_keeps_its_numbers_as_written():
    record = parse_json_line(b'{"id": {"a": [1.50, 1e400, -0, "x"]}}', key_field="id")
    assert record.key == b'{"a":[1.50,1e400,-0,"x"]}'
