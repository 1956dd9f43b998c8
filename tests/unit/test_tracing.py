"""Tracing without OpenTelemetry: W3C trace context, the OTEL_* configuration, the off state."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kafkactl import tracing
from kafkactl.errors import UsageError
from kafkactl.handlers.exec import ExecHandler
from kafkactl.ingest import ProduceOptions
from kafkactl.tracing.context import (
    TraceContext,
    clean_tracestate,
    ensure_traceparent,
    from_headers,
    new_traceparent,
    parse_traceparent,
)
from tests.conftest import REPO
from tests.unit.handler_helpers import make_message
from tests.unit.test_ingest import run as run_produce

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN = "00f067aa0ba902b7"
VALID = f"00-{TRACE}-{SPAN}-01"


# --- W3C trace context ------------------------------------------------------------------------


def test_a_valid_traceparent_is_parsed_with_its_tracestate():
    ctx = parse_traceparent(VALID, "congo=t61rcWkgMzE")
    assert ctx == TraceContext(TRACE, SPAN, 1, "congo=t61rcWkgMzE")
    assert ctx.sampled and ctx.traceparent == VALID
    assert parse_traceparent(VALID.encode()) == TraceContext(TRACE, SPAN, 1, None)
    assert not parse_traceparent(f"00-{TRACE}-{SPAN}-00").sampled
    # A later version may append fields: they are ignored.
    assert parse_traceparent(f"01-{TRACE}-{SPAN}-01-what-else") == TraceContext(TRACE, SPAN, 1)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "garbage",
        f"ff-{TRACE}-{SPAN}-01",  # version ff is invalid
        f"00-{'0' * 32}-{SPAN}-01",  # all-zero trace id
        f"00-{TRACE}-{'0' * 16}-01",  # all-zero parent id
        f"00-{TRACE.upper()}-{SPAN}-01",  # uppercase hex
        f"00-{TRACE[:-1]}-{SPAN}-01",  # short trace id
        f"00-{TRACE}-{SPAN}x-01",
        f"00-{TRACE}-{SPAN}-1",
        f"00-{TRACE}-{SPAN}-01-extra",  # version 00 has exactly four fields
        f"0g-{TRACE}-{SPAN}-01",
        b"\xff\xfe",
    ],
)
def test_an_invalid_traceparent_is_none(text):
    assert parse_traceparent(text) is None


def test_tracestate_is_kept_as_text_within_its_size_limit():
    assert clean_tracestate(b"a=1,b=2") == "a=1,b=2"
    assert clean_tracestate("") is None
    assert clean_tracestate("x" * 513) is None
    assert clean_tracestate(b"\xff") is None
    assert clean_tracestate("a=1\nb=2") is None


def test_new_traceparents_are_valid_sampled_and_random():
    made = {new_traceparent() for _ in range(200)}
    assert len(made) == 200
    for text in made:
        ctx = parse_traceparent(text)
        assert ctx is not None and ctx.sampled


def test_headers_carry_the_last_traceparent_and_an_invalid_one_is_replaced():
    headers = [("traceparent", b"junk"), ("traceparent", VALID.encode()), ("tracestate", b"k=v")]
    assert from_headers(headers) == TraceContext(TRACE, SPAN, 1, "k=v")
    assert from_headers([("a", b"b")]) is None
    kept = [("traceparent", VALID.encode()), ("tracestate", b"k=v")]
    assert ensure_traceparent(kept) is kept
    fresh = ensure_traceparent([("traceparent", b"junk"), ("tracestate", b"k=v"), ("a", b"1")])
    assert [k for k, _ in fresh] == ["a", "traceparent"]
    assert parse_traceparent(fresh[1][1]).trace_id != TRACE


# --- the OTEL_* variables ---------------------------------------------------------------------


def test_the_standard_variables_choose_the_exporters():
    off = tracing.config_from_env({})
    assert not off.enabled and off.service_name == "kafkactl"
    assert not tracing.config_from_env({"OTEL_TRACES_EXPORTER": "none"}).enabled
    otlp = tracing.config_from_env({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SERVICE_NAME": "billing"})
    assert otlp.exporters == ("otlp",) and otlp.endpoint == "http://localhost:4318"
    assert otlp.service_name == "billing"
    both = tracing.config_from_env(
        {"OTEL_TRACES_EXPORTER": "otlp,console", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://h:1"}
    )
    assert both.exporters == ("otlp", "console") and both.endpoint == "http://h:1"
    disabled = {"OTEL_TRACES_EXPORTER": "console", "OTEL_SDK_DISABLED": "true"}
    assert not tracing.config_from_env(disabled).enabled
    with pytest.raises(UsageError, match="OTEL_TRACES_EXPORTER 'zipkin' is not supported"):
        tracing.config_from_env({"OTEL_TRACES_EXPORTER": "zipkin"})


def test_spans_asked_for_without_opentelemetry_installed_is_exit_2_with_the_pip_command(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
    monkeypatch.delitem(sys.modules, "kafkactl.tracing.otel", raising=False)
    for name in [m for m in sys.modules if m.startswith("opentelemetry")] + ["opentelemetry"]:
        monkeypatch.setitem(sys.modules, name, None)  # not importable
    tracing.use(None)
    try:
        with pytest.raises(UsageError) as caught:
            tracing.tracer()
    finally:
        tracing.use(None)
    assert caught.value.exit_code == 2
    assert "pip install 'kafkactl[otel]'" in str(caught.value)


# --- off: free, and nothing of OpenTelemetry imported -----------------------------------------


OFF_CHECK = """
import sys
from kafkactl import tracing
import kafkactl.consumer.router, kafkactl.ingest, kafkactl.replay, kafkactl.handlers
assert not tracing.tracer().enabled
from kafkactl.ingest import ProduceJob, ProduceOptions, produce_lines
from tests.unit.test_ingest import FakePublisher
produce_lines(ProduceJob(FakePublisher(), ProduceOptions("t", trace=True)), [b'{"a": 1}\\n'])
loaded = sorted(m for m in sys.modules if m.startswith("opentelemetry"))
assert not loaded, loaded
print("ok")
"""


@pytest.mark.parametrize("exporter", [None, "none"])
def test_off_nothing_of_opentelemetry_is_imported(exporter):
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    if exporter:
        env["OTEL_TRACES_EXPORTER"] = exporter
    result = subprocess.run(
        [sys.executable, "-c", OFF_CHECK], env=env, capture_output=True, timeout=60, cwd=REPO
    )
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == b"ok\n"


# --- propagation, spans off -------------------------------------------------------------------


def test_produce_trace_starts_a_trace_per_record_unless_it_has_one():
    options = ProduceOptions("t", format="envelope", trace=True)
    own = f'{{"value": "a", "headers": {{"traceparent": "{VALID}", "tracestate": "k=v"}}}}'
    data = [own.encode() + b"\n", b'{"value": "b"}\n', b'{"value": "c"}\n']
    _, publisher, _ = run_produce(options, data)
    sent = [from_headers(r["headers"]) for r in publisher.sent]
    assert sent[0] == TraceContext(TRACE, SPAN, 1, "k=v")  # kept
    assert sent[1] is not None and sent[2] is not None
    assert len({s.trace_id for s in sent}) == 3  # one trace per record


def test_produce_without_trace_adds_no_traceparent_and_a_header_flag_sets_one():
    _, plain, _ = run_produce(ProduceOptions("t"), [b'{"a": 1}\n'])
    assert from_headers(plain.sent[0]["headers"]) is None
    flagged = ProduceOptions("t", trace=True, headers=[("traceparent", VALID.encode())])
    _, publisher, _ = run_produce(flagged, [b'{"a": 1}\n', b'{"a": 2}\n'])
    assert {from_headers(r["headers"]).span_id for r in publisher.sent} == {SPAN}


def test_message_and_exec_environment_carry_the_trace_context(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TRACEPARENT", f"00-{'1' * 32}-{'2' * 16}-01")  # kafkactl's own: not passed
    handler = ExecHandler("true")
    traced = make_message(headers=[("traceparent", VALID.encode()), ("tracestate", b"k=v")])
    assert (traced.traceparent, traced.tracestate) == (VALID, "k=v")
    env = handler.environment(traced)
    assert env[b"TRACEPARENT"] == VALID.encode() and env[b"TRACESTATE"] == b"k=v"
    plain = make_message(headers=[])
    assert plain.traceparent is None
    env = handler.environment(plain)
    assert b"TRACEPARENT" not in env and b"TRACESTATE" not in env
