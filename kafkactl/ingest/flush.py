"""The end of a produce run: a bounded flush, so a client that stopped reporting cannot hang it.

Both engines fail a record not acknowledged within their delivery timeout (120 s), so a flush
still waiting after that plus a margin waits on a client that stopped reporting. What is still
unacknowledged then is reported, line by line, by the job.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from kafkactl.ingest.summary import ProduceSummary

FLUSH_TIMEOUT_S = 135.0
FLUSH_MARGIN_S = 15.0  # past the delivery timeout: the client had its chance to report


def flush_timeout_for(delivery_timeout: float | None) -> float:
    """How long the end of a produce waits: the delivery timeout (-X) plus a margin."""
    return FLUSH_TIMEOUT_S if delivery_timeout is None else delivery_timeout + FLUSH_MARGIN_S


# After SIGINT/SIGTERM, what was read gets at most this long to be acknowledged.
INTERRUPTED_FLUSH_TIMEOUT_S = 10.0
FLUSH_SLICE_S = 0.2  # flush in slices: signals and a failed client are noticed between them
UNKNOWN_OUTCOME = "it may or may not have been written"
INTERRUPTED = "interrupted before the broker acknowledged it"


class Flushes(Protocol):
    """What the flush needs from the publisher (kafkactl.ingest.options.PublisherLike)."""

    def flush(self, timeout: float | None = None) -> bool: ...


class Flushing(Protocol):
    """What the flush needs from the run it ends (kafkactl.ingest.job.ProduceJob)."""

    @property
    def publisher(self) -> Flushes: ...

    summary: ProduceSummary
    cancelled: bool

    def fault(self) -> str | None: ...
    def fail_run(self, reason: str) -> None: ...


def flush_bounded(run: Flushing, bound: float) -> str | None:
    """Flush in slices until everything settled (None), or why the rest is given up: the
    bound passed (INTERRUPTED_FLUSH_TIMEOUT_S at most once interrupted), the publisher
    failed, or a signal came."""
    if run.summary.interrupted:
        bound = min(bound, INTERRUPTED_FLUSH_TIMEOUT_S)
    deadline = time.monotonic() + bound
    while True:
        fault = run.fault()
        if fault:
            run.fail_run(f"the producer failed: {fault}")
            return run.summary.error
        try:
            if run.publisher.flush(FLUSH_SLICE_S):
                return None
        except KeyboardInterrupt:
            run.summary.interrupted = True
            run.cancelled = True
        except Exception as exc:
            run.fail_run(f"the producer failed while flushing: {describe(exc)}")
            return run.summary.error
        if run.cancelled:
            return INTERRUPTED
        if time.monotonic() >= deadline:
            reason = f"not acknowledged within {bound:g} s of the end of input"
            if not run.summary.interrupted:
                run.fail_run(reason)
            return reason


def describe(exc: BaseException) -> str:
    """An exception as one line: its type, and its message when it has one."""
    text = str(exc)
    name = type(exc).__name__
    if not text:
        return name
    return text if text.startswith(name) else f"{name}: {text}"
