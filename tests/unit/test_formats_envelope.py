"""--format envelope: kafkactl's envelope and kcat -J lines, header shapes, number ranges."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import orjson
import pytest

from kafkactl.formats import (
    FormatError,
    ParsedRecord,
    parse_envelope_line,
    parse_headers,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


# --- header shapes ------------------------------------------------------------------------------


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


# --- records ------------------------------------------------------------------------------------


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


def test_kcat_raw_header_names_are_read_back_exactly():
    # kcat -J writes a header name's bytes raw too: they are kept, not replaced.
    line = b'{"topic":"t","partition":0,"offset":0,"headers":["\xff\xfe","v"],"payload":"x"}\n'
    record = parse_envelope_line(line)
    assert [(n.encode("utf-8", "surrogateescape"), v) for n, v in record.headers] == [
        (b"\xff\xfe", b"v")
    ]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b'{"headers":["\\ud800","v"],"payload":"x"}', "lone surrogate"),
        (b'{"headers":["%%%","v"],"payload":"x","header_names_encoding":"base64"}', "base64"),
        (b'{"headers":["a","v"],"payload":"x","header_names_encoding":"hex"}', "hex"),
    ],
)
def test_bad_header_names(line, reason):
    with pytest.raises(FormatError, match=reason):
        parse_envelope_line(line)


def test_header_names_in_base64_in_every_shape():
    ff = base64.b64encode(b"\xff").decode()
    for headers in ([ff, "v"], {ff: "v"}, [{"key": ff, "value": "v"}], [[ff, "v"]]):
        doc = {"headers": headers, "payload": "x", "header_names_encoding": "base64"}
        record = parse_envelope_line(orjson.dumps(doc))
        assert [(n.encode("utf-8", "surrogateescape"), v) for n, v in record.headers] == [
            (b"\xff", b"v")
        ]


def test_kcat_fixture_lines_parse():
    lines = (FIXTURES / "kcat_J.jsonl").read_bytes().splitlines(keepends=True)
    records = [parse_envelope_line(line) for line in lines]
    assert records[0].key == b"order-1"
    assert records[0].headers[0] == ("message-id", b"kcat-fixture-1")
    assert any(r.key is None for r in records)


# --- Kafka's number ranges, UTF-8 only, numbers as written -------------------------------------


@pytest.mark.parametrize(
    ("ts", "expected"),
    [(0, 0), (1_700_000_000_000, 1_700_000_000_000), (2**63 - 1, 2**63 - 1), (-1, None)],
)
def test_envelope_ts_within_int64_is_kept_and_minus_one_means_none(ts, expected):
    assert parse_envelope_line(env(key="k", payload="v", ts=ts)).timestamp_ms == expected
    assert parse_envelope_line(env(key="k", payload="v", timestamp=ts)).timestamp_ms == expected


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
    assert (
        parse_envelope_line(env(key="k", payload="v", partition=2**31 - 1)).partition == 2**31 - 1
    )


@pytest.mark.parametrize(
    "line", [b'\xef\xbb\xbf{"key":"k","payload":"v"}', '{"key":"k","payload":"v"}'.encode("utf-16")]
)
def test_envelope_lines_with_a_bom_or_in_utf16_are_invalid(line):
    with pytest.raises(FormatError, match=r"byte order mark|UTF-16 or UTF-32"):
        parse_envelope_line(line)


def test_envelope_json_payload_and_number_headers_keep_numbers_as_written():
    line = b'{"key":"k","payload":{"p":1.50,"q":1e400},"headers":{"h":1e400,"z":-0},"ts":5}'
    record = parse_envelope_line(line)
    assert record.value == b'{"p":1.50,"q":1e400}'
    assert record.headers == [("h", b"1e400"), ("z", b"-0")]
    assert record.timestamp_ms == 5
