"""Tracing against the real broker (DESIGN §14.2): one trace from `produce --trace` through every
attempt, the DLQ and a replay; spans over OTLP/HTTP to a receiver in the test; the console
exporter on stderr only; nothing of OpenTelemetry imported when tracing is off."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tests.conftest import REPO
from tests.integration.kafka_helpers import header, read_all

# One retry tier: a record that always fails is tried twice (main topic, tier 1), then the DLQ.
FAIL = 'echo "$KAFKA_ATTEMPT $TRACEPARENT" >> {log}; exit 1'
SUCCEED = 'echo "$KAFKA_ATTEMPT $TRACEPARENT" >> {log}'


@pytest.fixture
def env() -> dict[str, str]:
    return {"PYTHONPATH": str(REPO), "KAFKA_RETRY_DELAYS": "200ms"}


def _ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    assert b"Traceback" not in result.stderr, result.stderr.decode()[-3000:]
    return result


def _trace_id(traceparent: str | None) -> str:
    assert traceparent, "no traceparent"
    return traceparent.split("-")[1]


def _seen(log: Path) -> list[tuple[int, str]]:
    """(attempt, TRACEPARENT) per handler run, from the exec command's log."""
    out = []
    for line in log.read_text().splitlines():
        attempt, _, parent = line.partition(" ")
        out.append((int(attempt), parent))
    return out


def _fail_dlq_replay_succeed(run_cli, brokers, topic, group, env, tmp_path) -> dict[str, Any]:
    """produce --trace one record; fail it twice into the DLQ; replay it; handle it. Returns
    what each step saw."""
    _ok(run_cli("create-topics", topic, "-g", group, "-p", "1", env=env))
    _ok(run_cli("produce", topic, "--trace", "-k", "id", "-q", input='{"id": 7}\n', env=env))
    (record,) = read_all(brokers, topic)
    failed, fixed = tmp_path / "failed.log", tmp_path / "fixed.log"
    _ok(
        run_cli(
            "consume", topic, "-g", group, "--exec", FAIL.format(log=failed), "-e", "-q", env=env
        )
    )
    dlq = f"{topic}.{group}.dlq"
    (dead,) = read_all(brokers, dlq)
    (tier,) = read_all(brokers, f"{topic}.{group}.retry.1")
    result = _ok(run_cli("replay-dlq", topic, "-g", group, "--yes", "--json", env=env, input=""))
    assert json.loads(result.stdout)["replayed"] == 1
    copies = [r for r in read_all(brokers, f"{topic}.{group}.retry.1") if r.offset > tier.offset]
    (replayed,) = copies
    _ok(
        run_cli(
            "consume", topic, "-g", group, "--exec", SUCCEED.format(log=fixed), "-e", "-q", env=env
        )
    )
    return {
        "record": record,
        "tier": tier,
        "dead": dead,
        "replayed": replayed,
        "failed": _seen(failed),
        "fixed": _seen(fixed),
    }


def test_the_trace_context_follows_a_message_through_retries_the_dlq_and_a_replay(
    run_cli, brokers, topic_name, env, tmp_path
):
    seen = _fail_dlq_replay_succeed(run_cli, brokers, topic_name, "tr", env, tmp_path)
    parent = header(seen["record"], "traceparent")
    trace_id = _trace_id(parent)
    # Spans off: every copy carries the record's traceparent unchanged.
    for name in ("tier", "dead", "replayed"):
        assert header(seen[name], "traceparent") == parent, name
    assert header(seen["replayed"], "kafkactl.replay.count") == "1"
    assert seen["failed"] == [(1, parent), (2, parent)]
    assert seen["fixed"] == [(1, parent)]
    assert len(trace_id) == 32


