"""produce's SchemaStage: which parts are encoded with which schema, and invalid lines."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from kafkactl.errors import SchemaMismatch
from kafkactl.formats import FormatError, ParsedRecord, parse_envelope_line, parse_json_line
from kafkactl.schemas.model import Field, SchemaKind
from kafkactl.schemas.stage import SchemaStage, key_document


class IdEncoder:
    """Encodes documents as b'<id>:' + JSON; refuses what `fits` says does not fit."""

    def __init__(self, schema_id: int, fits: Any = lambda doc: True) -> None:
        self.subject = f"s-{schema_id}"
        self.schema_id = schema_id
        self.version: int | None = 1
        self.kind: SchemaKind = "AVRO"
        self._fits = fits

    def encode(self, document: Any) -> bytes:
        if not self._fits(document):
            raise SchemaMismatch(f"{document!r} does not fit")
        return f"{self.schema_id}:".encode() + orjson.dumps(document)


def test_value_encoded_and_key_taken_from_the_document_field():
    stage = SchemaStage(value=IdEncoder(7), key=IdEncoder(8), key_field="id")
    record = parse_json_line(b'{"id": 3, "x": "a"}\n', key_field="id")
    stage.apply(record)
    assert record.value == b'7:{"id":3,"x":"a"}'
    assert record.key == b"8:3"  # the field's JSON value, not its text


def test_a_document_that_does_not_fit_is_a_format_error_naming_subject_and_id():
    stage = SchemaStage(value=IdEncoder(7, fits=lambda doc: "id" in doc))
    with pytest.raises(FormatError) as caught:
        stage.apply(parse_json_line(b'{"x": 1}\n'))
    assert caught.value.reason.startswith("the value does not fit schema s-7 v1 (id 7): ")


def test_fixed_key_is_json_when_it_parses_else_a_string():
    assert key_document(b"42") == 42
    assert key_document(b'{"a": 1}') == {"a": 1}
    assert key_document(b"order-1") == "order-1"
    stage = SchemaStage(key=IdEncoder(9), fixed_key=b"order-1")
    record = parse_json_line(b"{}\n", fixed_key="order-1")
    stage.apply(record)
    assert record.key == b'9:"order-1"'
    assert record.value == b"{}"  # no value schema: the line as given


def test_a_fixed_key_that_does_not_fit_fails_when_the_stage_is_built():
    with pytest.raises(FormatError, match="--key does not fit"):
        SchemaStage(key=IdEncoder(9, fits=lambda doc: isinstance(doc, int)), fixed_key=b"x")


def test_envelope_schema_ids_pick_the_encoder():
    asked: list[tuple[int, Field]] = []

    def by_id(schema_id: int, field: Field) -> IdEncoder:
        asked.append((schema_id, field))
        return IdEncoder(schema_id)

    line = b'{"key": "k1", "key_schema_id": 5, "payload": {"id": 1}, "value_schema_id": 6}\n'
    record = parse_envelope_line(line)
    assert (record.key_schema_id, record.value_schema_id) == (5, 6)
    SchemaStage(by_id=by_id).apply(record)
    assert record.value == b'6:{"id":1}'
    assert record.key == b'5:"k1"'
    assert asked == [(6, "value"), (5, "key")]


def test_envelope_schema_id_without_a_registry_is_an_invalid_line():
    record = parse_envelope_line(b'{"payload": {"id": 1}, "value_schema_id": 6}\n')
    with pytest.raises(FormatError, match="value_schema_id 6 needs a schema registry"):
        SchemaStage().apply(record)


def test_envelope_without_schema_ids_passes_through():
    record = parse_envelope_line(b'{"key": "k", "payload": "plain"}\n')
    SchemaStage().apply(record)
    assert (record.key, record.value) == (b"k", b"plain")


def test_tombstones_stay_null():
    record = ParsedRecord(b"k", None)
    SchemaStage(value=IdEncoder(7)).apply(record)
    assert record.value is None


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (b'{"payload": {}, "value_schema_id": "x"}', "value_schema_id must be a schema id"),
        (b'{"payload": {}, "value_schema_id": -1}', "value_schema_id must be a schema id"),
        (b'{"payload": {}, "value_schema_id": true}', "value_schema_id must be a schema id"),
    ],
)
def test_bad_envelope_schema_ids(line: bytes, problem: str):
    with pytest.raises(FormatError, match=problem):
        parse_envelope_line(line)


def test_envelope_documents_keep_numbers_as_written():
    record = parse_envelope_line(b'{"payload": {"amount": 1.50}, "value_schema_id": 3}')
    assert record.value == b'{"amount":1.50}'
    record = parse_envelope_line(b'{"payload": "text", "value_schema_id": 3}')
    assert record.value == b'"text"'  # a string document, as JSON
