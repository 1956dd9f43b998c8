"""The admin port reads commit metadata as it was written, whichever engine wrote it."""

from types import SimpleNamespace

from kafkactl.kafka import TopicPartition
from kafkactl.kafka.admin import Admin, Committed


class _Client:
    def __init__(self, answer):
        self.answer = answer

    def list_group_offsets(self, request):
        (group,) = request
        return {group: self.answer}


def test_committed_drops_the_nul_confluent_kafka_appends_to_metadata():
    tp = TopicPartition("dlq", 0)
    answer = {tp: SimpleNamespace(offset=7, metadata="v1:memo\x00")}
    assert Admin(_Client(answer)).committed("g", [tp]) == {tp: Committed(7, "v1:memo")}


def test_committed_keeps_other_metadata_and_reports_nothing_committed_as_none():
    a, b, c = TopicPartition("t", 0), TopicPartition("t", 1), TopicPartition("t", 2)
    answer = {
        a: SimpleNamespace(offset=3, metadata="plain"),
        b: SimpleNamespace(offset=-1, metadata=""),
    }
    got = Admin(_Client(answer)).committed("g", [a, b, c])
    assert got == {a: Committed(3, "plain"), b: None, c: None}
