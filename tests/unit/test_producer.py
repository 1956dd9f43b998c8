"""Publisher over the in-memory FakeProducer: bounded in flight, one settlement per record."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter

import pytest

from kafkactl.config import load_settings
from kafkactl.kafka.ports import Delivery
from kafkactl.metrics import Metrics
from kafkactl.producer import Publisher
from tests.fakes import FakeCluster, FakeProducer

SETTINGS = load_settings(env={}, config_path=os.devnull)


@pytest.fixture
def cluster() -> FakeCluster:
    cluster = FakeCluster()
    cluster.create_topic("events", partitions=3)
    return cluster


@pytest.mark.parametrize("asynchronous", [True, False], ids=["delivery-thread", "inline"])
def test_publish_blocks_at_max_in_flight_until_deliveries_settle(cluster, asynchronous):
    producer = FakeProducer(cluster, asynchronous=asynchronous)
    publisher = Publisher(SETTINGS, Metrics(), max_in_flight=3, producer=producer)
    producer.hold()
    for i in range(3):
        publisher.publish("events", b"v%d" % i, key=b"k")
    assert publisher.in_flight == 3

    fourth_queued = threading.Event()

    def publish_fourth() -> None:
        publisher.publish("events", b"v3", key=b"k")
        fourth_queued.set()

    thread = threading.Thread(target=publish_fourth, daemon=True)
    thread.start()
    assert not fourth_queued.wait(0.2), "publish must block while 3 records are in flight"
    assert len(producer.sent) == 3
    assert cluster.records("events") == []

    producer.release()
    assert fourth_queued.wait(2.0), "publish must go on once deliveries settle"
    assert publisher.flush(2.0)
    thread.join(1.0)
    assert publisher.in_flight == 0
    values = [r.value for r in cluster.records("events")]
    assert values == [b"v0", b"v1", b"v2", b"v3"]  # one key: one partition, in order
    publisher.close(1.0)
    assert producer.closed


def test_every_record_settles_exactly_once_and_failures_are_counted(cluster):
    producer = FakeProducer(cluster)
    metrics = Metrics()
    publisher = Publisher(SETTINGS, metrics, max_in_flight=16, producer=producer)
    producer.fail_next("events", 5)
    settled: Counter[int] = Counter()
    outcomes: dict[int, Delivery] = {}
    lock = threading.Lock()

    def on_delivery(i: int, delivery: Delivery) -> None:
        with lock:
            settled[i] += 1
            outcomes[i] = delivery

    for i in range(200):
        topic = "missing" if i == 100 else "events"
        publisher.publish(
            topic, b"%d" % i, key=b"k%d" % (i % 7), on_delivery=lambda d, i=i: on_delivery(i, d)
        )
    assert publisher.flush(5.0)

    assert publisher.in_flight == 0
    assert sorted(settled) == list(range(200))
    assert set(settled.values()) == {1}
    failed = sorted(i for i, d in outcomes.items() if not d.ok)
    assert failed == [0, 1, 2, 3, 4, 100]  # the injected failures, then the unknown topic
    assert metrics.get("publish_failed") == 6
    assert metrics.get("published") == 194
    landed = cluster.records("events")
    assert len(landed) == 194
    assert sorted(int(r.value) for r in landed) == [i for i in range(200) if i not in failed]
    for i, delivery in outcomes.items():
        if delivery.ok:
            stored = cluster.records("events", delivery.partition)[delivery.offset]
            assert stored.value == b"%d" % i


def test_a_failing_delivery_callback_still_settles_the_record(cluster):
    producer = FakeProducer(cluster)
    publisher = Publisher(SETTINGS, Metrics(), max_in_flight=1, producer=producer)

    def boom(_delivery: Delivery) -> None:
        raise RuntimeError("callback bug")

    publisher.publish("events", b"a", on_delivery=boom)
    publisher.publish("events", b"b", on_delivery=boom)  # would block for ever if not settled
    assert publisher.flush(2.0)
    assert publisher.in_flight == 0
    assert len(cluster.records("events")) == 2


def test_flush_times_out_when_deliveries_never_come(cluster):
    producer = FakeProducer(cluster)
    metrics = Metrics()
    publisher = Publisher(SETTINGS, metrics, producer=producer)
    producer.hold()
    publisher.publish("events", b"stuck")

    assert publisher.flush(0.1) is False
    assert publisher.in_flight == 1
    assert metrics.get("published") == 0

    producer.release()
    assert publisher.flush(2.0) is True
    assert publisher.in_flight == 0
    assert metrics.get("published") == 1


def test_flush_times_out_when_the_engine_never_reports(cluster):
    # The engine says everything was sent, but its delivery reports are lost.
    producer = FakeProducer(cluster, lose_reports=True)
    publisher = Publisher(SETTINGS, Metrics(), producer=producer)
    publisher.publish("events", b"unreported")
    assert cluster.wait_for(lambda: len(cluster.records("events")) == 1, 2.0)

    assert publisher.flush(0.1) is False
    assert publisher.in_flight == 1


# --- issue 10: the engines' adapters when the client fails or never acknowledges -------------


class _FakeFuture:
    def __init__(self) -> None:
        self.callbacks: list = []
        self.errbacks: list = []

    def add_callback(self, fn) -> None:
        self.callbacks.append(fn)

    def add_errback(self, fn) -> None:
        self.errbacks.append(fn)


class _FakeSender:
    def __init__(self) -> None:
        self.alive = True
        self.forced = False
        self.stopping = False

    def run_once(self) -> None:
        raise OverflowError("int too large to convert")

    def is_alive(self) -> bool:
        return self.alive

    def force_close(self) -> None:
        self.forced = True

    def initiate_close(self) -> None:
        self.stopping = True

    def join(self, timeout=None) -> None:
        pass


class _FakeKafkaProducer:
    """Enough of kafka-python's KafkaProducer for the adapter."""

    def __init__(self) -> None:
        self.config = {"max_request_size": 5_000_000, "buffer_memory": 4_000_000}
        self._sender = _FakeSender()
        self.futures: list[_FakeFuture] = []
        self.closed_with: list = []

    def send(self, topic, value, key, headers, partition, timestamp_ms):
        future = _FakeFuture()
        self.futures.append(future)
        return future

    def flush(self, timeout=None):
        from kafka.errors import KafkaTimeoutError

        raise KafkaTimeoutError("never")

    def close(self, timeout=None):
        self.closed_with.append(timeout)


