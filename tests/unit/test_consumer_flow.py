"""FlowControl: due times of tier partitions, backpressure, and pausing exactly those."""

from __future__ import annotations

import os
import threading
import time

import pytest

from kafkactl import headers as hdr
from kafkactl.config import load_settings
from kafkactl.consumer import flow as flow_module
from kafkactl.consumer.flow import FlowControl
from kafkactl.consumer.state import Partitions
from kafkactl.kafka.ports import ConsumedRecord, TopicPartition
from kafkactl.topology import TierMap, retry_topic
from tests.fakes import FakeCluster, FakeConsumer

MAIN = "orders"
GROUP = "billing"
SETTINGS = load_settings(env={"KAFKA_RETRY_DELAYS": "1s,2s"}, config_path=os.devnull)
T1 = retry_topic(SETTINGS, MAIN, 1, GROUP)
A = TopicPartition(MAIN, 0)
B = TopicPartition(T1, 0)


def make_flow(limit: int = 4) -> tuple[FlowControl, Partitions, threading.Event]:
    partitions = Partitions()
    stop = threading.Event()
    tiers = TierMap(SETTINGS, [MAIN], GROUP)
    return FlowControl(partitions, tiers, limit, stop), partitions, stop


def tier_record(not_before: object, timestamp: int, offset: int = 0) -> ConsumedRecord:
    headers = [(hdr.NOT_BEFORE, str(not_before).encode())]
    return ConsumedRecord(T1, 0, offset, b"k", b"v", headers, timestamp, 0)


def assigned_consumer(*tps: TopicPartition) -> FakeConsumer:
    cluster = FakeCluster()
    cluster.create_topics([tp.topic for tp in tps])
    consumer = cluster.connect_consumer(SETTINGS, None)
    consumer.assign(list(tps))
    return consumer


# --- due times --------------------------------------------------------------------------------


def test_a_record_due_later_holds_its_partition_and_one_due_now_does_not():
    flow, _, _ = make_flow()
    now = 1_000_000

    assert flow.holds(B, 1, tier_record(now + 500, now), now)
    assert flow.due == {B: now + 500}
    flow.due.clear()
    assert not flow.holds(B, 1, tier_record(now, now - 1000), now)
    assert not flow.holds(B, 1, ConsumedRecord(T1, 0, 1, None, b"v", [], now, 0), now)
    assert flow.due == {}


@pytest.mark.parametrize("junk", [-5, "soon", ""])
def test_a_malformed_not_before_is_no_due_time(junk: object):
    flow, _, _ = make_flow()

    assert flow.due_time(B, 1, tier_record(junk, 1000), 2000) is None


def test_a_due_time_too_far_ahead_is_capped_at_the_tiers_delay_and_warned_once(
    monkeypatch: pytest.MonkeyPatch,
):
    from loguru import logger

    monkeypatch.setattr(flow_module, "DUE_TIME_SKEW_MS", 0)
    flow, _, _ = make_flow()
    now = 10_000_000
    written = now - 100
    years = now + 10 * 365 * 86_400_000
    warnings: list[str] = []
    sink = logger.add(lambda m: warnings.append(str(m)), level="WARNING")
    try:
        first = flow.due_time(B, 1, tier_record(years, written), now)
        again = flow.due_time(B, 1, tier_record(years, written), now)
    finally:
        logger.remove(sink)

    assert first == again == written + 1000  # tier 1's delay
    assert len(warnings) == 1 and f"{T1}[0]@0" in warnings[0]
    # A record stamped in the future counts as written now.
    assert flow.due_time(B, 2, tier_record(years, now + 99_000), now) == now + 2000


def test_the_skew_allowance_keeps_a_due_time_slightly_past_the_delay():
    flow, _, _ = make_flow()
    now = 10_000_000

    due = now + 1000 + flow_module.DUE_TIME_SKEW_MS - 1
    assert flow.due_time(B, 1, tier_record(due, now), now) == due


# --- pausing ----------------------------------------------------------------------------------


def test_reconcile_pauses_a_partition_until_its_record_is_due_then_resumes_it():
    flow, partitions, _ = make_flow()
    consumer = assigned_consumer(A, B)
    partitions.add(A)
    partitions.add(B)
    flow.due[B] = int(time.time() * 1000) + 150

    flow.reconcile(consumer)
    assert consumer.paused() == {B}
    assert flow.paused == 1  # the gauge
    time.sleep(0.2)
    flow.reconcile(consumer)

    assert consumer.paused() == set()
    assert flow.paused == 0
    assert flow.due == {}
    assert [k for k, _ in consumer.events] == ["pause", "resume"]


def test_backpressure_pauses_at_the_limit_and_resumes_at_half_of_it():
    flow, partitions, _ = make_flow(limit=4)
    consumer = assigned_consumer(A)
    partitions.add(A)

    for inflight, paused in ((3, False), (4, True), (3, True), (2, False)):
        partitions.inflight[A] = inflight
        flow.reconcile(consumer)
        assert (A in consumer.paused()) is paused, f"{inflight} in flight"
        assert flow.paused == int(paused)


def test_once_stopping_every_owned_partition_is_paused_and_nothing_else():
    flow, partitions, stop = make_flow()
    consumer = assigned_consumer(A, B)
    partitions.add(A)  # B is assigned to the consumer, not (yet) owned by the pipeline

    stop.set()
    flow.reconcile(consumer)

    assert consumer.paused() == {A}
    assert flow.paused == 1


def test_a_forgotten_partition_waits_for_nothing_when_it_comes_back():
    flow, partitions, _ = make_flow(limit=4)
    consumer = assigned_consumer(B)
    partitions.add(B)
    partitions.inflight[B] = 4
    flow.due[B] = int(time.time() * 1000) + 60_000
    flow.reconcile(consumer)
    assert consumer.paused() == {B}

    with partitions.lock:  # revoked, then assigned again
        flow.forget(B)
        partitions.forget(B)
        partitions.add(B)
        partitions.inflight[B] = 3  # below the limit, above half of it
    flow.reconcile(consumer)

    assert flow.due == {}
    assert consumer.paused() == set()
