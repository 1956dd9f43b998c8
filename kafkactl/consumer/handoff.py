"""Handoff: what becomes of a handler's failure (DESIGN §6.7, §6.8, §6.13).

Counted and logged (folded on a terminal), then, by --on-failure: routed to its retry tier or the
DLQ (complete once the copy is acknowledged; with --ordering key-strict through StrictOrder),
skipped (complete), or the run stops with the record's offset uncommitted. A failure of a
partition revoked meanwhile is not routed: its new owner routes it when it fails again.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from loguru import logger

from kafkactl import headers as hdr
from kafkactl.consumer.failures import fold, refused_line, stop_line, tier_text
from kafkactl.consumer.options import ConsumeOptions, ConsumeStop
from kafkactl.consumer.router import RetryRouter
from kafkactl.consumer.state import Partitions, Work
from kafkactl.consumer.strict import StrictOrder
from kafkactl.metrics import Metrics


class Handoff:
    """Hands each failure on; keeps the lines a stopped run ends with (`stop_lines`)."""

    def __init__(
        self,
        options: ConsumeOptions,
        metrics: Metrics,
        partitions: Partitions,
        router: RetryRouter,
        request_stop: Callable[[ConsumeStop], None],
    ) -> None:
        self.options = options
        self.metrics = metrics
        self._partitions = partitions
        self._router = router
        self._request_stop = request_stop
        self.stop_lines: list[str] = []  # copies the broker refused for good, stop failures
        self.strict: StrictOrder | None = None  # --ordering key-strict

    def stop(self, line: str, reason: ConsumeStop) -> None:
        """Stop the run with `line` as (one of) its error lines."""
        with self._partitions.lock:
            self.stop_lines.append(line)
        self._request_stop(reason)

    def _settled(self, work: Work) -> None:
        if self.strict is not None:
            self.strict.settled(work)

    def failed(self, work: Work, why: hdr.Failure, started: float) -> None:
        """Count a handler failure and route the message to its retry tier or the DLQ."""
        message = work.message
        self.metrics.observe_latency(time.perf_counter() - started)
        self.metrics.incr("failed")
        logger.bind(
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            key=message.key_text(),
            message_id=message.message_id,
            attempt=message.attempt,
            fold=fold(why, message.attempt),
        ).warning(
            "handler failed ({}{}): {} {}",
            why.kind,
            tier_text(message.attempt),
            why.error_class,
            why.message,
        )
        if self.options.on_failure == "skip":
            self.metrics.incr("skipped")
            self._partitions.complete(work)
            self._settled(work)
            return
        if self.options.on_failure == "stop":
            self._stop_on_failure(work, why)
            return
        if not self._partitions.owns(work):
            # Late: its partition was revoked meanwhile (uncommitted, so its new owner reads it
            # again); a copy written now would be a second one when that owner fails it too.
            logger.debug("failure of revoked {}[{}]@{} not routed", *_where(work))
            return
        if self.strict is not None:
            self.strict.route_failure(
                work,
                why,
                lambda: self._partitions.complete(work),
                lambda route, error: self.cannot_route(work, route.topic, error),
            )
            return
        self._router.route(
            message,
            why,
            lambda: self._partitions.complete(work),
            lambda route, error: self.cannot_route(work, route.topic, error),
        )

    def _stop_on_failure(self, work: Work, why: hdr.Failure) -> None:
        """--on-failure stop: end the run at this message, leaving its offset uncommitted."""
        line = stop_line(*_where(work), why)
        with self._partitions.lock:
            self.stop_lines.append(line)
        self._partitions.abandon(work)
        self._request_stop("failure")

    def cannot_route(self, work: Work, topic: str, error: BaseException) -> None:
        """A copy the broker refused for good: stop, leave its offset uncommitted, say so."""
        line = refused_line(*_where(work), topic, error)
        where = "{}[{}]@{}".format(*_where(work))
        with self._partitions.lock:
            self.stop_lines.append(line)
        # The run ends with `line` as its error (exit 1); meanwhile, say why it is stopping.
        logger.bind(
            topic=work.tp.topic, partition=work.tp.partition, offset=work.message.offset
        ).warning("stopping: {} refused the copy of {} for good ({})", topic, where, error)
        self._partitions.abandon(work)
        self._request_stop("undeliverable")


def _where(work: Work) -> tuple[str, int, int]:
    """Topic, partition and offset of the work's record (for a log line)."""
    return work.tp.topic, work.tp.partition, work.message.offset
