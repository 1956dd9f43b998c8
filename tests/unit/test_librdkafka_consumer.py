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
