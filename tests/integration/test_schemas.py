"""Schemas against the real broker and the real registry (Apicurio 2.4.2, Confluent API).

What is checked independently of kafkactl: the bytes in the topic (magic byte 0, the 4-byte
schema id, the body decoded with fastavro / json / protobuf directly), and the schema the
registry holds for that id (fetched over HTTP).
"""

from __future__ import annotations

import io
import json
import struct
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LocalRegistry, _free_port
from tests.integration.kafka_helpers import header, one_line_error, read_all

ORDER_AVSC = {
    "type": "record",
    "name": "Order",
    "namespace": "shop",
    "fields": [
        {"name": "id", "type": "int"},
        {"name": "item", "type": "string"},
        {"name": "note", "type": ["null", "string"], "default": None},
        {"name": "amount", "type": "double"},
    ],
}
ORDER_JSON_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Order",
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "item": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["id", "item"],
    "additionalProperties": False,
}
ORDERS = [
    {"id": 1, "item": "apple", "note": None, "amount": 2.5},
    {"id": 2, "item": "pear", "note": "ripe", "amount": 1.0},
    {"id": 3, "item": "fig", "note": None, "amount": 10.25},
]


@pytest.fixture
def registry_env(schema_registry: LocalRegistry) -> dict[str, str]:
    """kafkactl settings pointing at the test registry."""
    return {"KAFKA_SCHEMA_REGISTRY_URL": schema_registry.url}


def _ok(result: subprocess.CompletedProcess, code: int = 0) -> subprocess.CompletedProcess:
    err = result.stderr.decode()
    assert result.returncode == code, err[-3000:]
    assert "Traceback" not in err and "error: unexpected" not in err, err[-3000:]
    return result


def _lines(docs: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(d) + "\n" for d in docs)


def _write(tmp_path: Path, name: str, content: object) -> str:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def _framed(value: bytes) -> tuple[int, bytes]:
    """(schema id, body) of a wire-format record, read by hand: magic 0, big-endian id."""
    assert value[0] == 0, value[:8]
    (schema_id,) = struct.unpack(">I", value[1:5])
    return schema_id, value[5:]


def _envelopes(result: subprocess.CompletedProcess) -> list[dict[str, Any]]:
    out = [json.loads(line) for line in result.stdout.decode().splitlines() if line.strip()]
    return sorted(out, key=lambda e: (e["partition"], e["offset"]))


# --- Avro ---------------------------------------------------------------------------------


def test_avro_lines_become_wire_format_records_and_consume_prints_them_back(
    run_cli, brokers, topic_name, tmp_path, registry_env, schema_registry
) -> None:
    _ok(run_cli("create-topics", topic_name, "--no-retry", "-p", "2"))
    avsc = _write(tmp_path, "order.avsc", ORDER_AVSC)
    result = _ok(
        run_cli(
            "produce",
            topic_name,
            "--value-schema",
            avsc,
            "-k",
            "id",
            "--json",
            input=_lines(ORDERS),
            env=registry_env,
        )
    )
    assert json.loads(result.stdout)["published"] == 3
    assert f"subject {topic_name}-value" in result.stderr.decode()

    import fastavro

    records = read_all(brokers, topic_name)
    assert len(records) == 3
    ids = set()
    decoded = []
    for record in records:
        schema_id, body = _framed(record.value)
        ids.add(schema_id)
        registered = schema_registry.schema(schema_id)
        assert registered.get("schemaType", "AVRO") == "AVRO"
        writer = fastavro.parse_schema(json.loads(str(registered["schema"])))
        decoded.append(fastavro.schemaless_reader(io.BytesIO(body), writer))
        assert record.key == str(decoded[-1]["id"]).encode()
    assert len(ids) == 1
    assert sorted(decoded, key=lambda d: d["id"]) == ORDERS
    status, latest = schema_registry.request("GET", f"/subjects/{topic_name}-value/versions/latest")
    assert status == 200 and latest["id"] == ids.pop()  # type: ignore[index]

    printed = _envelopes(_ok(run_cli("consume", topic_name, "-e", "-q", env=registry_env)))
    assert sorted((e["payload"] for e in printed), key=lambda d: d["id"]) == ORDERS
    assert {e["value_schema_id"] for e in printed} == {latest["id"]}  # type: ignore[index]
    assert "payload_encoding" not in printed[0]

    values = _ok(run_cli("consume", topic_name, "-e", "-q", "-f", "value", env=registry_env))
    assert sorted(json.loads(v)["id"] for v in values.stdout.decode().splitlines()) == [1, 2, 3]

    raw = _envelopes(
        _ok(run_cli("consume", topic_name, "-e", "-q", "--decode", "none", env=registry_env))
    )
    assert "value_schema_id" not in raw[0]
    by_offset = {(r.partition, r.offset): r.value for r in records}
    for envelope in raw:  # the bytes as they are (JSON text escapes, or base64)
        payload = envelope["payload"]
        data = (
            __import__("base64").b64decode(payload)
            if envelope.get("payload_encoding") == "base64"
            else payload.encode()
        )
        assert data == by_offset[(envelope["partition"], envelope["offset"])]


