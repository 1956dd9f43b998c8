"""Publisher: one shared kafka-python producer, delivery results by callback, bounded in-flight."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from loguru import logger

from kafkactl.client import connect_with_backoff, producer_config
from kafkactl.config import Settings
from kafkactl.metrics import Metrics


@dataclass(frozen=True)
class Delivery:
    """The outcome of one publish: where it landed, or why it did not."""

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
        self._cond = threading.Condition()
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
        with self._cond:
            while self._in_flight >= self._max_in_flight:
                self._cond.wait(0.5)
            self._in_flight += 1
        try:
            future = self._producer.send(
                topic, value=value, key=key, headers=headers or [],
                partition=partition, timestamp_ms=timestamp_ms,
            )
        except Exception as exc:
            self._settle(Delivery(topic, partition, None, exc), on_delivery)
            return
        # kafka-python calls f(*args, result): the bound arguments come first.
        future.add_callback(self._on_success, on_delivery)
        future.add_errback(self._on_error, topic, partition, on_delivery)

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
        if not delivery.ok:
            self.metrics.incr("publish_failed")
        try:
            if on_delivery is not None:
                on_delivery(delivery)
        except Exception:
            logger.exception("delivery callback failed")
        finally:
            with self._cond:
                self._in_flight -= 1
                self._cond.notify_all()

    @property
    def in_flight(self) -> int:
        """Records sent but not yet acknowledged or failed."""
        return self._in_flight

    def flush(self, timeout: float | None = None) -> bool:
        """Send everything queued and wait for every delivery to settle; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        self._producer.flush(timeout=timeout)
        with self._cond:
            while self._in_flight > 0:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(0.5 if remaining is None else min(0.5, remaining))
        return True

    def close(self, timeout: float = 30.0) -> None:
        """Flush and close the producer."""
        try:
            self.flush(timeout)
        finally:
            self._producer.close(timeout=timeout)

