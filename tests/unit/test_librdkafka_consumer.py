"""The librdkafka consumer adapter's own logic, over a stand-in for confluent-kafka's Consumer."""

from __future__ import annotations

import pytest

pytest.importorskip("confluent_kafka")

from confluent_kafka import KafkaError, KafkaException

from kafkactl.kafka.librdkafka import consumer as consumer_module
from kafkactl.kafka.librdkafka.consumer import LibrdkafkaConsumer
from kafkactl.kafka.ports import TopicPartition


class Watermarks:
    """Answers get_watermark_offsets with the errors it is given, then with (0, 42)."""

    def __init__(self, *errors: int) -> None:
        self.errors = list(errors)
        self.asked = 0

    def get_watermark_offsets(self, tp, timeout=None, cached=False):
        self.asked += 1
        if self.errors:
            raise KafkaException(KafkaError(self.errors.pop(0)))
        return 0, 42


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    monkeypatch.setattr(consumer_module.time, "sleep", lambda _s: None)


def test_watermarks_are_asked_again_while_the_leader_moves():
    raw = Watermarks(KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE)
    consumer = LibrdkafkaConsumer(raw)
    assert consumer.watermarks([TopicPartition("t", 0)]) == {TopicPartition("t", 0): (0, 42)}
    assert raw.asked == 3


def test_watermarks_give_up_at_once_on_an_answer_or_a_timeout():
    for code in (KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._TIMED_OUT):
        raw = Watermarks(code)
        with pytest.raises(KafkaException):
            LibrdkafkaConsumer(raw).watermarks([TopicPartition("t", 0)])
        assert raw.asked == 1


def test_watermarks_stop_asking_at_the_bound(monkeypatch):
    clock = iter(range(0, 1000, 5))
    monkeypatch.setattr(consumer_module.time, "monotonic", lambda: float(next(clock)))
    raw = Watermarks(*[KafkaError.NOT_LEADER_FOR_PARTITION] * 50)
    with pytest.raises(KafkaException):
        LibrdkafkaConsumer(raw).watermarks([TopicPartition("t", 0)])
    # asked at 0, 5 and 10 s; at 15 s the bound is reached and the error raised
    assert raw.asked == consumer_module.WATERMARK_RETRY_S // 5 == 3


class Committed:
    """Answers committed() with the given offsets; seek() is accepted."""

    def __init__(self, offsets: dict[int, int]) -> None:
        self.offsets = offsets
        self.asked: list[list[int]] = []

    def seek(self, tp) -> None:
        pass

    def committed(self, partitions, timeout=None):
        from confluent_kafka import TopicPartition as Theirs

        self.asked.append([p.partition for p in partitions])
        return [Theirs(p.topic, p.partition, self.offsets[p.partition]) for p in partitions]


T0, T1 = TopicPartition("t", 0), TopicPartition("t", 1)


def test_a_partition_read_to_its_end_again_after_a_seek_back_is_at_its_end():
    # librdkafka sends no second EOF event for the same end offset.
    raw = Committed({})
    consumer = LibrdkafkaConsumer(raw)
    consumer.seek(T0, 40)
    assert not consumer.at_end({T0: 42})
    consumer.seek(T0, 42)  # as poll() leaves it once it returned the record at 41
    assert consumer.at_end({T0: 42})
    assert raw.asked == []


def test_a_partition_nothing_was_read_from_since_assigned_is_at_the_committed_offset():
    raw = Committed({0: 42, 1: 7})
    consumer = LibrdkafkaConsumer(raw)
    assert consumer.at_end({T0: 42})
    assert not consumer.at_end({T0: 42, T1: 9})  # records 7 and 8 are still to read
    assert raw.asked == [[0], [0, 1]]


def test_unread_records_need_no_committed_offsets():
    raw = Committed({0: 42})
    consumer = LibrdkafkaConsumer(raw)
    consumer.seek(T1, 3)
    assert not consumer.at_end({T0: 42, T1: 9})
    assert raw.asked == []


class Rebalancing:
    """Keeps the rebalance callbacks subscribe() registers; records pause and resume calls."""

    def __init__(self) -> None:
        self.callbacks: dict = {}
        self.resumed: list[list[tuple[str, int]]] = []

    def subscribe(self, topics, **callbacks) -> None:
        self.callbacks = callbacks

    def pause(self, partitions) -> None:
        pass

    def resume(self, partitions) -> None:
        self.resumed.append(sorted((p.topic, p.partition) for p in partitions))


class Listener:
    drain_timeout = 1.0

    def __init__(self) -> None:
        self.assigned: list[set] = []

    def begin_revoke(self, revoked) -> None:
        pass

    def revoked_busy(self, revoked) -> bool:
        return False

    def finish_revoke(self, revoked, commit) -> dict:
        return {}

    def on_assigned(self, assigned) -> None:
        self.assigned.append(assigned)


def test_a_partition_paused_at_a_revoke_and_given_back_is_fetched_again():
    # librdkafka keeps a pause through a rebalance; the pipeline starts partitions unpaused.
    from confluent_kafka import TopicPartition as Theirs

    raw = Rebalancing()
    consumer = LibrdkafkaConsumer(raw)
    listener = Listener()
    consumer.subscribe(["t"], listener)
    consumer.pause([T0])
    both = [Theirs("t", 0), Theirs("t", 1)]
    raw.callbacks["on_revoke"](raw, both)
    assert raw.resumed == [[("t", 0)]]  # only the paused one
    assert consumer.paused() == set()
    raw.callbacks["on_assign"](raw, both)
    assert raw.resumed[-1] == [("t", 0), ("t", 1)]
    assert listener.assigned == [{T0, T1}]
