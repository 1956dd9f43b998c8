"""The admin port reads commit metadata as it was written, whichever engine wrote it."""

from types import SimpleNamespace

from kafkactl.kafka import TopicPartition
from kafkactl.kafka.admin_port import Committed
from kafkactl.kafka.kafka_python.admin import KafkaPythonAdmin as Admin


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


class _Flaky:
    """An admin client whose describe_cluster fails `failures` times with `error`, then answers."""

    def __init__(self, error: Exception, failures: int) -> None:
        self.error, self.failures, self.calls = error, failures, 0

    def describe_cluster(self):
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return {"cluster_id": "c"}


def test_a_dead_node_is_asked_again_and_another_answers():
    from kafka.errors import KafkaConnectionError

    client = _Flaky(KafkaConnectionError("111 ECONNREFUSED"), failures=2)
    assert Admin(client, retry_for=5).describe_cluster().cluster_id == "c"
    assert client.calls == 3


def test_a_cluster_that_stays_away_is_one_connect_error_and_a_refusal_is_not_retried():
    import pytest
    from kafka.errors import KafkaConnectionError, TopicAuthorizationFailedError

    from kafkactl.errors import ConnectError

    away = _Flaky(KafkaConnectionError("111 ECONNREFUSED"), failures=1000)
    with pytest.raises(ConnectError, match=r"did not answer an admin request within 0\.5s"):
        Admin(away, retry_for=0.5).describe_cluster()
    refused = _Flaky(TopicAuthorizationFailedError(), failures=1000)
    with pytest.raises(TopicAuthorizationFailedError):
        Admin(refused, retry_for=5).describe_cluster()
    assert refused.calls == 1
