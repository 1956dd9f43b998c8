"""Publisher over the in-memory FakeProducer: bounded in flight, one settlement per record."""

from __future__ import annotations

import os
import threading
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
