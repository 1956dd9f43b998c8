"""The formats behind one Parser protocol, and the message-id of produced records."""

from __future__ import annotations

import re

import pytest

from kafkactl.formats import (
    EnvelopeParser,
    JsonLinesParser,
    ParsedRecord,
    RawParser,
    new_message_id,
    parser_for,
)


def test_message_ids_are_uuid4():
    ids = {new_message_id() for _ in range(5000)}
    assert len(ids) == 5000
    pattern = re.compile(rb"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
    assert all(pattern.match(i) for i in ids)


@pytest.mark.parametrize(
    ("name", "cls"), [("json", JsonLinesParser), ("envelope", EnvelopeParser), ("raw", RawParser)]
)
def test_parser_for_each_format(name, cls):
    assert isinstance(parser_for(name), cls)


def test_parser_for_passes_the_options():
    json_parser = parser_for("json", key_field="id", message_id_field="m")
    record = json_parser.parse(b'{"id": 1.50, "m": "x"}\n')
    assert record.key == b"1.50" and record.headers == [("message-id", b"x")]
    envelope = parser_for("envelope", key="fixed")
    assert envelope.parse(b'{"key": "k", "payload": "v"}').key == b"fixed"
    raw = parser_for("raw", key_delimiter=b":", key="fixed")
    assert raw.parse(b"a:b\n") == ParsedRecord(b"fixed", b"b", [])
    assert parser_for("raw", key_delimiter=b":").parse(b"a:b\n") == ParsedRecord(b"a", b"b", [])


def test_parser_for_an_unknown_format():
    with pytest.raises(ValueError, match="unknown format 'csv'"):
        parser_for("csv")
