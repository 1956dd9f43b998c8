"""Interpreter tuning for the per-record hot paths: fewer GC passes, longer GIL slices."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager

GC_GEN0_THRESHOLD = 50_000
GIL_SLICE_S = 0.05


@contextmanager
def fewer_collections(gen0: int = GC_GEN0_THRESHOLD) -> Iterator[None]:
    """Raise the generation-0 threshold for the duration of a produce or consume job.

    Each record makes a dozen short-lived objects (here and in kafka-python), almost all freed
    by reference counting; with the default threshold (700) the collector still runs every few
    dozen records and rescans the thousands of records in flight, which costs about a tenth of
    the CPU. The threshold is restored afterwards.
    """
    before = gc.get_threshold()
    gc.set_threshold(max(gen0, before[0]), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


@contextmanager
def fewer_thread_switches(interval: float = GIL_SLICE_S) -> Iterator[None]:
    """Let a thread keep the GIL longer (50 ms instead of 5 ms) during a job.

    The job's thread and the client's delivery thread each need only short bursts of Python;
    with the default interval they hand the GIL back and forth many times per batch. Used by
    produce and the inline print handler; not with a worker pool (see ConsumerPipeline.run),
    where it measured 30 to 40 % faster but let a worker wait up to a slice between a handler's
    success and recording it. Threads that wait (I/O, a condition, librdkafka's poll) release
    the GIL at once either way. Restored afterwards.
    """
    before = sys.getswitchinterval()
    sys.setswitchinterval(max(interval, before))
    try:
        yield
    finally:
        sys.setswitchinterval(before)