def test_lines_that_do_not_fit_the_schema_are_invalid_lines(
    run_cli, brokers, topic_name, tmp_path, registry_env
) -> None:
    _ok(run_cli("create-topics", topic_name, "--no-retry"))
    avsc = _write(tmp_path, "order.avsc", ORDER_AVSC)
    rejects = tmp_path / "rejects.jsonl"
    lines = [
        json.dumps(ORDERS[0]),
        json.dumps({"id": "seven", "item": "x", "amount": 1}),  # wrong type
        json.dumps({"id": 1.5, "item": "x", "amount": 1}),  # not an int (fastavro would cut it)
        json.dumps({"id": 2**40, "item": "x", "amount": 1}),  # beyond Avro int
        json.dumps({"item": "x", "amount": 1}),  # required field missing
        json.dumps({"id": 4, "item": "x", "amount": 1, "extra": True}),  # not in the schema
        "not json",
        json.dumps(ORDERS[1]),
    ]
    result = _ok(
        run_cli(
            "produce",
            topic_name,
            "--value-schema",
            avsc,
            "--reject-file",
            str(rejects),
            input="\n".join(lines) + "\n",
            env=registry_env,
        ),
        code=1,
    )
    err = result.stderr.decode()
    for number in range(2, 8):
        assert f"line {number}: invalid" in err, err
    assert "line 1:" not in err and "line 8:" not in err
    rejected = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert [r["line"] for r in rejected] == [2, 3, 4, 5, 6, 7]
    assert [r["input"] for r in rejected] == lines[1:7]
    assert "does not fit schema" in rejected[0]["error"] and "id" in rejected[0]["error"]
    assert "extra" in rejected[4]["error"]
    assert len(read_all(brokers, topic_name)) == 2


def test_schema_evolution_backward_compatible_accepted_incompatible_refused(
    run_cli, brokers, topic_name, tmp_path, registry_env, schema_registry
) -> None:
    _ok(run_cli("create-topics", topic_name, "--no-retry"))
    v1 = _write(tmp_path, "v1.avsc", ORDER_AVSC)
    _ok(
        run_cli(
            "produce", topic_name, "--value-schema", v1, input=_lines(ORDERS[:1]), env=registry_env
        )
    )
    # Apicurio's global default is NONE: the subject asks for BACKWARD.
    schema_registry.set_compatibility(f"{topic_name}-value", "BACKWARD")
    v2_schema = {
        **ORDER_AVSC,
        "fields": [*ORDER_AVSC["fields"], {"name": "currency", "type": "string", "default": "EUR"}],
    }
    v2 = _write(tmp_path, "v2.avsc", v2_schema)
    result = _ok(
        run_cli(
            "produce",
            topic_name,
            "--value-schema",
            v2,
            input=_lines([{**ORDERS[1], "currency": "USD"}]),
            env=registry_env,
        )
    )
    assert "version 2" in result.stderr.decode()
    v3_schema = {**ORDER_AVSC, "fields": [{"name": "id", "type": "string"}]}
    v3 = _write(tmp_path, "v3.avsc", v3_schema)
    refused = run_cli(
        "produce", topic_name, "--value-schema", v3, input='{"id": "a"}\n', env=registry_env
    )
    line = one_line_error(refused, 1, f"{topic_name}-value", "not compatible")
    assert "STRING" in line or "string" in line  # the registry's own reason
    assert len(read_all(brokers, topic_name)) == 2
    status, versions = schema_registry.request("GET", f"/subjects/{topic_name}-value/versions")
    assert status == 200 and versions == [1, 2]

    # --value-subject alone: the latest version (v2), lines checked against it.
    latest = _ok(
        run_cli(
            "produce",
            topic_name,
            "--value-subject",
            f"{topic_name}-value",
            input=_lines([{**ORDERS[2], "currency": "GBP"}, {"id": 9}]),
            env=registry_env,
        ),
        code=1,
    )
    assert "line 2: invalid" in latest.stderr.decode()
    printed = _envelopes(_ok(run_cli("consume", topic_name, "-e", "-q", env=registry_env)))
    assert sorted(str(e["payload"].get("currency")) for e in printed) == ["GBP", "None", "USD"]


