"""The tracing model: its configuration (OTEL_* variables), spans, and the tracer that does
nothing (tracing off); kafkactl.tracing.otel builds the real one over this."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kafkactl.errors import UsageError

if TYPE_CHECKING:
    from kafkactl.headers import Failure
    from kafkactl.message import Message
    from kafkactl.tracing.context import TraceContext

EXPORTERS = ("otlp", "console", "none")
DEFAULT_SERVICE_NAME = "kafkactl"
INSTALL_OTEL = "pip install 'kafkactl[otel]'"
# The SDK keeps at most this many links on a span (OTEL_SPAN_LINK_COUNT_LIMIT's default), so a
# produce `send` span covers at most this many records.
MAX_LINKS = 128


@dataclass(frozen=True)
class TracingConfig:
    """What the standard OTEL_* variables ask for."""

    exporters: tuple[str, ...]
    endpoint: str | None
    service_name: str

    @property
    def enabled(self) -> bool:
        """Whether spans are recorded (some exporter other than none)."""
        return bool(self.exporters)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready view for `kafkactl config`."""
        return {
            "enabled": self.enabled,
            "exporter": ",".join(self.exporters) or "none",
            "endpoint": self.endpoint,
            "service_name": self.service_name,
        }


def config_from_env(env: Mapping[str, str] | None = None) -> TracingConfig:
    """The tracing configuration of the OTEL_* variables; UsageError for an unknown exporter."""
    env = os.environ if env is None else env
    names = [n.strip().lower() for n in env.get("OTEL_TRACES_EXPORTER", "").split(",")]
    for name in names:
        if name and name not in EXPORTERS:
            raise UsageError(
                f"OTEL_TRACES_EXPORTER {name!r} is not supported; use otlp, console or none"
            )
    exporters = tuple(dict.fromkeys(n for n in names if n and n != "none"))
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        exporters = ()
    endpoint = (
        env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    ) or None
    if endpoint is None and "otlp" in exporters:
        endpoint = "http://localhost:4318"
    service = env.get("OTEL_SERVICE_NAME", "").strip() or DEFAULT_SERVICE_NAME
    return TracingConfig(exporters, endpoint, service)


def otel_installed() -> str | None:
    """The version of the OpenTelemetry SDK installed (without importing it), or None."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("opentelemetry-sdk")
    except PackageNotFoundError:
        return None


class Span:
    """A span as the core sees it; this one records nothing (tracing off)."""

    traceparent: str | None = None
    tracestate: str | None = None

    def fail(self, failure: Failure) -> None:
        """Mark the span failed with a handler failure (kind, class, message)."""

    def end(self, error: str | None = None) -> None:
        """End the span (with an error status when `error` is given)."""

    def inject(self, headers: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
        """The headers with this span's context as `traceparent` (and `tracestate`)."""
        return headers


NOOP_SPAN = Span()


class SendBatch:
    """Records of one produce `send` span: their contexts are linked from it."""

    def add(self, headers: Sequence[tuple[str, bytes]]) -> None:
        """Link the record with these headers from the batch's span."""

    def end(self) -> None:
        """Record the span (if it has records) and start an empty batch."""


class NoopTracer:
    """Tracing off: every call is a constant no-op."""

    enabled = False

    @contextlib.contextmanager
    def process(self, message: Message, group: str | None) -> Iterator[Span]:
        """The span of one handler attempt, current while the handler runs."""
        yield NOOP_SPAN

    def publish(
        self,
        topic: str,
        copy: str,
        headers: Sequence[tuple[str, bytes]],
        key: bytes | None,
        attributes: Mapping[str, str | int] | None = None,
    ) -> Span:
        """A started span for one retry/DLQ/replay copy; `inject` puts it in the copy."""
        return NOOP_SPAN

    def send_batch(self, topic: str) -> SendBatch:
        """The produce `send` spans of records to `topic`."""
        return SendBatch()

    def current(self) -> TraceContext | None:
        """The context of the span current on this thread (for a child process), or None."""
        return None

    def shutdown(self) -> None:
        """Export what is left (end of the run)."""
