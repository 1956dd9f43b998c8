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


class _Node:
    def __init__(self, node_id: int) -> None:
        self.host, self.port = "127.0.0.1", 24000 + node_id


class _Metadata:
    """What list_topics answers: the node that answered, and the controller it names."""

    def __init__(self, answered: int, controller: int) -> None:
        self.orig_broker_id, self.controller_id = answered, controller
        self.brokers = {n: _Node(n) for n in (1, 2, 3)}


class _Steered(_Client):
    """A client whose metadata answers name controllers in turn (node 2 is dead)."""

    def __init__(self, *answers: tuple[int, int]) -> None:
        super().__init__({"t": 42})
        self.answers, self.asked = list(answers), 0
        self.broker_kwargs: list[dict[str, Any]] = []

    def list_topics(self, timeout: float) -> _Metadata:
        answered, controller = self.answers[min(self.asked, len(self.answers) - 1)]
        self.asked += 1
        return _Metadata(answered, controller)

    def configs(self, timeout: float, **kwargs: Any) -> dict[str, Future[Any]]:
        self.broker_kwargs.append(kwargs)
        return self.request(timeout)


def _alive(probed: list[int]) -> Any:
    def probe(host: str, port: int) -> bool:
        probed.append(port - 24000)
        return port != 24002

    return probe


def test_a_controller_that_takes_no_connections_is_asked_for_again_before_the_request():
    # librdkafka would reconnect to the dead node 2 in a busy loop until the request timed out.
    probed: list[int] = []
    client = _Steered((1, 2), (3, 2), (1, 3))
    calls = AdminCalls(client, retry_for=5, probe=_alive(probed))
    assert calls.gather(client.request, to_controller=True) == {"t": 42}
    assert client.asked == 3 and probed == [2, 2, 3] and client.calls == 1


def test_a_controller_that_answered_is_not_probed_and_steering_gives_up_after_a_few_asks():
    probed: list[int] = []
    client = _Steered((1, 1))
    AdminCalls(client, retry_for=5, probe=_alive(probed)).gather(client.request, to_controller=True)
    assert client.asked == 1 and probed == []
    stuck = _Steered((1, 2))
    AdminCalls(stuck, retry_for=5, probe=_alive(probed)).gather(stuck.request, to_controller=True)
    assert stuck.asked == 4 and stuck.calls == 1  # bounded: the request's own timeout remains


def test_config_requests_go_to_the_broker_that_answered_metadata_asked_once():
    client = _Steered((3, 2))
    calls = AdminCalls(client, retry_for=5)
    for _ in range(2):
        calls.gather(lambda t: client.configs(t, **calls.answering_broker()))
    assert client.broker_kwargs == [{"broker": 3}, {"broker": 3}] and client.asked == 1
    silent = _Client({"t": 42})  # no metadata answer: librdkafka's own choice
    assert AdminCalls(silent, retry_for=5).answering_broker() == {}
