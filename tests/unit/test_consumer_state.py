"""partition_names: the partitions of a log line, each topic once, partitions as ranges."""

from __future__ import annotations

from kafkactl.consumer.state import partition_names
from kafkactl.kafka.ports import TopicPartition


def test_each_topic_once_with_its_partitions_as_ranges() -> None:
    parts = [TopicPartition("orders", p) for p in (2, 0, 1, 5, 7, 6, 9)]
    parts += [TopicPartition("orders.billing.retry.1", p) for p in (1, 0)]
    assert partition_names(parts) == "orders[0-2,5-7,9], orders.billing.retry.1[0-1]"


def test_one_partition_and_nothing() -> None:
    assert partition_names([TopicPartition("orders", 3)]) == "orders[3]"
    assert partition_names([]) == "nothing"
