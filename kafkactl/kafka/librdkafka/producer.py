"""The producer port on librdkafka: delivery reports served by one poller thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from typing import Any

from loguru import logger

from kafkactl.config import Settings
from kafkactl.kafka.librdkafka.config import producer_config
from kafkactl.kafka.librdkafka.connect import LibrdkafkaError, connect
from kafkactl.kafka.ports import Delivery, DeliveryCallback, Headers


class ErrorSink:
    """Where librdkafka's global errors go: the connect attempt first, then the DEBUG log."""

    def __init__(self) -> None:
        self.target: Callable[[Any], None] | None = None

    def __call__(self, error: Any) -> None:
        if self.target is not None:
            self.target(error)
        else:
            logger.debug("librdkafka: {} {}", error.name(), error.str())


# The sending thread serves delivery reports itself every this many sends: callbacks then run
# between sends, without handing the GIL to another thread for each batch of reports.
SERVE_EVERY = 256


class LibrdkafkaProducer:
    """ProducerPort over confluent_kafka.Producer.

    librdkafka reports deliveries only from poll()/flush(). The sending thread serves them
    every SERVE_EVERY sends (and while it waits for room); a daemon thread polls too, so reports
    keep coming when nobody sends. Delivery callbacks may run on either thread.
    """

    def __init__(self, producer: Any, errors_only: bool = False) -> None:
        self._producer = producer
        self.errors_only = errors_only
        self._sends = 0
        self._closed = threading.Event()
        self._poller = threading.Thread(target=self._poll, name="kafkactl-delivery", daemon=True)
        self._poller.start()

    @classmethod
    def connect(cls, settings: Settings, errors_only: bool = False) -> LibrdkafkaProducer:
        """A connected producer (reporting failures only, if asked); exits 3 if unreachable."""
        from confluent_kafka import Producer

        config = {**producer_config(settings), "delivery.report.only.error": errors_only}
        sink = ErrorSink()

        def build(on_error: Callable[[Any], None]) -> Any:
            sink.target = on_error
            return Producer({**config, "error_cb": sink})

        producer = connect(settings, build, lambda p: p.flush(0), "the producer")
        sink.target = None
        return cls(producer, errors_only)

    def _poll(self) -> None:
        poll = self._producer.poll
        while not self._closed.is_set():
            poll(0.2)

    def pending(self) -> int:
        """Records in librdkafka's queue or in flight to the broker."""
        return len(self._producer)

    def serve(self, timeout: float) -> None:
        """Run delivery callbacks that are due, on this thread (waiting up to `timeout`)."""
        self._producer.poll(timeout)

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
        """Queue one record; waits while librdkafka's own queue is full."""
        report = partial(_report, on_delivery)
        produce = self._producer.produce
        while True:
            try:
                if partition is None:
                    produce(
                        topic,
                        value,
                        key,
                        on_delivery=report,
                        timestamp=timestamp_ms or 0,
                        headers=headers or None,
                    )
                else:
                    produce(
                        topic,
                        value,
                        key,
                        partition,
                        on_delivery=report,
                        timestamp=timestamp_ms or 0,
                        headers=headers or None,
                    )
                self._sends += 1
                if not self._sends % SERVE_EVERY:
                    self._producer.poll(0)
                return
            except BufferError:
                self._producer.poll(0.005)  # librdkafka's queue is full: make room
            except Exception as exc:
                error = exc
                if exc.args and hasattr(exc.args[0], "code"):
                    error = LibrdkafkaError(exc.args[0])
                on_delivery(Delivery(topic, partition, None, error))
                return

    def flush(self, timeout: float | None) -> bool:
        """Send what is queued and serve its delivery reports; False on timeout."""
        left: int = self._producer.flush(-1 if timeout is None else timeout)
        return left == 0

    def close(self, timeout: float) -> None:
        """Flush within the timeout and stop the poller thread."""
        try:
            self.flush(timeout)
        finally:
            self._closed.set()
            self._poller.join(1.0)


def _report(on_delivery: DeliveryCallback, error: Any, message: Any) -> None:
    if error is None:
        on_delivery(Delivery(message.topic(), message.partition(), message.offset()))
    else:
        partition = message.partition()
        on_delivery(
            Delivery(
                message.topic(), None if partition < 0 else partition, None, LibrdkafkaError(error)
            )
        )
