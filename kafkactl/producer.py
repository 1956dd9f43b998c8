"""Publisher: one shared producer of the configured engine, delivery results by callback,
bounded in flight."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import partial

from loguru import logger

from kafkactl.config import Settings
from kafkactl.errors import DeliveryError
from kafkactl.kafka import Delivery, DeliveryCallback, connect_producer
from kafkactl.kafka.ports import ProducerPort, SendBatch
from kafkactl.metrics import Metrics

__all__ = ["Delivery", "DeliveryCallback", "Publisher"]


class Publisher:
    """Sends records asynchronously; callbacks report each delivery; `publish` blocks when full.

    The Publisher bounds the records in flight itself (kafka-python has no memory bound of its
    own): that is what keeps memory flat however long the input is.

    The per-record path is kept lean (one plain lock, no condition notify unless someone
    waits): it runs once per record on two threads that share the GIL, so every microsecond
    here is throughput.
    """

    def __init__(
        self,
        settings: Settings,
        metrics: Metrics | None = None,
        max_in_flight: int = 20_000,
        producer: ProducerPort | None = None,
        connect: Callable[..., ProducerPort] = connect_producer,
        errors_only: bool = False,
    ) -> None:
        self.settings = settings
        self.metrics = metrics or Metrics()
        self._max_in_flight = max_in_flight
        self._in_flight = 0
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._waiters = 0
        self._cancelled = False
        self._abandoned = False
        if producer is None:
            producer = connect(settings, errors_only=True) if errors_only else connect(settings)
        self._producer = producer
        # Failure reports only (when the engine can): acknowledged records cost no callback,
        # and the engine's own queue is what is in flight.
        self.errors_only = bool(producer.errors_only)

    def publish(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
        partition: int | None = None,
        timestamp_ms: int | None = None,
        on_delivery: DeliveryCallback | None = None,
    ) -> None:
        """Queue one record; `on_delivery` runs on the engine's delivery thread once it settles
        (an `errors_only` Publisher: only if it failed)."""
        if self.errors_only:  # the engine bounds its own queue (ProducerPort)
            self._producer.send(
                topic, value, key, headers, partition, timestamp_ms, on_delivery or _ignore
            )
            return
        with self._lock:
            full = self._in_flight >= self._max_in_flight
            if not full:
                self._in_flight += 1
        if full:
            self._wait_for_room()
        self._producer.send(
            topic, value, key, headers, partition, timestamp_ms, partial(self._settle, on_delivery)
        )

    def _wait_for_room(self) -> None:
        """Serve delivery reports (on this thread where the engine allows) until one settles;
        KeyboardInterrupt once cancelled, DeliveryError once the engine failed."""
        spins = 0
        while True:
            with self._lock:
                if self._in_flight < self._max_in_flight:
                    self._in_flight += 1
                    return
            if self._cancelled:
                raise KeyboardInterrupt
            spins += 1
            if not spins % 20:
                fault = self.fault()
                if fault:
                    raise DeliveryError(f"the producer failed: {fault}", False, "producer-failed")
            self._producer.serve(0.01)

    def batch_sender(self) -> SendBatch | None:
        """The engine's `send_batch` (an errors-only producer that has one: librdkafka), for
        produce's fast path (DESIGN §5.4); None otherwise."""
        return self._producer.batch_sender() if self.errors_only else None

    @property
    def max_record_bytes(self) -> int | None:
        """The largest record (key, value, headers and framing) the engine can ever send: its
        max request size; None when it does not say."""
        limit = self._producer.max_record_bytes
        return int(limit) if limit else None

    def fault(self) -> str | None:
        """Why the engine can no longer deliver anything (its sender thread died, a fatal
        client error), or None while it works."""
        return self._producer.fault()

    def cancel(self) -> None:
        """Stop waiting for room (SIGINT/SIGTERM): a blocked `publish` raises KeyboardInterrupt
        and queues nothing."""
        self._cancelled = True
        self._producer.cancel()

    def abandon(self, reason: str) -> None:
        """Stop waiting for the records still in flight: each is reported now, through its
        callback, as not delivered for `reason` (its outcome is unknown)."""
        self._abandoned = True
        self._producer.abandon(reason)

    def _settle(self, on_delivery: DeliveryCallback | None, delivery: Delivery) -> None:
        if delivery.error is None:
            self.metrics.incr("published")
        else:
            self.metrics.incr("publish_failed")
        try:
            if on_delivery is not None:
                on_delivery(delivery)
        except Exception:
            logger.exception("delivery callback failed")
        finally:
            with self._lock:
                self._in_flight -= 1
                if self._waiters:
                    self._cond.notify_all()

    @property
    def in_flight(self) -> int:
        """Records sent but not yet acknowledged or failed."""
        return self._producer.pending() if self.errors_only else self._in_flight

    def flush(self, timeout: float | None = None) -> bool:
        """Send everything queued and wait for every delivery to settle; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self._producer.flush(timeout):
            return False
        if self.errors_only:
            return True
        with self._lock:
            self._waiters += 1
            try:
                while self._in_flight > 0:
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        return False
                    self._cond.wait(0.5 if remaining is None else min(0.5, remaining))
            finally:
                self._waiters -= 1
        return True

    def close(self, timeout: float = 30.0) -> None:
        """Flush (unless the engine failed or records were abandoned) and close the producer."""
        try:
            if not (self._abandoned or self._cancelled or self.fault()):
                self.flush(timeout)
        finally:
            self._producer.close(timeout)


def _ignore(_delivery: Delivery) -> None:
    """No callback given: the failure is only counted by the engine's caller."""
