"""The producer port on kafka-python: futures with callbacks on its IO thread."""

from __future__ import annotations

import threading
import time
from functools import partial
from typing import Any

from kafkactl.config import Settings
from kafkactl.kafka.kafka_python.config import producer_config
from kafkactl.kafka.kafka_python.connect import connect
from kafkactl.kafka.ports import Delivery, DeliveryCallback, Headers


class KafkaPythonProducer:
    """ProducerPort over kafka-python's KafkaProducer."""

    errors_only = False  # kafka-python reports every delivery (futures)

    def __init__(self, producer: Any) -> None:
        self._producer = producer
        self._lock = threading.Lock()
        self._pending = 0

    @classmethod
    def connect(cls, settings: Settings) -> KafkaPythonProducer:
        """A connected producer; exits 3 when the cluster stays unreachable."""
        from kafka import KafkaProducer

        config = producer_config(settings)
        return cls(connect(settings, lambda: KafkaProducer(**config), "the producer"))

    def send(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None,
        headers: Headers | None,
        partition: int | None,
        timestamp_ms: int | None,
        on_delivery: DeliveryCallback,
    ) -> None:
        """Queue one record; its delivery is reported on kafka-python's IO thread."""
        try:
            # send(topic, value, key, headers, partition, timestamp_ms), positionally: faster.
            future = self._producer.send(topic, value, key, headers or [], partition, timestamp_ms)
        except Exception as exc:
            on_delivery(Delivery(topic, partition, None, exc))
            return
        with self._lock:
            self._pending += 1
        # kafka-python calls f(*args, result): the bound arguments come first.
        on_success = partial(self._acked, on_delivery)
        on_error = partial(self._failed, topic, partition, on_delivery)
        if hasattr(future, "_add_cb_eb"):
            future._add_cb_eb(on_success, on_error)  # one lock round-trip instead of two
        else:  # pragma: no cover - other kafka-python versions
            future.add_callback(on_success)
            future.add_errback(on_error)

    def flush(self, timeout: float | None) -> bool:
        """Send what is queued; False when the timeout passed first."""
        from kafka.errors import KafkaTimeoutError

        try:
            self._producer.flush(timeout=timeout)
        except KafkaTimeoutError:
            return False
        return True

    def _acked(self, on_delivery: DeliveryCallback, meta: Any) -> None:
        with self._lock:
            self._pending -= 1
        on_delivery(Delivery(meta.topic, meta.partition, meta.offset))

    def _failed(
        self, topic: str, partition: int | None, on_delivery: DeliveryCallback, exc: BaseException
    ) -> None:
        with self._lock:
            self._pending -= 1
        on_delivery(Delivery(topic, partition, None, exc))

    def pending(self) -> int:
        """Records sent and not yet acknowledged or failed."""
        return self._pending

    def serve(self, timeout: float) -> None:
        """kafka-python reports on its IO thread: nothing to serve here, only wait."""
        time.sleep(timeout)

    def close(self, timeout: float) -> None:
        """Close the producer (it flushes within the timeout)."""
        self._producer.close(timeout=timeout)