def test_kafka_python_sender_exception_is_a_fault_and_abandon_reports_each_record_once():
    from kafkactl.errors import DeliveryError
    from kafkactl.kafka.kafka_python.producer import KafkaPythonProducer

    client = _FakeKafkaProducer()
    adapter = KafkaPythonProducer(client)
    assert adapter.max_record_bytes == 4_000_000  # min(max_request_size, buffer_memory)
    reports: list = []
    for n in range(3):
        adapter.send("t", b"v%d" % n, None, None, None, None, reports.append)
    assert adapter.pending() == 3 and adapter.fault() is None
    with pytest.raises(OverflowError):
        client._sender.run_once()  # the sender thread's loop, guarded by the adapter
    assert adapter.fault() == "its sender thread raised OverflowError: int too large to convert"
    assert not adapter.flush(0.1)

    class Meta:
        topic, partition, offset = "t", 0, 7

    client.futures[0].callbacks[0](Meta())  # acknowledged before the run gave up
    adapter.abandon("not acknowledged within 1 s")
    client.futures[1].callbacks[0](Meta())  # a late report: already settled, ignored
    assert adapter.pending() == 0
    assert [r.offset for r in reports] == [7, None, None]
    assert all(isinstance(r.error, DeliveryError) for r in reports[1:])
    assert reports[1].error.reason == "not acknowledged within 1 s"
    adapter.close(30)
    # After a sender fault it is asked to stop, not to fail its batches (that would raise again).
    assert client._sender.stopping and not client._sender.forced
    assert client.closed_with == [0]


