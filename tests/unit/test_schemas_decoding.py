"""consume with a registry: decoding before the handler, decode failures, what handlers see."""

from __future__ import annotations

import datetime
import decimal
import uuid
from typing import Any

import orjson
import pytest

from kafkactl.errors import RecordDecodeError
from kafkactl.formats import encode_envelope
from kafkactl.handlers import build_handler
from kafkactl.handlers.base import HandlerBase
from kafkactl.handlers.decoding import DecodingHandler
from kafkactl.message import HandlerFailure, Message
from kafkactl.print_formats import print_format
from kafkactl.schemas.documents import document_json, document_text
from kafkactl.schemas.model import Decoded, Field, kind_for_file, subject_for


class PrefixDecoder:
    """Wire format for tests: a 0 byte, then a JSON document; b'\\0!' cannot be decoded."""

    def framed(self, data: bytes | None) -> bool:
        return data is not None and data[:1] == b"\0"

    def decode(self, data: bytes, topic: str, field: Field) -> Decoded:
        if data[1:2] == b"!":
            raise RecordDecodeError("schema id 42 is not in the schema registry\nat x")
        return Decoded(orjson.loads(data[1:]), 42 if field == "value" else 41)


class Recorder(HandlerBase):
    inline = True

    def __init__(self) -> None:
        self.seen: list[Message] = []

    def handle(self, message: Message) -> None:
        self.seen.append(message)

    def close(self) -> None:
        pass


def _message(key: bytes | None, value: bytes | None) -> Message:
    return Message("t", 0, 5, key, value)


def test_framed_parts_are_decoded_and_the_bytes_kept():
    inner = Recorder()
    handler = DecodingHandler(inner, PrefixDecoder())
    assert handler.inline
    message = _message(b'\0"k1"', b'\0{"id": 1}')
    handler.handle(message)
    assert inner.seen == [message]
    assert message.decoded() == {"id": 1} and message.value_schema_id == 42
    assert message.decoded_key_document() == "k1" and message.key_schema_id == 41
    assert message.value == b'\0{"id": 1}'


def test_records_not_in_the_wire_format_pass_as_they_are():
    message = _message(b"k", b'{"id": 2}')
    DecodingHandler(Recorder(), PrefixDecoder()).handle(message)
    assert message.decoded_value is None and message.decoded() == {"id": 2}
    assert message.decoded_key_document() == "k"


def test_a_record_that_cannot_be_decoded_is_a_decode_failure_in_one_line():
    inner = Recorder()
    with pytest.raises(HandlerFailure) as caught:
        DecodingHandler(inner, PrefixDecoder()).handle(_message(None, b"\0!"))
    failure = caught.value.failure
    assert failure.kind == "decode"
    assert failure.message == "schema id 42 is not in the schema registry at x"
    assert inner.seen == []


def test_the_envelope_carries_documents_and_schema_ids():
    line = encode_envelope(
        "t", 0, 1, 10, 0, b"\0raw", b"\0raw", [], Decoded("k1", 41), Decoded({"id": 1}, 42)
    )
    doc = orjson.loads(line)
    assert doc["payload"] == {"id": 1} and doc["value_schema_id"] == 42
    assert doc["key"] == "k1" and doc["key_schema_id"] == 41
    assert "payload_encoding" not in doc


def test_print_formats_and_exec_stdin_use_the_decoded_document(tmp_path):
    message = _message(b'\0"k1"', b'\0{"id": 1}')
    DecodingHandler(Recorder(), PrefixDecoder()).handle(message)
    value = print_format("value")
    assert value is not None and value.encode(message) == b'{"id":1}\n'
    template = print_format("{key}|{value}\\n")
    assert template is not None and template.encode(message) == b'k1|{"id":1}\n'
    out = tmp_path / "stdin"
    handler = build_handler(
        f"cat > {out}", None, 10.0, {100}, decoder=PrefixDecoder(), decoded_stdin=True
    )
    handler.handle(_message(None, b'\0{"id": 3}'))
    assert out.read_bytes() == b'{"id":3}'
    raw = build_handler(f"cat > {out}", None, 10.0, {100}, decoder=PrefixDecoder())
    raw.handle(_message(None, b'\0{"id": 3}'))
    assert out.read_bytes() == b'\0{"id": 3}'


def test_documents_with_avro_logical_types_print_as_json():
    document: dict[str, Any] = {
        "bytes": b"\x00\xff",
        "decimal": decimal.Decimal("1.50"),
        "when": datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
        "day": datetime.date(2026, 1, 2),
        "id": uuid.UUID(int=1),
    }
    assert orjson.loads(document_json(document)) == {
        "bytes": "\u0000\u00ff",
        "decimal": "1.50",
        "when": "2026-01-02T03:04:05+00:00",
        "day": "2026-01-02",
        "id": "00000000-0000-0000-0000-000000000001",
    }
    assert document_text("plain") == b"plain"
    assert document_text(7) == b"7"


def test_schema_kind_from_extension_and_subject_names():
    assert kind_for_file("a/order.avsc") == "AVRO"
    assert kind_for_file("order.JSON") == "JSON"
    assert kind_for_file("order.proto") == "PROTOBUF"
    with pytest.raises(ValueError, match=r"\.avsc.*\.json.*\.proto"):
        kind_for_file("order.xml")
    assert subject_for("orders", "value") == "orders-value"
    assert subject_for("orders", "key") == "orders-key"