def test_registry_down_is_exit_3_for_produce(run_cli, topic_name, tmp_path) -> None:
    _ok(run_cli("create-topics", topic_name, "--no-retry"))
    avsc = _write(tmp_path, "order.avsc", ORDER_AVSC)
    dead = f"http://127.0.0.1:{_free_port()}/apis/ccompat/v7"
    result = run_cli(
        "produce",
        topic_name,
        "--value-schema",
        avsc,
        input=_lines(ORDERS),
        env={"KAFKA_SCHEMA_REGISTRY_URL": dead},
        timeout=60,
    )
    one_line_error(
        result, 3, "schema registry at", dead, "could not be reached", "schema-registry-local start"
    )


def test_schema_flags_without_a_registry_are_usage_errors(run_cli, topic_name, tmp_path) -> None:
    avsc = _write(tmp_path, "order.avsc", ORDER_AVSC)
    one_line_error(
        run_cli("produce", topic_name, "--value-schema", avsc, input=""),
        2,
        "KAFKA_SCHEMA_REGISTRY_URL",
    )
    one_line_error(
        run_cli(
            "produce",
            topic_name,
            "--value-schema",
            "x.xml",
            input="",
            env={"KAFKA_SCHEMA_REGISTRY_URL": "http://127.0.0.1:9"},
        ),
        2,
        ".avsc",
        ".proto",
    )
    one_line_error(
        run_cli("consume", topic_name, "--decode", "json", "-e"), 2, "KAFKA_SCHEMA_REGISTRY_URL"
    )


# --- JSON Schema --------------------------------------------------------------------------


def test_json_schema_lines_round_trip(
    run_cli, brokers, topic_name, tmp_path, registry_env, schema_registry
) -> None:
    _ok(run_cli("create-topics", topic_name, "--no-retry", "-p", "1"))  # records in line order
    schema = _write(tmp_path, "order.json", ORDER_JSON_SCHEMA)
    docs = [{"id": 1, "item": "a", "tags": ["x"]}, {"id": 2, "item": "b"}]
    bad = [{"id": "1", "item": "a"}, {"id": 3, "item": "c", "colour": "red"}]
    result = _ok(
        run_cli(
            "produce",
            topic_name,
            "--value-schema",
            schema,
            input=_lines(docs + bad),
            env=registry_env,
        ),
        code=1,
    )
    err = result.stderr.decode()
    assert "line 3: invalid" in err and "$.id" in err and "line 4: invalid" in err
    records = read_all(brokers, topic_name)
    assert len(records) == 2
    for record, doc in zip(records, docs, strict=True):
        schema_id, body = _framed(record.value)
        registered = schema_registry.schema(schema_id)
        assert registered["schemaType"] == "JSON"
        assert json.loads(str(registered["schema"])) == ORDER_JSON_SCHEMA
        assert json.loads(body) == doc
    printed = _envelopes(_ok(run_cli("consume", topic_name, "-e", "-q", env=registry_env)))
    assert [e["payload"] for e in printed] == docs


# --- copying, the DLQ and replay ------------------------------------------------------------


def test_consume_into_produce_envelope_copies_wire_format_records_byte_exact(
    run_cli, brokers, topic_name, tmp_path, registry_env
) -> None:
    target = f"{topic_name}-copy"
    _ok(run_cli("create-topics", topic_name, target, "--no-retry"))
    avsc = _write(tmp_path, "order.avsc", ORDER_AVSC)
    _ok(
        run_cli(
            "produce",
            topic_name,
            "--value-schema",
            avsc,
            "-k",
            "id",
            input=_lines(ORDERS),
            env=registry_env,
        )
    )
    printed = _ok(run_cli("consume", topic_name, "-e", "-q", env=registry_env))
    assert b"value_schema_id" in printed.stdout
    _ok(run_cli("produce", target, "--format", "envelope", input=printed.stdout, env=registry_env))
    source = {(r.partition, r.offset): (r.key, r.value) for r in read_all(brokers, topic_name)}
    copied = {(r.partition, r.offset): (r.key, r.value) for r in read_all(brokers, target)}
    assert copied == source
    # Without a registry an envelope that carries a schema id is an invalid line, not JSON.
    refused = run_cli("produce", target, "--format", "envelope", input=printed.stdout)
    assert refused.returncode == 1
    assert "value_schema_id" in refused.stderr.decode()
    assert "KAFKA_SCHEMA_REGISTRY_URL" in refused.stderr.decode()


