"""The producer port on librdkafka: `send` one record at a time, or `send_batch` a block of them
(produce's fast path, DESIGN §5.4); delivery reports served by a poller thread, or by the
sending thread while blocks come."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from loguru import logger

from kafkactl.config import Settings
from kafkactl.errors import DeliveryError
from kafkactl.kafka.librdkafka.config import producer_config
from kafkactl.kafka.librdkafka.connect import LibrdkafkaError, connect
from kafkactl.kafka.librdkafka.headers import writable
from kafkactl.kafka.ports import BatchFailure, Delivery, DeliveryCallback, Headers, SendBatch


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
# While send_batch was called this recently, it serves delivery reports and the poller thread
# leaves them to it; past it (the input paused) the poller thread serves them again.
BATCH_SERVES_S = 0.5
# librdkafka's own default for message.max.bytes, when the config does not set it.
DEFAULT_MESSAGE_MAX_BYTES = 1_000_000
# How long abandon() serves the purged records' reports.
PURGE_REPORT_WAIT_S = 5.0
# librdkafka's error codes for records purged from its queue or in flight.
_PURGED = (-152, -151)


class LibrdkafkaProducer:
    """ProducerPort over confluent_kafka.Producer.

    librdkafka reports deliveries only from poll()/flush(). The sending thread serves them
    every SERVE_EVERY sends (and while it waits for room); a daemon thread polls too, so reports
    keep coming when nobody sends. Delivery callbacks may run on either thread. While
    `send_batch` is being called, only the sending thread serves them (after each block).
    """

    def __init__(
        self,
        producer: Any,
        errors_only: bool = False,
        max_record_bytes: int | None = None,
        settings: Settings | None = None,
    ) -> None:
        self._producer = producer
        self._settings = settings
        # A kafka-python producer for records whose header names confluent-kafka cannot
        # write (see librdkafka/headers.py), built on first need.
        self._raw: Any = None
        self.errors_only = errors_only
        self.max_record_bytes = max_record_bytes
        self._sends = 0
        self._batch_at = -BATCH_SERVES_S  # when send_batch last served reports
        self._fault: str | None = None
        self._cancelled = False
        self._abandon_reason: str | None = None
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
        limit = int(config.get("message.max.bytes") or DEFAULT_MESSAGE_MAX_BYTES)
        adapter = cls(producer, errors_only, limit, settings)
        sink.target = adapter._on_error
        return adapter

    def _on_error(self, error: Any) -> None:
        """A global librdkafka error: a fatal one means nothing more will be delivered."""
        if error.fatal() and self._fault is None:
            self._fault = f"fatal error {error.name()}: {error.str()}"
        logger.debug("librdkafka: {} {}", error.name(), error.str())

    def _poll(self) -> None:
        poll = self._producer.poll
        try:
            while not self._closed.is_set():
                if time.monotonic() - self._batch_at < BATCH_SERVES_S:
                    # A sending thread in send_batch serves the reports itself: one place,
                    # no GIL hand-over per report between two threads.
                    self._closed.wait(0.2)
                    continue
                poll(0.2)
        except BaseException as exc:  # a callback raised: no more reports would come
            text = str(exc)
            name = type(exc).__name__
            self._fault = f"its delivery thread raised {name}: {text}" if text else name
            logger.opt(exception=exc).debug("the delivery thread stopped")

    def batch_sender(self) -> SendBatch | None:
        """`send_batch` when failures only are reported (its one failure callback is the only
        report a block gets), else None."""
        return self.send_batch if self.errors_only else None

    def fault(self) -> str | None:
        """Why this producer can no longer deliver (a fatal client error, its delivery thread
        gone), or None."""
        if self._fault is None and self._raw is not None:
            return self._raw.fault()
        return self._fault

    def cancel(self) -> None:
        """Stop waiting for room in librdkafka's queue: a blocked send raises KeyboardInterrupt."""
        self._cancelled = True

    def abandon(self, reason: str) -> None:
        """Purge every record librdkafka still holds; each is reported now as not delivered
        (`reason`), through its callback."""
        self._abandon_reason = reason
        if self._raw is not None:
            self._raw.abandon(reason)
        try:
            self._producer.purge(in_queue=True, in_flight=True, blocking=False)
        except Exception as exc:
            logger.debug("purge failed: {}", exc)
        deadline = time.monotonic() + PURGE_REPORT_WAIT_S
        while len(self._producer) and time.monotonic() < deadline:
            self._producer.poll(0.05)

    def pending(self) -> int:
        """Records in librdkafka's queue or in flight to the broker."""
        return len(self._producer) + (self._raw.pending() if self._raw is not None else 0)

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
        if headers and not writable(headers):
            self._send_raw(topic, value, key, headers, partition, timestamp_ms, on_delivery)
            return
        report = partial(self._report, on_delivery)
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
                if self._cancelled:
                    raise KeyboardInterrupt from None
                if self._fault is not None:
                    raise DeliveryError(
                        f"the producer failed: {self._fault}", False, "producer-failed"
                    ) from None
                self._producer.poll(0.005)  # librdkafka's queue is full: make room
            except Exception as exc:
                on_delivery(Delivery(topic, partition, None, _produce_error(exc)))
                return

    def send_batch(
        self,
        topic: str,
        values: Sequence[bytes | None],
        keys: Sequence[bytes | None],
        tokens: Sequence[Any],
        headers: Headers | None,
        partition: int | None,
        on_failure: BatchFailure,
    ) -> int:
        """Queue records in order (an errors-only producer, header names it can write):
        `on_failure(token, value, key, error)` runs once for each record that fails, from
        the delivery thread. Returns how many were handed over (queued, or refused and
        reported): all of them, unless cancelled or the producer failed while waiting for
        room (DESIGN §5.4: one call per block of lines, one report path, no lock per record)."""
        produce = self._producer.produce
        part = -1 if partition is None else partition
        # Each record's report is the one failure function bound to its token: a bound
        # method, the cheapest callable that carries a value (no closure or partial each).
        bind = self._failure_report(on_failure).__get__
        hand_over = headers or None
        poll = self._producer.poll
        # `keys` may repeat one key for ever: the values set the length.
        for done, (value, key, token) in enumerate(zip(values, keys, tokens, strict=False)):
            while True:
                try:
                    produce(topic, value, key, part, bind(token), None, 0, hand_over)
                    break
                except BufferError:
                    # Full: acknowledged records leave the queue on librdkafka's own threads
                    # (errors-only reports need no poll), so waiting is enough.
                    if self._cancelled or self._fault is not None:
                        return done
                    poll(0.005)
                except Exception as exc:
                    on_failure(token, value, key, _produce_error(exc))
                    break
        poll(0)
        self._batch_at = time.monotonic()
        return len(values)

    def _failure_report(self, on_failure: BatchFailure) -> Callable[[Any, Any, Any], None]:
        """The delivery report of `send_batch`: the record's token, value, key and error."""

        def failed(token: Any, error: Any, message: Any) -> None:
            if error is None:
                return
            try:
                on_failure(token, message.value(), message.key(), self._failure(error))
            except Exception as exc:
                if self._fault is None:
                    self._fault = f"a delivery report could not be handled: {exc!r}"
                logger.opt(exception=exc).debug("delivery report failed")

        return failed

    def _failure(self, error: Any) -> BaseException:
        """librdkafka's delivery error as an exception (a purge after abandon(): its reason)."""
        reason = self._abandon_reason
        if reason is not None and error.code() in _PURGED:
            return DeliveryError(reason, True, "not-acknowledged")
        return LibrdkafkaError(error)

    def _send_raw(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None,
        headers: Headers,
        partition: int | None,
        timestamp_ms: int | None,
        on_delivery: DeliveryCallback,
    ) -> None:
        """Send a record whose header names are not UTF-8 (or hold a NUL) with kafka-python,
        which writes them byte for byte. It may land out of order with the records around it."""
        if self._raw is None:
            from kafkactl.kafka.kafka_python.producer import KafkaPythonProducer

            if self._settings is None:
                error = DeliveryError(
                    "header names that are not UTF-8 need the producer's settings", False
                )
                on_delivery(Delivery(topic, partition, None, error))
                return
            try:
                self._raw = KafkaPythonProducer.connect(self._settings)
            except Exception as exc:
                on_delivery(Delivery(topic, partition, None, exc))
                return
        report = on_delivery
        if self.errors_only:

            def report(delivery: Delivery) -> None:
                if not delivery.ok:
                    on_delivery(delivery)

        self._raw.send(topic, value, key, headers, partition, timestamp_ms, report)

    def flush(self, timeout: float | None) -> bool:
        """Send what is queued and serve its delivery reports; False on timeout. Waits in
        short slices, so signal handlers run (librdkafka's flush does not return for them)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if self._raw is not None and not self._raw.flush(timeout):
            return False
        while True:
            left = deadline - time.monotonic() if deadline is not None else 0.2
            if self._producer.flush(max(0.0, min(0.2, left))) == 0:
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False

    def close(self, timeout: float) -> None:
        """Flush within the timeout and stop the poller thread."""
        try:
            self.flush(timeout)
        finally:
            if self._raw is not None:
                self._raw.close(min(timeout, 5.0))
            self._closed.set()
            self._poller.join(1.0)

    def _report(self, on_delivery: DeliveryCallback, error: Any, message: Any) -> None:
        """librdkafka's delivery report as a Delivery; a callback that raises is a fault (an
        exception escaping into librdkafka's poll would stop the delivery thread)."""
        try:
            if error is None:
                on_delivery(Delivery(message.topic(), message.partition(), message.offset()))
                return
            partition = message.partition()  # None or -1 when purged before partitioning
            if partition is None or partition < 0:
                partition = None
            on_delivery(Delivery(message.topic(), partition, None, self._failure(error)))
        except Exception as exc:
            if self._fault is None:
                self._fault = f"a delivery report could not be handled: {exc!r}"
            logger.opt(exception=exc).debug("delivery report failed")


def _produce_error(exc: Exception) -> BaseException:
    """What produce() raised for one record (not BufferError) as the record's failure."""
    if exc.args and hasattr(exc.args[0], "code"):
        return LibrdkafkaError(exc.args[0])
    return exc
