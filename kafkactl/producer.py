"""Publisher: one shared kafka-python producer, delivery results by callback, bounded in-flight."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple

from loguru import logger

from kafkactl.client import connect_with_backoff, producer_config
from kafkactl.config import Settings
from kafkactl.metrics import Metrics


class Delivery(NamedTuple):
    """The outcome of one publish: where it landed, or why it did not.

    Immutable; a NamedTuple rather than a frozen dataclass because one is made per record on
    the producer's IO thread, where a frozen dataclass costs several times more.
    """

    topic: str
    partition: int | None
    offset: int | None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        """True when the broker acknowledged the record."""
        return self.error is None


DeliveryCallback = Callable[[Delivery], None]


class Publisher:
    """Sends records asynchronously; callbacks report each delivery; `publish` blocks when full.

    kafka-python 3 has no buffer_memory bound, so the Publisher bounds the records in flight
    itself: that is what keeps memory flat however long the input is.

    The per-record path is kept lean (one plain lock, one callback pair registration, no
    condition notify unless someone waits): it runs once per record on two threads that share
    the GIL, so every microsecond here is throughput.
    """

    def __init__(
        self,
        settings: Settings,
        metrics: Metrics | None = None,
        max_in_flight: int = 20_000,
        producer: Any = None,
        **overrides: Any,
    ) -> None:
        self.settings = settings
        self.metrics = metrics or Metrics()
        self._max_in_flight = max_in_flight
        self._in_flight = 0
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._waiters = 0
        self._producer = producer or self._connect(overrides)

    def _connect(self, overrides: dict[str, Any]) -> Any:
        from kafka import KafkaProducer

        config = producer_config(self.settings, **overrides)
        return connect_with_backoff(self.settings, lambda: KafkaProducer(**config), "the producer")

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
        """Queue one record; `on_delivery` runs (on the producer's IO thread) once it settles."""
        with self._lock:
            if self._in_flight >= self._max_in_flight:
                self._waiters += 1
                try:
                    while self._in_flight >= self._max_in_flight:
                        self._cond.wait(0.5)
                finally:
                    self._waiters -= 1
            self._in_flight += 1
        try:
            # send(topic, value, key, headers, partition, timestamp_ms), positionally: faster.
            future = self._producer.send(topic, value, key, headers or [], partition, timestamp_ms)
        except Exception as exc:
            self._settle(Delivery(topic, partition, None, exc), on_delivery)
            return
        # kafka-python calls f(*args, result): the bound arguments come first.
        on_success = partial(self._on_success, on_delivery)
        on_error = partial(self._on_error, topic, partition, on_delivery)
        if hasattr(future, "_add_cb_eb"):
            future._add_cb_eb(on_success, on_error)  # one lock round-trip instead of two
        else:  # pragma: no cover - other kafka-python versions
            future.add_callback(on_success)
            future.add_errback(on_error)

    def _on_success(self, on_delivery: DeliveryCallback | None, meta: Any) -> None:
        self.metrics.incr("published")
        self._settle(Delivery(meta.topic, meta.partition, meta.offset), on_delivery)

    def _on_error(
        self,
        topic: str,
        partition: int | None,
        on_delivery: DeliveryCallback | None,
        exc: BaseException,
    ) -> None:
        self._settle(Delivery(topic, partition, None, exc), on_delivery)

    def _settle(self, delivery: Delivery, on_delivery: DeliveryCallback | None) -> None:
        if delivery.error is not None:
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
        return self._in_flight

    def flush(self, timeout: float | None = None) -> bool:
        """Send everything queued and wait for every delivery to settle; False on timeout."""
        from kafka.errors import KafkaTimeoutError

        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            self._producer.flush(timeout=timeout)
        except KafkaTimeoutError:
            return False
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
        """Flush and close the producer."""
        try:
            self.flush(timeout)
        finally:
            self._producer.close(timeout=timeout)
