"""Sending the copies of a replay: each with its replay headers and span, its delivery settled
on the producer's IO thread (DESIGN §9.4: a record is done once its copy is acknowledged)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from loguru import logger

from kafkactl.replay.copy import replay_headers, traced_copy
from kafkactl.replay.deadletter import DeadLetter, replay_group_for
from kafkactl.replay.selection import TO_RETRY

if TYPE_CHECKING:
    from kafkactl.kafka.ports import Delivery
    from kafkactl.metrics import Metrics
    from kafkactl.producer import Publisher
    from kafkactl.replay.checkpoint import PartitionProgress
    from kafkactl.replay.model import ReplayOptions, ReplaySummary
    from kafkactl.tracing import NoopTracer, Span


class CopySender:
    """Publishes copies and settles them: an acknowledged copy marks its DLQ offset done; a
    failed one is counted and reported through `on_failure` (the run stops)."""

    def __init__(
        self,
        options: ReplayOptions,
        publisher: Publisher,
        metrics: Metrics,
        lock: threading.Lock,
        now_ms: Callable[[], int],
        tracer: NoopTracer,
        on_failure: Callable[[str], None],
    ) -> None:
        self._options = options
        self._publisher = publisher
        self._metrics = metrics
        self._lock = lock
        self._now_ms = now_ms
        self._tracer = tracer
        self._on_failure = on_failure

    def send(
        self,
        summary: ReplaySummary,
        part: PartitionProgress,
        dl: DeadLetter,
        target: str,
        value: bytes | None,
        transformed: bool,
    ) -> None:
        """Publish the copy of `dl` to `target` (the fence for it is already committed)."""
        opts = self._options
        group = replay_group_for(dl, opts.group) if opts.to == TO_RETRY else None
        headers = replay_headers(
            dl,
            opts.dlq,
            self._now_ms(),
            group,
            transformed,
            keep_foreign=opts.keep_foreign_headers,
        )
        headers, span = traced_copy(self._tracer, dl, target, headers)
        with self._lock:
            part.claimed.add(dl.offset)
            part.pending += 1
            part.touched = True
        self._publisher.publish(
            target,
            value,
            key=dl.key,
            headers=headers,
            on_delivery=partial(self._delivered, summary, part, dl.offset, target, span),
        )

    def _delivered(
        self,
        summary: ReplaySummary,
        part: PartitionProgress,
        offset: int,
        target: str,
        span: Span,
        delivery: Delivery,
    ) -> None:
        """Producer IO thread: the copy of `offset` settled."""
        span.end(None if delivery.ok else str(delivery.error))
        with self._lock:
            part.pending -= 1
            if delivery.ok:
                part.done.add(offset)
                summary.replayed += 1
                summary.count_target(target)
            else:
                part.claimed.discard(offset)
                summary.count_failure(f"publish to {target} failed: {delivery.error}")
        if delivery.ok:
            self._metrics.incr("replayed")
            return
        logger.bind(topic=self._options.dlq, partition=part.partition, offset=offset).error(
            "could not replay to {}: {}; stopping (the record stays in the DLQ)",
            target,
            delivery.error,
        )
        self._on_failure(f"publish to {target} failed: {delivery.error}")
