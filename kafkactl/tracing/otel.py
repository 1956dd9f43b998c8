"""The OpenTelemetry side of tracing, imported only when OTEL_TRACES_EXPORTER asks for spans.

Spans follow the messaging semantic conventions: `send` (produce; one span per batch of up to
128 records, linked to each record's context: a span per record costs more than the record),
`process` (one per handler attempt, child of the record's context, current while the handler
runs so its own instrumentation joins), `publish` (one per retry/DLQ/replay copy; the copy's
`traceparent` is this span, so the next attempt is its child and the trace stays one).
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from kafkactl import __version__
from kafkactl import headers as hdr
from kafkactl.tracing.context import (
    TRACEPARENT,
    TRACESTATE,
    TraceContext,
    from_headers,
)
from kafkactl.tracing.model import (
    MAX_LINKS,
    NoopTracer,
    SendBatch,
    Span,
    TracingConfig,
)

if TYPE_CHECKING:
    from kafkactl.headers import Failure
    from kafkactl.message import Message

_PROPAGATOR = TraceContextTextMapPropagator()


def build(config: TracingConfig) -> OtelTracer:
    """The tracer of a CLI run: the SDK with the configured exporters, set as the global
    provider so a Python handler's own spans join kafkactl's."""
    resource = Resource.create({"service.name": config.service_name})
    provider = TracerProvider(resource=resource)
    for name in config.exporters:
        if name == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            # The exporter reads OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT, headers and timeout.
            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        elif name == "console":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            # stdout is the data channel: spans go to stderr.
            provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(out=sys.stderr)))
    trace.set_tracer_provider(provider)
    return OtelTracer(provider)


def _traceparent(context: SpanContext) -> str:
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


def _parent(headers: Sequence[tuple[str, bytes]] | None) -> Context:
    """The context a record's headers carry (a new root when they carry none)."""
    found = from_headers(headers)
    if found is None:
        return Context()
    carrier = {TRACEPARENT: found.traceparent}
    if found.tracestate:
        carrier[TRACESTATE] = found.tracestate
    return _PROPAGATOR.extract(carrier, context=Context())


def _key(key: bytes | None) -> dict[str, str]:
    return {} if key is None else {"messaging.kafka.message.key": key.decode("utf-8", "replace")}


class OtelSpan(Span):
    """A recording span."""

    def __init__(self, span: trace.Span) -> None:
        self._span = span
        context = span.get_span_context()
        self.traceparent = _traceparent(context)
        self.tracestate = context.trace_state.to_header() or None

    def fail(self, failure: Failure) -> None:
        """Mark the span failed with a handler failure (kind, class, message)."""
        self._span.set_attributes(
            {
                "error.type": failure.error_class,
                "kafkactl.error.kind": failure.kind,
                "kafkactl.error.class": failure.error_class,
            }
        )
        self._span.set_status(Status(StatusCode.ERROR, failure.message))

    def end(self, error: str | None = None) -> None:
        """End the span (with an error status when `error` is given)."""
        if error is not None:
            self._span.set_status(Status(StatusCode.ERROR, error))
        self._span.end()

    def inject(self, headers: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
        """The headers with this span's context as `traceparent`; `tracestate` kept."""
        updates: dict[str, str | int | bytes | None] = {TRACEPARENT: self.traceparent}
        if self.tracestate:
            updates[TRACESTATE] = self.tracestate
        return hdr.replace(headers, updates)


class OtelSendBatch(SendBatch):
    """One `send` span per batch of up to 128 records, linked to each record's context."""

    def __init__(self, tracer: trace.Tracer, topic: str) -> None:
        self._tracer = tracer
        self._topic = topic
        self._links: list[tuple[int, int, int]] = []  # trace id, span id, flags
        self._started = 0

    def add(self, headers: Sequence[tuple[str, bytes]]) -> None:
        """Link the record with these headers (its last `traceparent`, which the produce job
        made valid) from the batch's span."""
        value = b""
        for key, data in headers:
            if key == TRACEPARENT:
                value = data
        if len(value) < 55:
            return
        if not self._links:
            self._started = time.time_ns()
        self._links.append((int(value[3:35], 16), int(value[36:52], 16), int(value[53:55], 16)))
        if len(self._links) >= MAX_LINKS:
            self.end()

    def end(self) -> None:
        """Record the span (if it has records) and start an empty batch."""
        ids, self._links = self._links, []
        if not ids:
            return
        links = [Link(SpanContext(t, s, True, TraceFlags(f))) for t, s, f in ids]
        span = self._tracer.start_span(
            f"send {self._topic}",
            context=Context(),
            kind=SpanKind.PRODUCER,
            links=links,
            start_time=self._started,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "send",
                "messaging.operation.name": "send",
                "messaging.destination.name": self._topic,
                "messaging.batch.message_count": len(links),
            },
        )
        span.end()


class OtelTracer(NoopTracer):
    """Spans through an SDK TracerProvider (the CLI's, or a test's in-memory one)."""

    enabled = True

    def __init__(self, provider: Any) -> None:
        self._provider = provider
        self._tracer = provider.get_tracer("kafkactl", __version__)

    @contextlib.contextmanager
    def process(self, message: Message, group: str | None) -> Iterator[Span]:
        """The span of one handler attempt, current while the handler runs."""
        attributes: dict[str, str | int] = {
            "messaging.system": "kafka",
            "messaging.operation.type": "process",
            "messaging.operation.name": "process",
            "messaging.destination.name": message.topic,
            "messaging.destination.partition.id": str(message.partition),
            "messaging.kafka.destination.partition": message.partition,
            "messaging.kafka.message.offset": message.offset,
            "messaging.message.id": message.message_id,
            "kafkactl.attempt": message.attempt,
            **_key(message.key),
        }
        if group:
            attributes["messaging.consumer.group.name"] = group
        with self._tracer.start_as_current_span(
            f"process {message.topic}",
            context=_parent(message.headers),
            kind=SpanKind.CONSUMER,
            attributes=attributes,
        ) as span:
            yield OtelSpan(span)

    def publish(
        self,
        topic: str,
        copy: str,
        headers: Sequence[tuple[str, bytes]],
        key: bytes | None,
        attributes: Mapping[str, str | int] | None = None,
    ) -> Span:
        """A started span for one copy: a child of the current span (the handler attempt
        that failed) or, with none current (replay-dlq), of the context the record carries."""
        current = trace.get_current_span().get_span_context()
        parent = None if current.is_valid else _parent(headers)
        span = self._tracer.start_span(
            f"publish {topic}",
            context=parent,
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "send",
                "messaging.operation.name": "publish",
                "messaging.destination.name": topic,
                "kafkactl.copy": copy,
                **_key(key),
                **(attributes or {}),
            },
        )
        return OtelSpan(span)

    def send_batch(self, topic: str) -> SendBatch:
        """The produce `send` spans of records to `topic`."""
        return OtelSendBatch(self._tracer, topic)

    def current(self) -> TraceContext | None:
        """The context of the span current on this thread (for a child process), or None."""
        context = trace.get_current_span().get_span_context()
        if not context.is_valid:
            return None
        state = context.trace_state.to_header() or None
        return TraceContext(
            f"{context.trace_id:032x}", f"{context.span_id:016x}", int(context.trace_flags), state
        )

    def shutdown(self) -> None:
        """Export what is left (end of the run)."""
        self._provider.force_flush()
