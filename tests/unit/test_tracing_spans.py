"""Spans with the OpenTelemetry SDK's in-memory exporter, over the in-memory Kafka: one trace
from produce through every attempt, the retry tiers, the DLQ and a replay."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from kafkactl import headers as hdr
from kafkactl import tracing
from kafkactl.handlers.exec import ExecHandler
from kafkactl.ingest import ProduceOptions
from kafkactl.message import Message
from kafkactl.replay import Replayer, ReplayOptions
from kafkactl.tracing.context import from_headers
from kafkactl.tracing.otel import OtelTracer
from tests.fakes import FakeProducer
from tests.unit.handler_helpers import make_message
from tests.unit.test_consumer import (
    DLQ,
    GROUP,
    MAIN,
    SETTINGS,
    T1,
    T2,
    PipelineRun,
    ScriptedHandler,
    make_cluster,
)
from tests.unit.test_ingest import run as run_produce

VALID = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """kafkactl's tracer on an SDK provider that keeps every ended span in memory."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use(OtelTracer(provider))
    try:
        yield exporter
    finally:
        tracing.use(None)
        provider.shutdown()


class Recording(ScriptedHandler):
    """ScriptedHandler that also notes the span current while it runs (the handler's own
    instrumentation would be its child)."""

    def __init__(self) -> None:
        super().__init__()
        self.current: list[tuple[bytes | None, int, int]] = []
        self._seen_lock = threading.Lock()

    def handle(self, message: Message) -> None:
        context = trace.get_current_span().get_span_context()
        with self._seen_lock:
            self.current.append((message.value, message.attempt, context.span_id))
        super().handle(message)


def _tp(context) -> str:
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-01"


def _sid(span: ReadableSpan) -> int:
    return span.context.span_id


