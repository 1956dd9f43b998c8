"""W3C trace context (https://www.w3.org/TR/trace-context/) without any dependency.

A `traceparent` is `VERSION-TRACEID-PARENTID-FLAGS` in lowercase hex: `00-<32>-<16>-<2>`.
Version `ff` is invalid, and so are all-zero trace or parent ids. A later version may append
fields after the flags (`-...`); those are ignored, as the specification asks. `tracestate` is
vendor data that travels with the trace: kafkactl keeps it as it came (cut at 512 bytes, where
the specification lets a carrier drop it).
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
MAX_TRACESTATE_BYTES = 512
SAMPLED = 0x01

_HEX = re.compile(r"[0-9a-f]+")
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16


@dataclass(frozen=True, slots=True)
class TraceContext:
    """One parsed `traceparent` (and the `tracestate` that came with it)."""

    trace_id: str
    span_id: str
    flags: int = SAMPLED
    tracestate: str | None = None

    @property
    def traceparent(self) -> str:
        """The `traceparent` header value (version 00)."""
        return f"00-{self.trace_id}-{self.span_id}-{self.flags:02x}"

    @property
    def sampled(self) -> bool:
        """Whether the caller recorded this trace (the `sampled` flag)."""
        return bool(self.flags & SAMPLED)


def _hex(text: str, length: int) -> bool:
    return len(text) == length and _HEX.fullmatch(text) is not None


def parse_traceparent(
    text: str | bytes | None, tracestate: str | bytes | None = None
) -> TraceContext | None:
    """The TraceContext of a `traceparent` value, or None when it is absent or invalid."""
    if text is None:
        return None
    if isinstance(text, bytes):
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError:
            return None
    text = text.strip()
    parts = text.split("-")
    if len(parts) < 4:
        return None
    version, trace_id, span_id, flags = parts[:4]
    if not _hex(version, 2) or version == "ff":
        return None
    # Version 00 has exactly four fields; a later version may have more (ignored).
    if version == "00" and len(parts) != 4:
        return None
    if not _hex(trace_id, 32) or not _hex(span_id, 16) or not _hex(flags, 2):
        return None
    if trace_id == _ZERO_TRACE or span_id == _ZERO_SPAN:
        return None
    return TraceContext(trace_id, span_id, int(flags, 16), clean_tracestate(tracestate))


def clean_tracestate(value: str | bytes | None) -> str | None:
    """A `tracestate` as text, or None when empty, not text or longer than 512 bytes."""
    if value is None:
        return None
    if isinstance(value, bytes):
        try:
            value = value.decode("ascii")
        except UnicodeDecodeError:
            return None
    value = value.strip()
    if not value or len(value) > MAX_TRACESTATE_BYTES or not value.isprintable():
        return None
    return value


def new_trace_id() -> str:
    """A random, non-zero 128-bit trace id in hex (OpenTelemetry's SDK draws them alike)."""
    return f"{random.getrandbits(128) or 1:032x}"


def new_span_id() -> str:
    """A random, non-zero 64-bit span id in hex."""
    return f"{random.getrandbits(64) or 1:016x}"


def new_traceparent() -> str:
    """A `traceparent` that starts a new, sampled trace."""
    return f"00-{random.getrandbits(128) or 1:032x}-{random.getrandbits(64) or 1:016x}-01"


def from_headers(headers: Sequence[tuple[str, bytes]] | None) -> TraceContext | None:
    """The trace context a record's headers carry (the last `traceparent`), or None."""
    parent: bytes | None = None
    state: bytes | None = None
    for key, value in headers or ():
        if key == TRACEPARENT:
            parent = value
        elif key == TRACESTATE:
            state = value
    return parse_traceparent(parent, state) if parent is not None else None


def ensure_traceparent(headers: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """The headers with a valid `traceparent`: kept if present, else a new trace is started.

    An invalid `traceparent` is replaced (and its `tracestate`, which belonged to it, dropped),
    as the specification asks of a participant that cannot parse it.
    """
    # The common case first (a record without one): no parsing, one new header.
    if not any(key == TRACEPARENT for key, _ in headers):
        return [*headers, (TRACEPARENT, new_traceparent().encode())]
    if from_headers(headers) is not None:
        return headers
    kept = [(k, v) for k, v in headers if k not in (TRACEPARENT, TRACESTATE)]
    kept.append((TRACEPARENT, new_traceparent().encode()))
    return kept