def _wire_record(schema_id: int, body: bytes) -> bytes:
    return b"\x00" + struct.pack(">I", schema_id) + body


def test_records_that_cannot_be_decoded_go_to_the_dlq_and_replay_byte_exact(
    run_cli, brokers, topic_name, tmp_path, registry_env, g
) -> None:
    group = g("decode")
    _ok(run_cli("create-topics", topic_name, "-g", group, "-p", "1"))
    avsc = _write(tmp_path, "order.avsc", ORDER_AVSC)
    _ok(
        run_cli(
            "produce",
            topic_name,
            "--value-schema",
            avsc,
            input=_lines(ORDERS[:2]),
            env=registry_env,
        )
    )
    unknown_id = _wire_record(2_000_000_000, b"\x02\x04ab")
    good = read_all(brokers, topic_name)[0].value
    truncated = good[:7]  # a known id, a body cut short
    from tests.integration.kafka_helpers import produce

    produce(
        brokers,
        topic_name,
        [
            (b"k-unknown", unknown_id, [("message-id", b"m-unknown")]),
            (b"k-short", truncated, [("message-id", b"m-short")]),
        ],
    )
    result = _ok(run_cli("consume", topic_name, "-g", group, "-e", "-q", env=registry_env))
    printed = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert [e["payload"]["id"] for e in printed] == [1, 2]
    dlq = read_all(brokers, f"{topic_name}.{group}.dlq")
    assert sorted(r.key for r in dlq) == [b"k-short", b"k-unknown"]
    by_key = {r.key: r for r in dlq}
    assert by_key[b"k-unknown"].value == unknown_id  # the original bytes, unchanged
    assert by_key[b"k-short"].value == truncated
    for record in dlq:
        assert header(record, "kafkactl.error.kind") == "decode"
    assert "2000000000" in (header(by_key[b"k-unknown"], "kafkactl.error.message") or "")
    assert "does not decode" in (header(by_key[b"k-short"], "kafkactl.error.message") or "")

    # Registry down: a record whose schema was never fetched is a decode failure too.
    dead = {"KAFKA_SCHEMA_REGISTRY_URL": f"http://127.0.0.1:{_free_port()}/apis/ccompat/v7"}
    other = g("down")
    _ok(run_cli("create-topics", topic_name, "-g", other, "-p", "1"))
    _ok(
        run_cli("consume", topic_name, "-g", other, "-e", "-q", "--no-retry", env=dead, timeout=120)
    )
    down = read_all(brokers, f"{topic_name}.{other}.dlq")
    assert len(down) == 4
    assert {header(r, "kafkactl.error.kind") for r in down} == {"decode"}
    assert all("could not be reached" in (header(r, "kafkactl.error.message") or "") for r in down)

    # Replay puts the original bytes back on the main topic.
    before = len(read_all(brokers, topic_name))
    _ok(
        run_cli(
            "replay-dlq", topic_name, "-g", group, "--to", "original", "--yes", env=registry_env
        )
    )
    after = read_all(brokers, topic_name)
    assert len(after) == before + 2
    replayed = {r.key: r.value for r in after[before:]}
    assert replayed == {b"k-unknown": unknown_id, b"k-short": truncated}


def test_handlers_see_decoded_documents(run_cli, topic_name, tmp_path, registry_env, g) -> None:
    _ok(run_cli("create-topics", topic_name, "--no-retry"))
    avsc = _write(tmp_path, "order.avsc", ORDER_AVSC)
    _ok(
        run_cli(
            "produce",
            topic_name,
            "--value-schema",
            avsc,
            input=_lines(ORDERS[:1]),
            env=registry_env,
        )
    )
    out = tmp_path / "exec.out"
    _ok(
        run_cli(
            "consume",
            topic_name,
            "-e",
            "-q",
            "--decode",
            "json",
            "--exec",
            f"cat >> {out}; echo >> {out}",
            env=registry_env,
        )
    )
    assert json.loads(out.read_text()) == ORDERS[0]
    raw_out = tmp_path / "raw.out"
    _ok(run_cli("consume", topic_name, "-e", "-q", "--exec", f"cat > {raw_out}", env=registry_env))
    assert raw_out.read_bytes()[0] == 0  # --decode auto: --exec gets the bytes
    module = tmp_path / f"decoded_{uuid.uuid4().hex[:6]}.py"
    seen = tmp_path / "seen.json"
    module.write_text(
        "import json\n"
        "def handle(message):\n"
        f"    open({str(seen)!r}, 'w').write(json.dumps("
        "[message.decoded(), message.value_schema_id]))\n"
    )
    _ok(
        run_cli(
            "consume",
            topic_name,
            "-e",
            "-q",
            "--handler",
            f"{module.stem}:handle",
            env=registry_env,
        )
    )  # the handler's module is in the working directory
    document, schema_id = json.loads(seen.read_text())
    assert document == ORDERS[0] and isinstance(schema_id, int)


