"""Input formats and the envelope codec: json, envelope (kafkactl and kcat -J), raw."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import orjson
import pytest

from kafkactl.formats import (
    FormatError,
    ParsedRecord,
    encode_envelope,
    field_value,
    new_message_id,
    parse_envelope_line,
    parse_headers,
    parse_json_line,
    parse_key_delimiter,
    parse_raw_line,
    scalar_text,
    tstype_name,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

# --- json ---------------------------------------------------------------------------------------


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


# --- raw ----------------------------------------------------------------------------------------


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


# --- envelope: header shapes ------------------------------------------------------------------


def test_headers_kcat_flat_array():
    assert parse_headers(["a", "1", "b", "2", "a", "3"]) == [
        ("a", b"1"),
        ("b", b"2"),
        ("a", b"3"),
    ]


def test_headers_object_with_repeats():
    assert parse_headers({"a": "1", "b": ["2", "3"], "c": None}) == [
        ("a", b"1"),
        ("b", b"2"),
        ("b", b"3"),
        ("c", b""),
    ]


def test_headers_list_of_key_value_objects_and_pairs():
    assert parse_headers([{"key": "a", "value": "1"}, {"key": "b", "value": None}]) == [
        ("a", b"1"),
        ("b", b""),
    ]
    assert parse_headers([["a", "1"], ["b", "2"]]) == [("a", b"1"), ("b", b"2")]


def test_headers_empty_and_null():
    assert parse_headers([]) == []
    assert parse_headers(None) == []
    assert parse_headers({}) == []


def test_headers_base64_values():
    raw = ["bin", base64.b64encode(b"\xff\xfe").decode(), "txt", base64.b64encode(b"ok").decode()]
    assert parse_headers(raw, base64_encoded=True) == [("bin", b"\xff\xfe"), ("txt", b"ok")]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (["a", "1", "b"], "even number"),
        ("a=1", "must be an array or an object"),
        ([{"value": "1"}], "needs a 'key'"),
        ([["a", "1", "2"]], "must be [name, value]"),
        ([1, "x"], "header name must be a string"),
        (["a", {"x": 1}], "value must be a string or null"),
    ],
)
def test_bad_headers(raw, reason):
    with pytest.raises(FormatError, match=re.escape(reason)):
        parse_headers(raw)


def test_bad_base64_header():
    with pytest.raises(FormatError, match="header 'h' is not valid base64"):
        parse_headers(["h", "not base64!"], base64_encoded=True)


# --- envelope: records ------------------------------------------------------------------------


def env(**fields) -> bytes:
    return orjson.dumps(fields) + b"\n"


def test_envelope_fields():
    record = parse_envelope_line(
        env(
            topic="src",
            partition=2,
            offset=9,
            ts=1700000000123,
            key="k",
            payload='{"a":1}',
            headers=["message-id", "m1", "h", "v"],
        )
    )
    assert record == ParsedRecord(
        b"k", b'{"a":1}', [("message-id", b"m1"), ("h", b"v")], 2, 1700000000123
    )


def test_envelope_value_alias_and_missing_optional_fields():
    record = parse_envelope_line(env(value="text"))
    assert record == ParsedRecord(None, b"text", [], None, None)


def test_envelope_null_payload_needs_a_key():
    assert parse_envelope_line(env(key="k", payload=None)).value is None
    with pytest.raises(FormatError, match="neither key nor payload"):
        parse_envelope_line(env(key=None, payload=None))


def test_envelope_json_payload_object_becomes_compact_json():
    assert parse_envelope_line(env(payload={"a": [1, 2]})).value == b'{"a":[1,2]}'


def test_envelope_base64_key_and_payload():
    record = parse_envelope_line(
        env(
            key=base64.b64encode(b"\x00\xffk").decode(),
            key_encoding="base64",
            payload=base64.b64encode(b"\x80\x81").decode(),
            payload_encoding="base64",
        )
    )
    assert (record.key, record.value) == (b"\x00\xffk", b"\x80\x81")


def test_envelope_negative_ts_means_none_like_kcat():
    assert parse_envelope_line(env(payload="x", ts=-1)).timestamp_ms is None


def test_envelope_key_override_and_fields_from_payload():
    line = env(key="old", payload='{"id": 5, "uid": "u-5"}')
    assert parse_envelope_line(line, fixed_key="new").key == b"new"
    record = parse_envelope_line(line, key_field="id", message_id_field="uid")
    assert record.key == b"5"
    assert record.headers == [("message-id", b"u-5")]
    kept = parse_envelope_line(
        env(payload='{"uid": "u-5"}', headers=["message-id", "orig"]), message_id_field="uid"
    )
    assert kept.headers == [("message-id", b"orig")]
    with pytest.raises(FormatError, match="payload is not JSON, needed for --key-field"):
        parse_envelope_line(env(payload="plain text"), key_field="id")


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"not json", "invalid JSON"),
        (b"[1, 2]", "must be a JSON object, not an array"),
        (b'"text"', "must be a JSON object, not a string"),
        (b'{"key": "k"}', "no 'payload' (or 'value') field"),
        (b'{"payload": "x", "payload_encoding": "hex"}', "payload_encoding 'hex' is not supported"),
        (b'{"payload": "###", "payload_encoding": "base64"}', "payload is not valid base64"),
        (b'{"payload": 5, "payload_encoding": "base64"}', "payload is base64-encoded but is not"),
        (b'{"payload": "x", "key": 5}', "key must be a string or null"),
        (b'{"payload": "x", "partition": "1"}', "partition must be a whole number"),
        (b'{"payload": "x", "partition": -2}', "partition must be a whole number"),
        (b'{"payload": "x", "ts": "yesterday"}', "ts must be epoch milliseconds"),
        (b'{"payload": "x", "headers": ["a"]}', "even number"),
    ],
)
def test_bad_envelopes(line, reason):
    with pytest.raises(FormatError, match=re.escape(reason)):
        parse_envelope_line(line)


def test_kcat_raw_non_utf8_bytes_are_read_back_exactly():
    # kcat -J writes bytes that are not UTF-8 raw inside its JSON strings.
    line = (
        b'{"topic":"t","partition":0,"offset":0,"tstype":"create","ts":1795813663521,'
        b'"broker":1,"headers":["hb","\\\\xc3"],"key":"k\xff\\u0001","payload":"v\xfe\\u0000x"}\n'
    )
    record = parse_envelope_line(line)
    assert record.key == b"k\xff\x01"
    assert record.value == b"v\xfe\x00x"
    assert record.headers == [("hb", b"\\xc3")]


def test_kcat_fixture_lines_parse():
    lines = (FIXTURES / "kcat_J.jsonl").read_bytes().splitlines(keepends=True)
    records = [parse_envelope_line(line) for line in lines]
    assert records[0].key == b"order-1"
    assert records[0].headers[0] == ("message-id", b"kcat-fixture-1")
    assert any(r.key is None for r in records)


# --- envelope: encoding and round trips ------------------------------------------------------


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


def test_message_ids_are_uuid4():
    ids = {new_message_id() for _ in range(5000)}
    assert len(ids) == 5000
    pattern = re.compile(rb"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
    assert all(pattern.match(i) for i in ids)


# --- issue 10: Kafka's number ranges, UTF-8 only, numbers as written --------------------------


def envelope(**fields) -> bytes:
    return orjson.dumps({"key": "k", "payload": "v", **fields})


@pytest.mark.parametrize(
    ("ts", "expected"),
    [(0, 0), (1_700_000_000_000, 1_700_000_000_000), (2**63 - 1, 2**63 - 1), (-1, None)],
)
def test_envelope_ts_within_int64_is_kept_and_minus_one_means_none(ts, expected):
    assert parse_envelope_line(envelope(ts=ts)).timestamp_ms == expected
    assert parse_envelope_line(envelope(timestamp=ts)).timestamp_ms == expected


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b'{"key":"k","payload":"b","ts":9223372036854775808}', "ts 9223372036854775808 is out"),
        (b'{"key":"k","payload":"b","ts":99999999999999999999999}', "is out of range"),
        (b'{"key":"k","payload":"b","ts":-2}', "ts -2 is before 1970"),
        (b'{"key":"k","payload":"b","ts":-9223372036854775809}', "is before 1970"),
        (b'{"key":"k","payload":"b","ts":1.5}', "ts must be epoch milliseconds"),
        (b'{"key":"k","payload":"b","ts":1e400}', "ts must be epoch milliseconds"),
        (b'{"key":"k","payload":"b","ts":true}', "ts must be epoch milliseconds"),
        (b'{"key":"k","payload":"b","partition":2147483648}', "partition 2147483648 is out"),
        (b'{"key":"k","payload":"b","partition":18446744073709551616}', "is out of range"),
        (b'{"key":"k","payload":"b","partition":-1}', "partition must be a whole number"),
        (b'{"key":"k","payload":"b","partition":1.0}', "partition must be a whole number"),
    ],
)
def test_envelope_numbers_outside_kafka_limits_are_invalid(line, message):
    with pytest.raises(FormatError, match=re.escape(message)):
        parse_envelope_line(line)


def test_partition_at_the_int32_limit_is_accepted():
    assert parse_envelope_line(envelope(partition=2**31 - 1)).partition == 2**31 - 1


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
    "line", [b'\xef\xbb\xbf{"key":"k","payload":"v"}', '{"key":"k","payload":"v"}'.encode("utf-16")]
)
def test_envelope_lines_with_a_bom_or_in_utf16_are_invalid(line):
    with pytest.raises(FormatError, match=r"byte order mark|UTF-16 or UTF-32"):
        parse_envelope_line(line)


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


def test_envelope_json_payload_and_number_headers_keep_numbers_as_written():
    line = b'{"key":"k","payload":{"p":1.50,"q":1e400},"headers":{"h":1e400,"z":-0},"ts":5}'
    record = parse_envelope_line(line)
    assert record.value == b'{"p":1.50,"q":1e400}'
    assert record.headers == [("h", b"1e400"), ("z", b"-0")]
    assert record.timestamp_ms == 5
