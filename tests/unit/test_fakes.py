"""The in-memory fakes behave like the engines where the pipeline depends on it."""

from __future__ import annotations

import pytest

from kafkactl.admin import queries as kadmin
from kafkactl.errors import KafkactlError
from kafkactl.kafka.ports import Delivery, TopicPartition
from kafkactl.topology import TopicPlan
from tests.fakes import FakeCluster, FakeProducer

TP = TopicPartition("t", 0)


class Listener:
    """A RebalanceListener that logs its calls; one record stays busy for `busy_polls` checks."""

    drain_timeout = 1.0

    def __init__(self, busy_polls: int = 0, commit_at: int = 2) -> None:
        self.calls: list[str] = []
        self.busy_polls = busy_polls
        self.commit_at = commit_at

    def on_assigned(self, partitions: set[TopicPartition]) -> None:
        self.calls.append(f"assigned {sorted(p.partition for p in partitions)}")

    def begin_revoke(self, partitions: set[TopicPartition]) -> None:
        self.calls.append("begin_revoke")

    def revoked_busy(self, partitions: set[TopicPartition]) -> int:
        self.calls.append("busy?")
        self.busy_polls -= 1
        return max(self.busy_polls + 1, 0)

    def finish_revoke(self, partitions: set[TopicPartition], commit: bool) -> dict:
        self.calls.append(f"finish commit={commit}")
        return {tp: self.commit_at for tp in partitions} if commit else {}


def cluster_with(records: int, partitions: int = 1) -> FakeCluster:
    cluster = FakeCluster()
    cluster.create_topic("t", partitions)
    for i in range(records):
        cluster.produce("t", b"%d" % i, partition=i % partitions)
    return cluster


def offsets(batch: dict) -> list[int]:
    return [r.offset for records in batch.values() for r in records]


def test_pause_holds_back_buffered_records_and_resume_goes_on_from_the_position():
    cluster = cluster_with(10)
    consumer = cluster.connect_consumer(None, None)
    consumer.assign([TP])
    assert offsets(consumer.poll(0.1, 3)) == [0, 1, 2]
    assert consumer.buffered(TP) == 7  # fetched ahead
    consumer.pause([TP])
    assert consumer.poll(0.02, 100) == {}
    assert consumer.position(TP) == 3
    consumer.resume([TP])
    assert offsets(consumer.poll(0.1, 2)) == [3, 4]
    consumer.seek(TP, 1)
    assert consumer.buffered(TP) == 0
    assert offsets(consumer.poll(0.1, 100)) == list(range(1, 10))
    assert consumer.at_end({TP: 10}) and not consumer.at_end({TP: 11})


def test_rebalances_run_inside_poll_in_the_librdkafka_order():
    cluster = cluster_with(4, partitions=2)
    consumer = cluster.connect_consumer(None, "g")
    listener = Listener(busy_polls=2)
    consumer.subscribe(["t"], listener)
    assert sorted(offsets(consumer.poll(0.1, 100))) == [0, 0, 1, 1]
    consumer.rebalance(revoke=[TopicPartition("t", 1)])
    assert listener.calls == ["assigned [0, 1]"]  # nothing happens until the next poll
    consumer.poll(0.0, 100)

    assert listener.calls == [
        "assigned [0, 1]",
        "begin_revoke",
        "busy?",
        "busy?",
        "busy?",
        "finish commit=True",
        "assigned [1]",
    ]
    assert cluster.committed_offsets("g") == {TopicPartition("t", 1): 2}
    assert consumer.position(TopicPartition("t", 1)) == 2  # restarts from the commit
    consumer.rebalance(lost=True)
    consumer.poll(0.0, 100)
    assert listener.calls[-2:] == ["finish commit=False", "assigned [0, 1]"]
    assert consumer.position(TopicPartition("t", 0)) == 0  # nothing committed for it


def test_async_commits_are_reported_at_the_next_poll_and_can_fail():
    cluster = cluster_with(1)
    reports = []
    consumer = cluster.connect_consumer(None, "g", on_commit=lambda o, e: reports.append((o, e)))
    consumer.assign([TP])
    consumer.commit({TP: 1}, metadata={TP: "memo"}, asynchronous=True)
    assert cluster.committed("g", TP) == (1, "memo") and reports == []
    consumer.poll(0.0, 1)
    assert reports == [({TP: 1}, None)]
    consumer.fail_commits = 2
    consumer.commit({TP: 2}, asynchronous=True)
    with pytest.raises(KafkactlError):
        consumer.commit({TP: 2})
    consumer.poll(0.0, 1)
    assert reports[-1][0] == {} and reports[-1][1] is not None
    assert cluster.committed("g", TP).offset == 1


def test_producer_fails_the_next_sends_then_lands_them_keyed_by_crc32():
    cluster = cluster_with(0, partitions=4)
    producer = FakeProducer(cluster, asynchronous=False)
    producer.fail_next("t", 2)
    deliveries: list[Delivery] = []
    for _ in range(4):
        producer.send("t", b"v", b"key", None, None, None, deliveries.append)
    producer.send("nope", b"v", None, None, None, None, deliveries.append)

    assert [d.ok for d in deliveries] == [False, False, True, True, False]
    assert deliveries[2].partition == deliveries[3].partition  # same key, same partition
    assert [d.offset for d in deliveries[2:4]] == [0, 1]
    assert len(cluster.records("t")) == 2


def test_admin_answers_in_the_shapes_kafkactl_reads():
    cluster = cluster_with(3, partitions=2)
    admin = cluster.connect_admin()
    info = kadmin.describe_topics(admin, ["t", "missing"])
    assert len(info["t"].partitions) == 2 and not info["missing"].exists
    plans = [TopicPlan("t", "main"), TopicPlan("new", "dlq")]
    results = kadmin.create_topics(admin, plans, partitions=3, replication=1)
    assert [(r.name, r.status, r.detail) for r in results] == [
        ("t", "exists", "has 2 partitions, not the 3 asked for"),
        ("new", "created", None),
    ]
    assert kadmin.end_offsets(admin, [TopicPartition("t", 0)]) == {TopicPartition("t", 0): 2}
    cluster.commit("g", {TopicPartition("t", 1): 1}, None)
    committed = kadmin.committed_offsets(admin, "g", [TopicPartition("t", p) for p in (0, 1)])
    assert committed == {TopicPartition("t", 0): None, TopicPartition("t", 1): 1}