def test_kafka_python_dead_sender_thread_is_a_fault():
    from kafkactl.kafka.kafka_python.producer import KafkaPythonProducer

    client = _FakeKafkaProducer()
    adapter = KafkaPythonProducer(client)
    client._sender.alive = False
    assert adapter.fault() == "its sender thread has stopped"


class _FakeError:
    def __init__(self, code: int) -> None:
        self._code = code

    def code(self) -> int:
        return self._code

    def name(self) -> str:
        return "_PURGE_QUEUE"

    def str(self) -> str:
        return "Purged in queue"

    def fatal(self) -> bool:
        return False


class _FakeMessage:
    def topic(self) -> str:
        return "t"

    def partition(self) -> int | None:
        return None  # what librdkafka gives for a record purged before it had a partition

    def offset(self) -> int:
        return -1


class _FakeConfluentProducer:
    """Enough of confluent_kafka.Producer: a queue that never drains (`full`) or never acks."""

    def __init__(self, full: bool = False) -> None:
        self.full = full
        self.queued: list = []
        self.purged = False

    def produce(self, topic, value, key, *args, on_delivery=None, **kwargs):
        if self.full:
            raise BufferError("queue full")
        self.queued.append(on_delivery)

    def poll(self, timeout=0):
        if self.purged:
            queued, self.queued = self.queued, []
            for report in queued:
                report(_FakeError(-152), _FakeMessage())
        else:
            time.sleep(min(timeout, 0.05))
        return 0

    def flush(self, timeout=-1):
        time.sleep(min(timeout, 0.05))
        return len(self.queued)

    def purge(self, in_queue=True, in_flight=True, blocking=True):
        self.purged = True

    def __len__(self) -> int:
        return len(self.queued)


def test_librdkafka_abandon_purges_and_reports_every_record_with_the_reason():
    from kafkactl.errors import DeliveryError
    from kafkactl.kafka.librdkafka.producer import LibrdkafkaProducer

    adapter = LibrdkafkaProducer(_FakeConfluentProducer(), errors_only=True, max_record_bytes=99)
    try:
        reports: list = []
        for n in range(3):
            adapter.send("t", b"v%d" % n, None, None, None, None, reports.append)
        started = time.monotonic()
        assert not adapter.flush(0.3)
        assert time.monotonic() - started < 2
        adapter.abandon("interrupted before the broker acknowledged it")
        assert len(reports) == 3 and adapter.pending() == 0
        assert all(isinstance(r.error, DeliveryError) for r in reports)
        assert reports[0].error.reason == "interrupted before the broker acknowledged it"
    finally:
        adapter.close(1)


@pytest.mark.timeout(30)
def test_librdkafka_send_waiting_for_room_stops_when_cancelled():
    from kafkactl.kafka.librdkafka.producer import LibrdkafkaProducer

    adapter = LibrdkafkaProducer(_FakeConfluentProducer(full=True), errors_only=True)
    try:
        threading.Timer(0.2, adapter.cancel).start()
        with pytest.raises(KeyboardInterrupt):
            adapter.send("t", b"v", None, None, None, None, lambda d: None)
    finally:
        adapter.close(1)


class _NeverAcks(FakeProducer):
    """Takes records and never reports them; `broken` makes it report a fault."""

    broken: str | None = None

    def fault(self) -> str | None:
        return self.broken


@pytest.mark.timeout(30)
def test_publisher_waiting_for_room_stops_on_a_fault_or_a_cancel(cluster):
    from kafkactl.errors import DeliveryError

    producer = _NeverAcks(cluster)
    producer.hold()
    publisher = Publisher(SETTINGS, Metrics(), max_in_flight=1, producer=producer)
    publisher.publish("events", b"v0")
    producer.broken = "its sender thread has stopped"
    with pytest.raises(DeliveryError, match="the producer failed: its sender thread has stopped"):
        publisher.publish("events", b"v1")
    producer.broken = None
    threading.Timer(0.2, publisher.cancel).start()
    with pytest.raises(KeyboardInterrupt):
        publisher.publish("events", b"v2")
    assert len(producer.sent) == 1
