"""Tracing: W3C trace context on records (always), OpenTelemetry spans (when enabled).

The core calls `tracer()` once per run and checks `tracer().enabled` before any per-record
work, so tracing that is off costs one attribute check and imports nothing of OpenTelemetry.
It is on when `OTEL_TRACES_EXPORTER` names an exporter (`otlp`, `console`; `none` or unset:
off; `OTEL_SDK_DISABLED=true` turns it off too); `kafkactl.tracing.otel` builds the SDK then.
"""

from __future__ import annotations

from kafkactl.errors import UsageError
from kafkactl.tracing.context import (
    TRACEPARENT,
    TRACESTATE,
    TraceContext,
    ensure_traceparent,
    from_headers,
    new_traceparent,
    parse_traceparent,
)
from kafkactl.tracing.model import (
    DEFAULT_SERVICE_NAME,
    EXPORTERS,
    INSTALL_OTEL,
    MAX_LINKS,
    NOOP_SPAN,
    NoopTracer,
    SendBatch,
    Span,
    TracingConfig,
    config_from_env,
    otel_installed,
)

__all__ = [
    "DEFAULT_SERVICE_NAME",
    "EXPORTERS",
    "INSTALL_OTEL",
    "MAX_LINKS",
    "NOOP_SPAN",
    "TRACEPARENT",
    "TRACESTATE",
    "NoopTracer",
    "SendBatch",
    "Span",
    "TraceContext",
    "TracingConfig",
    "config_from_env",
    "ensure_traceparent",
    "from_headers",
    "new_traceparent",
    "otel_installed",
    "parse_traceparent",
    "reset",
    "tracer",
    "use",
]

_state: dict[str, NoopTracer | None] = {"tracer": None}


def tracer() -> NoopTracer:
    """The run's tracer, built on first use from the OTEL_* variables.

    UsageError (exit 2) when they ask for tracing and OpenTelemetry is not installed.
    """
    current = _state["tracer"]
    if current is None:
        config = config_from_env()
        if config.enabled:
            try:
                from kafkactl.tracing import otel

                current = otel.build(config)
            except ImportError as exc:
                raise UsageError(
                    f"OTEL_TRACES_EXPORTER={','.join(config.exporters)} needs OpenTelemetry "
                    f"({exc.name or exc} is not installed): {INSTALL_OTEL} (or unset "
                    "OTEL_TRACES_EXPORTER)"
                ) from None
        else:
            current = NoopTracer()
        _state["tracer"] = current
    return current


def use(chosen: NoopTracer | None) -> None:
    """Use this tracer from now on (tests: an SDK tracer over an in-memory exporter); None:
    build it again from the environment on next use."""
    _state["tracer"] = chosen


def reset() -> None:
    """Forget the tracer (shut down first)."""
    current = _state["tracer"]
    _state["tracer"] = None
    if current is not None:
        current.shutdown()