# --- Protobuf -----------------------------------------------------------------------------

ORDER_PROTO = """syntax = "proto3";
package shop;

message Order {
  int32 id = 1;
  string item = 2;
  repeated string tags = 3;
  Line line = 4;
}

message Line {
  string sku = 1;
  int64 qty = 2;
}
"""


def _protobuf_classes(tmp_path: Path) -> dict[str, type]:
    """Message classes of ORDER_PROTO compiled here with protoc (independent of kafkactl)."""
    import sys

    from google.protobuf import descriptor_pb2, descriptor_pool
    from google.protobuf.message_factory import GetMessageClass

    source = tmp_path / "independent" / "order.proto"
    source.parent.mkdir()
    source.write_text(ORDER_PROTO)
    out = tmp_path / "independent" / "set.pb"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{source.parent}",
            f"--descriptor_set_out={out}",
            str(source),
        ],
        check=True,
        timeout=60,
    )
    files = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    pool = descriptor_pool.DescriptorPool()
    for file in files.file:
        pool.Add(file)
    return {
        name: GetMessageClass(pool.FindMessageTypeByName(f"shop.{name}"))
        for name in ("Order", "Line")
    }


def test_protobuf_lines_round_trip(
    run_cli, brokers, topic_name, tmp_path, registry_env, schema_registry
) -> None:
    from google.protobuf import json_format

    _ok(run_cli("create-topics", topic_name, "--no-retry", "-p", "1"))
    proto = _write(tmp_path, "order.proto", ORDER_PROTO)
    docs = [
        {"id": 1, "item": "apple", "tags": ["red"], "line": {"sku": "A-1", "qty": "3"}},
        {"id": 2, "item": "pear", "tags": []},
    ]
    bad = [{"id": "one"}, {"id": 3, "colour": "red"}]
    result = _ok(
        run_cli(
            "produce",
            topic_name,
            "--value-schema",
            proto,
            "--value-message",
            "Order",
            input=_lines(docs + bad),
            env=registry_env,
        ),
        code=1,
    )
    err = result.stderr.decode()
    assert "line 3: invalid" in err and "line 4: invalid" in err and "colour" in err
    lines = _ok(
        run_cli(
            "produce",
            topic_name,
            "--value-schema",
            proto,
            "--value-message",
            "Line",
            input=_lines([{"sku": "B-2", "qty": 7}]),
            env=registry_env,
        )
    )
    assert "Protobuf" in lines.stderr.decode()

    classes = _protobuf_classes(tmp_path)
    records = read_all(brokers, topic_name)
    assert len(records) == 3
    found = []
    for record, (name, index) in zip(
        records, [("Order", b"\x00"), ("Order", b"\x00"), ("Line", b"\x02\x02")], strict=True
    ):
        schema_id, body = _framed(record.value)
        assert schema_id > 0
        registered = schema_registry.schema(schema_id)
        assert registered["schemaType"] == "PROTOBUF"
        # Confluent's message indexes: [0] is one 0 byte; [1] is count 1, index 1 (zigzag).
        assert body.startswith(index), body[:4]
        message = classes[name].FromString(body[len(index) :])
        found.append(json_format.MessageToDict(message, preserving_proto_field_name=True))
    assert found[0] == docs[0]
    assert found[1] == {"id": 2, "item": "pear"}  # proto3: empty fields are not written
    assert found[2] == {"sku": "B-2", "qty": "7"}

    printed = _envelopes(_ok(run_cli("consume", topic_name, "-e", "-q", env=registry_env)))
    assert printed[0]["payload"] == docs[0]
    assert printed[1]["payload"] == {"id": 2, "item": "pear", "tags": []}
    assert printed[2]["payload"] == {"sku": "B-2", "qty": "7"}


