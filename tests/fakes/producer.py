"""FakeProducer: the ProducerPort over a FakeCluster, with held, failing or lost deliveries."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

from kafkactl.errors import DeliveryError
from kafkactl.kafka.ports import Delivery, DeliveryCallback, Headers
from tests.fakes.cluster import FakeBrokerError, FakeCluster


@dataclass
class SentRecord:
    """One send() as the producer received it, and how it ended (None: not settled yet)."""

    topic: str
    value: bytes | None
    key: bytes | None
    headers: Headers
    partition: int | None
    timestamp_ms: int | None
    on_delivery: DeliveryCallback
    delivery: Delivery | None = None


class FakeProducer:
    """ProducerPort: records land in the cluster and are reported once each.

    `asynchronous=True` reports on a delivery thread of its own (like both engines);
    `asynchronous=False` reports inside send(). `hold()` keeps records queued (nothing lands,
    nothing is reported) until `release()`; `fail_next(topic, n)` makes the next n sends to a
    topic fail; `lose_reports=True` lands records but never reports them (an ack lost in a
    crash).
    """

    errors_only = False
    max_record_bytes: int | None = None  # no bound of its own

    def __init__(
        self, cluster: FakeCluster, asynchronous: bool = True, lose_reports: bool = False
    ) -> None:
        self.cluster = cluster
        self.asynchronous = asynchronous
        self.lose_reports = lose_reports
        self.sent: list[SentRecord] = []
        self.closed = False
        self._cond = threading.Condition()
        self._queue: deque[SentRecord] = deque()
        self._busy = 0
        self._held = False
        self._failures: dict[str, deque[BaseException]] = {}
        self._thread: threading.Thread | None = None
        if asynchronous:
            self._thread = threading.Thread(target=self._serve, name="fake-delivery", daemon=True)
            self._thread.start()
        cluster.producers.append(self)

    # --- test controls --------------------------------------------------------------------

    def fail_next(self, topic: str, n: int = 1, error: BaseException | None = None) -> None:
        """The next `n` sends to `topic` are reported failed (then sends succeed again)."""
        with self._cond:
            failures = self._failures.setdefault(topic, deque())
            for _ in range(n):
                failures.append(error or FakeBrokerError("NOT_ENOUGH_REPLICAS (injected)"))

    def hold(self) -> None:
        """Keep new sends queued: nothing lands or is reported until release()."""
        with self._cond:
            self._held = True

    def release(self) -> None:
        """Deliver what was held (on this thread when the producer is synchronous)."""
        with self._cond:
            self._held = False
            self._cond.notify_all()
        if not self.asynchronous:
            self._drain()

    @property
    def queued(self) -> int:
        """Sends not delivered yet."""
        with self._cond:
            return len(self._queue) + self._busy

    def landed(self) -> list[SentRecord]:
        """Sends acknowledged so far, in send order."""
        with self._cond:
            return [s for s in self.sent if s.delivery is not None and s.delivery.ok]

    # --- ProducerPort ---------------------------------------------------------------------

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
        """Queue one record; refused ones (producer closed) are reported, never raised."""
        item = SentRecord(
            topic, value, key, list(headers or []), partition, timestamp_ms, on_delivery
        )
        with self._cond:
            self.sent.append(item)
            if self.closed:
                error = FakeBrokerError("the producer is closed")
                item.delivery = Delivery(topic, partition, None, error)
            else:
                self._queue.append(item)
                self._cond.notify_all()
        if item.delivery is not None:
            on_delivery(item.delivery)
        elif not self.asynchronous and not self._held:
            self._drain()

    def flush(self, timeout: float | None) -> bool:
        """Wait until every queued send was delivered; False on timeout (e.g. while held)."""
        if not self.asynchronous and not self._held:
            self._drain()
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._queue or self._busy:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(0.05 if remaining is None else min(0.05, remaining))
            return True

    def serve(self, timeout: float) -> None:
        """Reports come from the delivery thread (or inside send): only wait."""
        time.sleep(timeout)

    def close(self, timeout: float) -> None:
        """Flush (bounded), then stop the delivery thread."""
        try:
            self.flush(timeout)
        finally:
            with self._cond:
                self.closed = True
                self._cond.notify_all()
            if self._thread is not None:
                self._thread.join(1.0)

    def batch_sender(self) -> None:
        """None: the fake sends one record at a time."""
        return None

    def fault(self) -> str | None:
        """The fake never fails as a whole (fail_next fails single sends)."""
        return None

    def cancel(self) -> None:
        """Nothing to stop: send never waits for room."""

    def abandon(self, reason: str) -> None:
        """Report every queued record now as not delivered (`reason`), once each."""
        with self._cond:
            queued = list(self._queue)
            self._queue.clear()
            self._cond.notify_all()
        error = DeliveryError(reason, True, "not-acknowledged")
        for item in queued:
            item.delivery = Delivery(item.topic, item.partition, None, error)
            item.on_delivery(item.delivery)

    # --- delivery -------------------------------------------------------------------------

    def _serve(self) -> None:
        while True:
            with self._cond:
                while (self._held or not self._queue) and not self.closed:
                    self._cond.wait()
                if self.closed and (self._held or not self._queue):
                    return
                item = self._queue.popleft()
                self._busy += 1
            self._deliver(item)

    def _drain(self) -> None:
        while True:
            with self._cond:
                if self._held or not self._queue:
                    return
                item = self._queue.popleft()
                self._busy += 1
            self._deliver(item)

    def _deliver(self, item: SentRecord) -> None:
        try:
            with self._cond:
                failures = self._failures.get(item.topic)
                error: BaseException | None = failures.popleft() if failures else None
            delivery = Delivery(item.topic, item.partition, None, error)
            if error is None:
                try:
                    record = self.cluster.produce(
                        item.topic,
                        item.value,
                        item.key,
                        item.headers,
                        item.partition,
                        item.timestamp_ms,
                    )
                    delivery = Delivery(item.topic, record.partition, record.offset)
                except FakeBrokerError as exc:
                    delivery = Delivery(item.topic, item.partition, None, exc)
            item.delivery = delivery
            if not self.lose_reports:
                item.on_delivery(delivery)
        finally:
            with self._cond:
                self._busy -= 1
                self._cond.notify_all()