def _parent(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent else None


def test_one_trace_from_the_record_through_every_attempt_the_dlq_and_a_replay(spans):
    cluster = make_cluster()
    cluster.produce(MAIN, b"bad-1", key=b"k-bad", headers=[("traceparent", VALID.encode())])
    cluster.produce(MAIN, b"flaky", key=b"k-flaky")  # no context: kafkactl starts a trace
    handler = Recording()
    PipelineRun(cluster, handler).start().wait()

    finished = spans.get_finished_spans()
    trace_id = int(VALID.split("-")[1], 16)
    bad = sorted(
        (s for s in finished if s.context.trace_id == trace_id), key=lambda s: s.start_time
    )
    kinds = [(s.name, s.attributes.get("kafkactl.attempt")) for s in bad]
    assert kinds == [
        (f"process {MAIN}", 1),
        (f"publish {T1}", 1),
        (f"process {T1}", 2),
        (f"publish {T2}", 2),
        (f"process {T2}", 3),
        (f"publish {DLQ}", 3),
    ]
    # Each span is the child of the one before: the record's context, then attempt, copy, ...
    assert _parent(bad[0]) == int(VALID.split("-")[2], 16)
    for child, parent in zip(bad[1:], bad, strict=False):
        assert _parent(child) == _sid(parent), child.name
    first, dlq_publish = bad[0], bad[-1]
    assert first.kind is SpanKind.CONSUMER and dlq_publish.kind is SpanKind.PRODUCER
    assert dict(first.attributes) | {} == {
        **dict(first.attributes),
        "messaging.system": "kafka",
        "messaging.destination.name": MAIN,
        "messaging.kafka.destination.partition": 0,
        "messaging.kafka.message.offset": 0,
        "messaging.kafka.message.key": "k-bad",
        "messaging.consumer.group.name": GROUP,
        "kafkactl.attempt": 1,
        "kafkactl.error.kind": "retryable",
        "kafkactl.error.class": "ValueError",
        "error.type": "ValueError",
    }
    assert first.status.status_code is StatusCode.ERROR
    assert first.status.description == "bad value"
    assert dlq_publish.attributes["kafkactl.copy"] == "dlq"
    assert bad[1].attributes["kafkactl.copy"] == "retry"
    # Every copy carries its publish span as traceparent.
    for topic, publish in ((T1, bad[1]), (T2, bad[3]), (DLQ, bad[5])):
        (copy,) = [r for r in cluster.records(topic) if r.value == b"bad-1"]
        assert hdr.get_text(copy.headers, "traceparent") == _tp(publish.context)
    # The handler ran inside its attempt's span.
    ran = {(v, a): sid for v, a, sid in handler.current}
    assert ran[(b"bad-1", 2)] == _sid(bad[2])

    # The record without a context got a trace of its own: failed once, succeeded on tier 1.
    flaky = [s for s in finished if s.attributes.get("messaging.kafka.message.key") == "k-flaky"]
    assert len({s.context.trace_id for s in flaky}) == 1
    ok = next(s for s in flaky if s.name == f"process {T1}")
    assert ok.status.status_code is StatusCode.UNSET and ok.attributes["kafkactl.attempt"] == 2
    assert "kafkactl.error.kind" not in ok.attributes

    # A replay: its publish span is the DLQ copy's child; the replayed attempt is its child.
    spans.clear()
    replay = Replayer(
        SETTINGS,
        ReplayOptions(dlq=DLQ, poll_timeout_ms=10, commit_interval=0.05),
        connect_admin=cluster.connect_admin,
        connect_consumer=cluster.connect_consumer,
        connect_producer=lambda _settings: FakeProducer(cluster),
    )
    replay.open()
    try:
        assert replay.run().replayed == 1
    finally:
        replay.close()
    (replayed,) = spans.get_finished_spans()
    assert replayed.name == f"publish {T1}" and replayed.attributes["kafkactl.copy"] == "replay"
    assert replayed.context.trace_id == trace_id
    assert _parent(replayed) == _sid(dlq_publish)
    assert replayed.attributes["kafkactl.replay.from"] == f"{DLQ}:0:0"

    fixed = Recording()
    fixed.handle = lambda message: None  # type: ignore[method-assign]
    PipelineRun(cluster, fixed).start().wait()
    (last,) = [s for s in spans.get_finished_spans() if s.name.startswith("process")]
    assert last.context.trace_id == trace_id and _parent(last) == _sid(replayed)
    assert last.attributes["kafkactl.attempt"] == 1  # a replay starts the attempts again


def test_produce_links_one_send_span_to_every_record_in_batches_of_128(spans):
    options = ProduceOptions("orders", format="envelope")
    own = f'{{"value": "a", "headers": {{"traceparent": "{VALID}"}}}}\n'.encode()
    data = [own] + [b'{"value": "v%d"}\n' % i for i in range(199)]
    _, publisher, _ = run_produce(options, data)
    contexts = [from_headers(r["headers"]) for r in publisher.sent]
    assert all(contexts)  # spans on: every record is traced, as with --trace
    assert contexts[0].traceparent == VALID
    sends = sorted(spans.get_finished_spans(), key=lambda s: s.start_time)
    assert [s.name for s in sends] == ["send orders", "send orders"]
    assert [s.attributes["messaging.batch.message_count"] for s in sends] == [128, 72]
    linked = [(link.context.trace_id, link.context.span_id) for s in sends for link in s.links]
    assert linked == [(int(c.trace_id, 16), int(c.span_id, 16)) for c in contexts]
    assert all(s.kind is SpanKind.PRODUCER for s in sends)


def test_an_exec_command_gets_its_attempts_span_as_traceparent(spans):
    handler = ExecHandler("true")
    message = make_message(headers=[("traceparent", VALID.encode()), ("tracestate", b"k=v")])
    with tracing.tracer().process(message, GROUP) as span:
        env = handler.environment(message)
    assert env[b"TRACEPARENT"].decode() == span.traceparent
    assert span.traceparent.split("-")[1] == VALID.split("-")[1]
    assert env[b"TRACESTATE"] == b"k=v"