def test_protobuf_schema_registered_as_proto_text_by_another_tool(
    run_cli, brokers, topic_name, tmp_path, registry_env, schema_registry
) -> None:
    _ok(run_cli("create-topics", topic_name, "--no-retry", "-p", "1"))
    subject = f"{topic_name}-value"
    status, body = schema_registry.request(
        "POST", f"/subjects/{subject}/versions", {"schemaType": "PROTOBUF", "schema": ORDER_PROTO}
    )
    assert status == 200, body
    schema_id = body["id"]  # type: ignore[index]
    _ok(
        run_cli(
            "produce",
            topic_name,
            "--value-subject",
            subject,
            input=_lines([{"id": 5, "item": "kiwi"}]),
            env=registry_env,
        )
    )
    (record,) = read_all(brokers, topic_name)
    assert _framed(record.value)[0] == schema_id
    message = _protobuf_classes(tmp_path)["Order"].FromString(_framed(record.value)[1][1:])
    assert (message.id, message.item) == (5, "kiwi")
    printed = _envelopes(_ok(run_cli("consume", topic_name, "-e", "-q", env=registry_env)))
    assert printed[0]["payload"]["item"] == "kiwi"
    assert printed[0]["value_schema_id"] == schema_id


# --- keys, health, config -------------------------------------------------------------------


def test_key_schema_with_a_key_field(
    run_cli, brokers, topic_name, tmp_path, registry_env, schema_registry
) -> None:
    import fastavro

    _ok(run_cli("create-topics", topic_name, "--no-retry", "-p", "1"))
    key_schema = _write(tmp_path, "key.avsc", {"type": "int"})
    value_schema = _write(tmp_path, "order.avsc", ORDER_AVSC)
    _ok(
        run_cli(
            "produce",
            topic_name,
            "--key-schema",
            key_schema,
            "--value-schema",
            value_schema,
            "-k",
            "id",
            input=_lines(ORDERS[:2]),
            env=registry_env,
        )
    )
    records = read_all(brokers, topic_name)
    for record, order in zip(records, ORDERS[:2], strict=True):
        key_id, body = _framed(record.key)
        writer = fastavro.parse_schema(json.loads(str(schema_registry.schema(key_id)["schema"])))
        assert fastavro.schemaless_reader(io.BytesIO(body), writer) == order["id"]
    status, _ = schema_registry.request("GET", f"/subjects/{topic_name}-key/versions/latest")
    assert status == 200
    printed = _envelopes(_ok(run_cli("consume", topic_name, "-e", "-q", env=registry_env)))
    assert [e["key"] for e in printed] == [1, 2]
    assert all(isinstance(e["key_schema_id"], int) for e in printed)


def test_health_and_config_report_the_registry(
    run_cli, topic_name, tmp_path, registry_env, schema_registry
) -> None:
    _ok(run_cli("create-topics", topic_name, "--no-retry", "-p", "1"))
    avsc = _write(tmp_path, "order.avsc", ORDER_AVSC)
    _ok(
        run_cli(
            "produce",
            topic_name,
            "--value-schema",
            avsc,
            input=_lines(ORDERS[:1]),
            env=registry_env,
        )
    )
    report = json.loads(
        _ok(run_cli("health", "-t", topic_name, "--no-retry", "--json", env=registry_env)).stdout
    )
    assert report["registry"] == {
        "url": schema_registry.url,
        "reachable": True,
        "error": None,
        "subjects": {topic_name: [f"{topic_name}-value"]},
    }
    assert report["verdict"] == "healthy"
    dead = f"http://127.0.0.1:{_free_port()}/apis/ccompat/v7"
    down = run_cli(
        "health", "-t", topic_name, "--no-retry", "--json", env={"KAFKA_SCHEMA_REGISTRY_URL": dead}
    )
    assert down.returncode == 1
    report = json.loads(down.stdout)
    assert report["verdict"] == "degraded" and report["registry"]["reachable"] is False
    assert any("could not be reached" in reason for reason in report["reasons"])
    config = json.loads(
        _ok(
            run_cli(
                "config",
                "--json",
                env={
                    **registry_env,
                    "KAFKA_SCHEMA_REGISTRY_USERNAME": "reader",
                    "KAFKA_SCHEMA_REGISTRY_PASSWORD": "registry-secret",
                },
            )
        ).stdout
    )
    assert config["settings"]["schema_registry_url"]["value"] == schema_registry.url
    assert config["settings"]["schema_registry_password"]["value"] == "********"
    assert config["schemas"]["installed"] is True