# --- spans over OTLP/HTTP ---------------------------------------------------------------------


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        self.server.requests.append((self.path, request))  # type: ignore[attr-defined]
        answer = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[ThreadingHTTPServer]:
    """An OTLP/HTTP trace receiver on 127.0.0.1 that keeps the decoded requests."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _spans(server: ThreadingHTTPServer) -> list[dict[str, Any]]:
    out = []
    for path, request in server.requests:  # type: ignore[attr-defined]
        assert path == "/v1/traces"
        for resource_spans in request.resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope in resource_spans.scope_spans:
                for span in scope.spans:
                    attributes = {}
                    for a in span.attributes:
                        kind = a.value.WhichOneof("value")
                        attributes[a.key] = getattr(a.value, kind)
                    out.append(
                        {
                            "name": span.name,
                            "service": resource.get("service.name"),
                            "trace": span.trace_id.hex(),
                            "span": span.span_id.hex(),
                            "parent": span.parent_span_id.hex(),
                            "links": [(lk.trace_id.hex(), lk.span_id.hex()) for lk in span.links],
                            "attributes": attributes,
                            "error": span.status.code == span.status.STATUS_CODE_ERROR,
                            "start": span.start_time_unix_nano,
                        }
                    )
    return out


def test_spans_of_produce_every_attempt_the_dlq_and_the_replay_form_one_trace(
    run_cli, brokers, topic_name, env, tmp_path, receiver
):
    otlp = {
        **env,
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{receiver.server_address[1]}",
    }
    group = "tr"
    seen = _fail_dlq_replay_succeed(run_cli, brokers, topic_name, group, otlp, tmp_path)
    record_parent = header(seen["record"], "traceparent")
    trace_id, record_span = record_parent.split("-")[1:3]
    spans = _spans(receiver)
    assert {s["service"] for s in spans} == {"kafkactl"}

    (send,) = [s for s in spans if s["name"] == f"send {topic_name}"]
    assert send["links"] == [(trace_id, record_span)]
    assert send["attributes"]["messaging.batch.message_count"] == 1

    mine = sorted((s for s in spans if s["trace"] == trace_id), key=lambda s: s["start"])
    tier, dlq = f"{topic_name}.{group}.retry.1", f"{topic_name}.{group}.dlq"
    assert [(s["name"], s["attributes"].get("kafkactl.copy")) for s in mine] == [
        (f"process {topic_name}", None),
        (f"publish {tier}", "retry"),
        (f"process {tier}", None),
        (f"publish {dlq}", "dlq"),
        (f"publish {tier}", "replay"),
        (f"process {tier}", None),
    ]
    first, retry, second, dead, replay, last = mine
    assert first["parent"] == record_span
    for child, parent in zip(mine[1:], mine, strict=False):
        assert child["parent"] == parent["span"], child["name"]
    for span, attempt, topic, offset in (
        (first, 1, topic_name, seen["record"].offset),
        (second, 2, tier, seen["tier"].offset),
        (last, 1, tier, seen["replayed"].offset),
    ):
        a = span["attributes"]
        assert a["messaging.system"] == "kafka"
        assert a["messaging.destination.name"] == topic
        assert a["messaging.kafka.destination.partition"] == 0
        assert a["messaging.kafka.message.offset"] == offset
        assert a["messaging.kafka.message.key"] == "7"
        assert a["messaging.consumer.group.name"] == group
        assert a["kafkactl.attempt"] == attempt
    for failed in (first, second):
        assert failed["error"]
        assert failed["attributes"]["kafkactl.error.kind"] == "retryable"
        assert failed["attributes"]["kafkactl.error.class"] == "exit:1"
    assert not last["error"] and "kafkactl.error.kind" not in last["attributes"]
    assert replay["attributes"]["kafkactl.replay.count"] == 1

    # Each copy names its publish span; the command ran with its attempt's span.
    assert header(seen["tier"], "traceparent").split("-")[2] == retry["span"]
    assert header(seen["dead"], "traceparent").split("-")[2] == dead["span"]
    assert header(seen["replayed"], "traceparent").split("-")[2] == replay["span"]
    assert [(a, p.split("-")[1:3]) for a, p in seen["failed"]] == [
        (1, [trace_id, first["span"]]),
        (2, [trace_id, second["span"]]),
    ]
    assert [(a, p.split("-")[2]) for a, p in seen["fixed"]] == [(1, last["span"])]


# --- the console exporter, and tracing off ----------------------------------------------------


def test_console_spans_go_to_stderr_and_stdout_stays_clean(run_cli, brokers, topic_name, env):
    console = {**env, "OTEL_TRACES_EXPORTER": "console"}
    _ok(run_cli("create-topics", topic_name, "-g", "console", "-p", "1", env=env))
    lines = "".join(f'{{"id": {i}}}\n' for i in range(3))
    produced = _ok(run_cli("produce", topic_name, "--trace", "--json", input=lines, env=console))
    assert json.loads(produced.stdout)["published"] == 3  # the summary, nothing else
    assert f'"name": "send {topic_name}"' in produced.stderr.decode()
    read = _ok(run_cli("consume", topic_name, "-g", "console", "-f", "value", "-e", env=console))
    assert read.stdout.decode().splitlines() == [f'{{"id": {i}}}' for i in range(3)]
    assert read.stderr.decode().count(f'"name": "process {topic_name}"') == 3


OFF_CHECK = """
import atexit, sys
def modules():
    loaded = sorted(m for m in sys.modules if m.startswith("opentelemetry"))
    sys.stderr.write(f"otel-modules={loaded}\\n")
atexit.register(modules)
from kafkactl.cli.app import main
sys.argv = ["kafkactl", *sys.argv[1:]]
main()
"""


def test_with_tracing_off_no_opentelemetry_module_is_imported(cli_env, topic_name, env, tmp_path):
    run_env = {**cli_env, **env}
    run_env.pop("OTEL_TRACES_EXPORTER", None)

    def run(*args: str, data: bytes = b"") -> str:
        result = subprocess.run(
            [sys.executable, "-c", OFF_CHECK, *args],
            input=data,
            capture_output=True,
            env=run_env,
            cwd=tmp_path,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr.decode()[-3000:]
        return result.stderr.decode()

    run("create-topics", topic_name, "-g", "off", "-p", "1")
    assert "otel-modules=[]" in run("produce", topic_name, "--trace", "-q", data=b'{"a": 1}\n')
    log = tmp_path / "off.log"
    stderr = run("consume", topic_name, "-g", "off", "--exec", FAIL.format(log=log), "-e", "-q")
    assert "otel-modules=[]" in stderr
    assert [a for a, _ in _seen(log)] == [1, 2]
    assert "otel-modules=[]" in run("replay-dlq", topic_name, "-g", "off", "--yes", "-q")
