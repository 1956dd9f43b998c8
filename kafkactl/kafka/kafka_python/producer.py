"""The producer port on kafka-python: futures with callbacks on its IO thread."""

from __future__ import annotations

import threading
import time
from functools import partial
from typing import Any

from kafkactl.config import Settings
from kafkactl.errors import DeliveryError
from kafkactl.kafka.kafka_python.compat import wire_headers
from kafkactl.kafka.kafka_python.config import producer_config
from kafkactl.kafka.kafka_python.connect import connect
from kafkactl.kafka.ports import Delivery, DeliveryCallback, Headers, SendBatch

# How long close() waits for the sender thread to stop once records were given up.
FORCE_CLOSE_WAIT_S = 5.0


class KafkaPythonProducer:
    """ProducerPort over kafka-python's KafkaProducer.

    Each record sent and not yet settled is kept (its callback), so a run that stops waiting
    (`abandon`) reports every one of them exactly once. kafka-python's sender thread logs an
    exception it did not expect and goes on, leaving the batch it was sending unfinished for
    ever: such an exception is recorded (`fault`), so the caller stops instead of waiting.
    """

    errors_only = False  # kafka-python reports every delivery (futures)

    def __init__(self, producer: Any) -> None:
        self._producer = producer
        self._lock = threading.Lock()
        self._waiting: dict[int, tuple[str, int | None, DeliveryCallback]] = {}
        self._seq = 0
        self._fault: str | None = None
        self._abandoned = False
        self._closing = False
        config = getattr(producer, "config", None) or {}
        sizes = [config.get("max_request_size"), config.get("buffer_memory")]
        known = [int(size) for size in sizes if size]
        self.max_record_bytes: int | None = min(known) if known else None
        self._guard_sender()

    @classmethod
    def connect(cls, settings: Settings) -> KafkaPythonProducer:
        """A connected producer; exits 3 when the cluster stays unreachable."""
        from kafka import KafkaProducer

        config = producer_config(settings)
        return cls(connect(settings, lambda: KafkaProducer(**config), "the producer"))

    def _guard_sender(self) -> None:
        """Record an exception escaping the sender thread's loop (kafka-python only logs it)."""
        sender = getattr(self._producer, "_sender", None)
        run_once = getattr(sender, "run_once", None)
        if sender is None or run_once is None:
            return

        def guarded() -> None:
            try:
                run_once()
            except Exception as exc:
                if self._fault is None:
                    text = str(exc)
                    name = type(exc).__name__
                    self._fault = f"its sender thread raised {name}: {text}" if text else name
                raise

        sender.run_once = guarded

    def batch_sender(self) -> SendBatch | None:
        """None: kafka-python sends one record at a time."""
        return None

    def fault(self) -> str | None:
        """Why this producer can no longer deliver, or None: an unexpected exception in the
        sender thread, or the thread gone."""
        if self._fault is not None:
            return self._fault
        sender = getattr(self._producer, "_sender", None)
        if sender is not None and not self._closing and not sender.is_alive():
            return "its sender thread has stopped"
        return None

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
            wire = wire_headers(headers) if headers else []
            future = self._producer.send(topic, value, key, wire, partition, timestamp_ms)
        except Exception as exc:
            on_delivery(Delivery(topic, partition, None, exc))
            return
        with self._lock:
            self._seq += 1
            seq = self._seq
            self._waiting[seq] = (topic, partition, on_delivery)
        # kafka-python calls f(*args, result): the bound arguments come first.
        on_success = partial(self._acked, seq)
        on_error = partial(self._failed, seq)
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

    def _acked(self, seq: int, meta: Any) -> None:
        with self._lock:
            entry = self._waiting.pop(seq, None)
        if entry is not None:  # None: already reported by abandon()
            entry[2](Delivery(meta.topic, meta.partition, meta.offset))

    def _failed(self, seq: int, exc: BaseException) -> None:
        with self._lock:
            entry = self._waiting.pop(seq, None)
        if entry is not None:
            topic, partition, on_delivery = entry
            on_delivery(Delivery(topic, partition, None, exc))

    def cancel(self) -> None:
        """Nothing to stop: kafka-python's send never waits for room (the Publisher bounds
        what is in flight and stops its own wait)."""

    def abandon(self, reason: str) -> None:
        """Report every record still unsettled as not delivered (`reason`), now, once each;
        what kafka-python reports for them later is ignored."""
        with self._lock:
            waiting = list(self._waiting.values())
            self._waiting.clear()
            self._abandoned = True
        error = DeliveryError(reason, True, "not-acknowledged")
        for topic, partition, on_delivery in waiting:
            on_delivery(Delivery(topic, partition, None, error))

    def pending(self) -> int:
        """Records sent and not yet acknowledged or failed."""
        return len(self._waiting)

    def serve(self, timeout: float) -> None:
        """kafka-python reports on its IO thread: nothing to serve here, only wait."""
        time.sleep(timeout)

    def close(self, timeout: float) -> None:
        """Close the producer (it flushes within the timeout); once records were given up or
        the sender failed, stop the sender without waiting for them."""
        from kafka.errors import KafkaTimeoutError

        self._closing = True
        if not (self._abandoned or self._fault):
            try:
                self._producer.close(timeout=timeout)
                return
            except KafkaTimeoutError:
                self.abandon(f"not acknowledged within {timeout:g} s of closing")
        sender = getattr(self._producer, "_sender", None)
        if sender is not None:
            if self._fault is not None:
                # Failing the batch the sender could not encode would raise again in its
                # thread: only ask it to stop (it is a daemon thread; the process ends anyway).
                sender.initiate_close()
            else:
                # The sender fails its unfinished batches and stops (kafka-python's force close).
                sender.force_close()
            sender.join(min(timeout, FORCE_CLOSE_WAIT_S))
        try:
            self._producer.close(timeout=0)
        except KafkaTimeoutError:
            # Batches the stuck sender never finished: nothing more can be done for them.
            self._producer._closed = True
