"""RetryRouter: where a failed message goes next (tier n+1 or the DLQ), and getting it there."""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from loguru import logger

from kafkactl import headers as hdr
from kafkactl.backoff import Backoff
from kafkactl.message import Message
from kafkactl.metrics import Metrics
from kafkactl.producer import Delivery, Publisher
from kafkactl.topology import TierMap
from kafkactl.tracing import NOOP_SPAN, Span, tracer

if TYPE_CHECKING:
    from loguru import Logger


@dataclass(frozen=True)
class Route:
    """Where one failure goes: a tier (with its due time) or the DLQ (tier None)."""

    topic: str
    tier: int | None
    not_before_ms: int | None


class RetryRouter:
    """Publishes failed messages to the next retry tier or the DLQ, with the DESIGN §8.1 headers.

    `on_acked` runs only once the broker acknowledged the copy (acks=all); a failed publish is
    retried with backoff (from `tick`, on the poll thread) and never reported as done.

    A copy that would not fit its topic loses its optional headers first (see headers.fit).
    A publish the broker refuses for good (a non-retriable error: too large even shrunk, topic
    authorization, ...) is tried once more with shrunk headers, then handed to
    `on_undeliverable`: resending cannot help, so it is not retried for ever.
    """

    def __init__(
        self,
        tiers: TierMap,
        publisher: Publisher,
        metrics: Metrics,
        no_retry: bool = False,
        clock: Callable[[], float] = time.time,
        size_limit: Callable[[str], int | None] | None = None,
        strict: bool = False,
    ) -> None:
        self.tiers = tiers
        self.publisher = publisher
        self.metrics = metrics
        self.no_retry = no_retry
        self._clock = clock
        # The largest record a topic takes (its max.message.bytes, within the producer's
        # request size); None: unknown, the broker judges.
        self._size_limit = size_limit or (lambda _topic: None)
        self._lock = threading.Lock()
        self._retry_heap: list[tuple[float, int, _Pending]] = []
        self._seq = itertools.count()
        self._tracer = tracer()
        # --ordering key-strict: copies keep their record's partition number (a key stays on
        # one partition number in every tier, so one member owns it everywhere) and the copies
        # of one key to one topic are published one after another, so a publish retried after
        # a failure is never overtaken by a later copy of the key not yet sent (copies already
        # in flight together rely on the producer's per-partition order).
        self.strict = strict
        self._chains: dict[tuple[str, bytes | None], _Chain] = {}

    def decide(self, message: Message, failure: hdr.Failure, now_ms: int) -> Route:
        """The next stop: fatal/decode failures and the last tier go to the DLQ."""
        role = self.tiers.role(message.topic)
        next_tier = role.tier + 1
        if self.no_retry or failure.kind in ("fatal", "decode") or next_tier > self.tiers.tiers:
            return Route(self.tiers.dlq(role.main), None, None)
        due = now_ms + self.tiers.delay_ms(next_tier)
        return Route(self.tiers.tier_topic(role.main, next_tier), next_tier, due)

    def route(
        self,
        message: Message,
        failure: hdr.Failure,
        on_acked: Callable[[], None],
        on_undeliverable: Callable[[Route, BaseException], None] | None = None,
        on_placed: Callable[[int | None], None] | None = None,
    ) -> Route:
        """Publish the copy for `message`; `on_acked` runs once the broker has it.

        `on_undeliverable(route, error)` runs instead when the broker refused the copy with an
        error that resending cannot fix (without it, such a copy is retried like any other).
        `on_placed(offset)` runs just before `on_acked`, with the copy's offset.
        """
        now_ms = int(self._clock() * 1000)
        route = self.decide(message, failure, now_ms)
        origin = hdr.Origin(message.topic, message.partition, message.offset, message.timestamp)
        headers = hdr.failure_headers(
            list(message.headers),
            origin,
            self.tiers.group,
            failure,
            attempt=message.attempt,
            now_ms=now_ms,
            not_before_ms=route.not_before_ms,
            message_id=message.message_id,
        )
        span = NOOP_SPAN
        if self._tracer.enabled:
            # The copy carries its publish span as `traceparent` (same trace): the next attempt
            # is that span's child. Off, traceparent/tracestate are copied like any header.
            span = self._tracer.publish(
                route.topic,
                "dlq" if route.tier is None else "retry",
                message.headers,
                message.key,
                {"kafkactl.attempt": message.attempt, "messaging.message.id": message.message_id},
            )
            headers = span.inject(headers)
        limit = self._size_limit(route.topic)
        headers, shrunk = hdr.fit(message.key, message.value, headers, limit)
        if shrunk:
            _bound(message).warning(
                "the copy for {} would exceed its {:,}-byte limit: sent without its error trace "
                "and with its error message cut short",
                route.topic,
                limit,
            )
        pending = _Pending(
            route, message, headers, on_acked, Backoff(0.5, 30.0), on_undeliverable, shrunk, span
        )
        pending.on_placed = on_placed
        self._send(pending)
        return route

    def follow(
        self,
        message: Message,
        tier: int | None,
        follows: str,
        on_acked: Callable[[], None],
        on_undeliverable: Callable[[Route, BaseException], None],
        on_placed: Callable[[int | None], None],
    ) -> Route:
        """Send a follower (--ordering key-strict): a record that did not run, after the earlier
        record of its key it waits behind, to tier `tier` (due at once: it is behind that record
        in the tier partition anyway) or to the DLQ (None)."""
        now_ms = int(self._clock() * 1000)
        main = self.tiers.role(message.topic).main
        if tier is None:
            route = Route(self.tiers.dlq(main), None, None)
        else:
            route = Route(self.tiers.tier_topic(main, tier), tier, now_ms)
        origin = hdr.Origin(message.topic, message.partition, message.offset, message.timestamp)
        headers = hdr.follower_headers(
            list(message.headers),
            origin,
            self.tiers.group,
            follows,
            now_ms,
            route.not_before_ms,
            message.message_id,
        )
        limit = self._size_limit(route.topic)
        headers, shrunk = hdr.fit(message.key, message.value, headers, limit)
        pending = _Pending(route, message, headers, on_acked, Backoff(0.5, 30.0), on_undeliverable)
        pending.shrunk = shrunk
        pending.on_placed = on_placed
        self._send(pending)
        return route

    def _send(self, pending: _Pending) -> None:
        """Publish a new copy; in strict mode, while copies of its key to the same topic are in
        flight, it waits, and the copies that waited go out together once those all landed."""
        if self.strict:
            chain_key = (pending.route.topic, pending.message.key)
            with self._lock:
                chain = self._chains.get(chain_key)
                if chain is not None:
                    chain.waiting.append(pending)
                    return
                self._chains[chain_key] = _Chain(flying=1)
        self._publish(pending)

    def _next_in_chain(self, pending: _Pending) -> None:
        """`pending` landed (or was given up): once its key's copies in flight all did, the ones
        that waited behind them go out (strict mode)."""
        if not self.strict:
            return
        chain_key = (pending.route.topic, pending.message.key)
        with self._lock:
            chain = self._chains.get(chain_key)
            if chain is None:
                return
            chain.flying -= 1
            if chain.flying > 0:
                return
            if not chain.waiting:
                del self._chains[chain_key]
                return
            batch, chain.waiting = chain.waiting, []
            chain.flying = len(batch)
            # Published from tick(), on the poll thread, in their order: this runs in a delivery
            # callback, where librdkafka must not be called into again (callbacks do not nest).
            now = time.monotonic()
            for waited in batch:
                heapq.heappush(self._retry_heap, (now, next(self._seq), waited))

    def _publish(self, pending: _Pending) -> None:
        try:
            self.publisher.publish(
                pending.route.topic,
                pending.message.value,
                key=pending.message.key,
                headers=pending.headers,
                partition=pending.message.partition if self.strict else None,
                on_delivery=lambda d: self._delivered(pending, d),
            )
        except Exception as exc:  # an engine that raised instead of reporting: same handling
            self._delivered(pending, Delivery(pending.route.topic, None, None, exc))

    def _delivered(self, pending: _Pending, delivery: Delivery) -> None:
        route = pending.route
        if delivery.ok:
            if route.tier is None:
                self.metrics.incr("sent_to_dlq")
            else:
                self.metrics.incr("retried", label=str(route.tier))
            logger.bind(
                topic=pending.message.topic,
                partition=pending.message.partition,
                offset=pending.message.offset,
                message_id=pending.message.message_id,
            ).debug("routed to {}", route.topic)
            pending.span.end()
            if pending.on_placed is not None:
                pending.on_placed(delivery.offset)
            pending.on_acked()
            self._next_in_chain(pending)
            return
        error = delivery.error
        if not getattr(error, "retriable", True) and pending.on_undeliverable is not None:
            if not pending.shrunk:
                # Too large (the topic's limit was not known), or refused for good: the one
                # thing worth trying is the smallest copy kafkactl can write.
                pending.shrunk = True
                pending.headers = hdr.shrink(pending.headers)
                _bound(pending.message).warning(
                    "{} refused the copy ({}); sending it again without its error trace",
                    route.topic,
                    error,
                )
                # Due now, sent by the next tick(): publishing from inside a delivery report
                # would nest the engine's poll() in its own callback (librdkafka aborts).
                with self._lock:
                    heapq.heappush(self._retry_heap, (time.monotonic(), next(self._seq), pending))
                return
            self.metrics.incr("undeliverable")
            assert error is not None
            pending.span.end(error=str(error))
            pending.on_undeliverable(route, error)
            self._next_in_chain(pending)
            return
        delay = pending.backoff.next_delay()
        _bound(pending.message).error(
            "could not publish to {}: {}; retrying in {:.1f}s (offset held until it lands)",
            route.topic,
            error,
            delay,
        )
        with self._lock:
            heapq.heappush(self._retry_heap, (time.monotonic() + delay, next(self._seq), pending))

    def tick(self) -> None:
        """Re-publish copies whose earlier publish failed and whose backoff has passed."""
        now = time.monotonic()
        due: list[_Pending] = []
        with self._lock:
            while self._retry_heap and self._retry_heap[0][0] <= now:
                due.append(heapq.heappop(self._retry_heap)[2])
        for pending in due:
            self._publish(pending)

    @property
    def waiting(self) -> int:
        """Copies waiting to be published again."""
        with self._lock:
            return len(self._retry_heap)


@dataclass
class _Chain:
    """A key's copies to one topic in flight (strict mode), and those waiting behind them."""

    flying: int
    waiting: list[_Pending] = field(default_factory=list)


@dataclass
class _Pending:
    route: Route
    message: Message
    headers: list[tuple[str, bytes]]
    on_acked: Callable[[], None]
    backoff: Backoff
    on_undeliverable: Callable[[Route, BaseException], None] | None = None
    shrunk: bool = False
    span: Span = NOOP_SPAN
    on_placed: Callable[[int | None], None] | None = None


def _bound(message: Message) -> Logger:
    """The logger with the message's coordinates."""
    return logger.bind(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        message_id=message.message_id,
    )
