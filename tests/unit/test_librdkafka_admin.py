"""The librdkafka admin reads confluent-kafka's answers the way the kafka-python one does: the
same error names, a cluster in flux asked again up to the timeout, then one line (exit 3)."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException

from kafkactl.errors import ConnectError
from kafkactl.kafka.admin_port import AdminError
from kafkactl.kafka.librdkafka.admin_calls import AdminCalls, error_name, error_text, is_error


class _Client:
    """An AdminClient whose requests answer from a script: one dict of outcomes per call."""

    def __init__(self, *script: dict[str, Any]) -> None:
        self.script, self.calls = list(script), 0

    def poll(self, timeout: float) -> int:
        return 0

    def request(self, timeout: float) -> dict[str, Future[Any]]:
        answers = self.script[min(self.calls, len(self.script) - 1)]
        self.calls += 1
        out: dict[str, Future[Any]] = {}
        for key, outcome in answers.items():
            future: Future[Any] = Future()
            if isinstance(outcome, KafkaError):
                future.set_exception(KafkaException(outcome))
            else:
                future.set_result(outcome)
            out[key] = future
        return out


def test_error_names_are_kafkas_exception_classes_as_kafka_python_spells_them():
    assert error_name(KafkaError(68)) == "GroupNotEmptyError"
    assert error_name(KafkaError(69)) == "GroupIdNotFoundError"
    assert error_name(KafkaError(3)) == "UnknownTopicOrPartitionError"
    assert error_name(KafkaError(36)) == "TopicAlreadyExistsError"
    assert error_text(KafkaError(40, "bad value")) == "InvalidConfigurationError: bad value"
    assert error_name(KafkaError(KafkaError._TRANSPORT)) == "_TRANSPORT"


def test_a_leader_moving_is_asked_again_and_the_next_answer_counts():
    client = _Client({"t": KafkaError(6)}, {"t": 42})
    assert AdminCalls(client, retry_for=5).gather(client.request) == {"t": 42}
    assert client.calls == 2


def test_a_cluster_that_stays_away_is_one_connect_error():
    client = _Client({"t": KafkaError(KafkaError._TRANSPORT, "Connection refused")})
    with pytest.raises(ConnectError, match=r"did not answer an admin request within 0\.5s"):
        AdminCalls(client, retry_for=0.5).gather(client.request)


def test_an_answer_per_key_is_kept_and_a_refusal_is_one_line_not_retried():
    client = _Client({"a": None, "b": KafkaError(3)})
    answers = AdminCalls(client, retry_for=5).gather(client.request)
    assert answers["a"] is None and is_error(answers["b"]) and client.calls == 1
    refused = _Client({"t": KafkaError(29, "not allowed")})
    with pytest.raises(AdminError, match="deleting records: TopicAuthorizationFailedError"):
        AdminCalls(refused, retry_for=5).each("deleting records", refused.request)
    assert refused.calls == 1
