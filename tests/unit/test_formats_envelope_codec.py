"""The envelope consume prints (kcat -J shape, base64 markers) and its round trip."""

from __future__ import annotations

import base64

import orjson
import pytest

from kafkactl.formats import (
    encode_envelope,
    parse_envelope_line,
    tstype_name,
)


def test_encode_envelope_shape_and_order():
    line = encode_envelope(
        "orders", 1, 42, 1700000000000, 0, b"k1", b'{"a":1}', [("message-id", b"m"), ("h", b"v")]
    )
    doc = orjson.loads(line)
    assert list(doc) == [
        "topic",
        "partition",
        "offset",
        "tstype",
        "ts",
        "headers",
        "key",
        "payload",
    ]
    assert doc == {
        "topic": "orders",
        "partition": 1,
        "offset": 42,
        "tstype": "create",
        "ts": 1700000000000,
        "headers": ["message-id", "m", "h", "v"],
        "key": "k1",
        "payload": '{"a":1}',
    }
    assert not line.endswith(b"\n")


def test_encode_envelope_nulls_and_tstype_names():
    doc = orjson.loads(encode_envelope("t", 0, 0, None, -1, None, None, None))
    assert doc["key"] is None and doc["payload"] is None and doc["headers"] == []
    assert doc["ts"] == -1 and doc["tstype"] == "none"
    assert tstype_name(1) == "logappend"
    assert tstype_name("create") == "create"


def test_encode_envelope_binary_uses_base64_markers():
    doc = orjson.loads(
        encode_envelope("t", 0, 1, 5, 1, b"\xff", b"\x00\x9f", [("a", b"x"), ("b", b"\xc3")])
    )
    assert doc["key_encoding"] == "base64" and base64.b64decode(doc["key"]) == b"\xff"
    assert doc["payload_encoding"] == "base64" and base64.b64decode(doc["payload"]) == b"\x00\x9f"
    assert doc["headers_encoding"] == "base64"
    assert [base64.b64decode(v) for v in doc["headers"][1::2]] == [b"x", b"\xc3"]


@pytest.mark.parametrize(
    ("key", "value", "headers"),
    [
        (b"k", b"v", [("message-id", b"1")]),
        (None, b"\x00\x01\xff", []),
        (b"\xfe\xff", None, [("h", b"\xff"), ("h", b"ok"), ("empty", b"")]),
        ("ключ".encode(), '{"x":"é"}'.encode(), [("ü", "ß".encode())]),
        (b"", b"", [("n", None)]),
    ],
)
def test_envelope_round_trip(key, value, headers):
    line = encode_envelope("t", 3, 7, 1700000000001, 0, key, value, headers)
    record = parse_envelope_line(line + b"\n")
    assert record.key == key
    assert record.value == value
    assert record.headers == [(k, b"" if v is None else v) for k, v in headers]
    assert record.partition == 3
    assert record.timestamp_ms == 1700000000001


RAW_NAMES = [b"\xff\xfe", b"\x80", b"\xc0\x80", b"a\x00b", b"", b"\xed\xa0\x80"]


@pytest.mark.parametrize("raw", RAW_NAMES)
def test_header_names_that_are_not_utf8_go_in_base64_and_come_back_exactly(raw):
    name = raw.decode("utf-8", "surrogateescape")
    headers = [(name, b"v"), ("ok", b"\xff")]
    line = encode_envelope("t", 0, 1, 1700, 0, None, b"x", headers)
    doc = orjson.loads(line)  # valid JSON: no surrogate reached the encoder
    if raw == b"" or raw == b"a\x00b":  # UTF-8 names stay text
        assert "header_names_encoding" not in doc and doc["headers"][0] == name
    else:
        assert doc["header_names_encoding"] == "base64"
        assert [base64.b64decode(n) for n in doc["headers"][0::2]] == [raw, b"ok"]
    record = parse_envelope_line(line + b"\n")
    assert [(n.encode("utf-8", "surrogateescape"), v) for n, v in record.headers] == [
        (raw, b"v"),
        (b"ok", b"\xff"),
    ]


def test_text_names_are_unchanged_when_values_are_binary():
    doc = orjson.loads(encode_envelope("t", 0, 1, 1700, 0, None, b"x", [("é", b"\xff")]))
    assert doc["headers"][0] == "é" and "header_names_encoding" not in doc
