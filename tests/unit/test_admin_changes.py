"""The admin port's changing requests read kafka-python's answers into plain data, and turn a
refusal into one line (never a library exception)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from kafka import errors as kerr

from kafkactl.kafka.admin_port import AdminError
from kafkactl.kafka.kafka_python.admin import KafkaPythonAdmin as Admin
from kafkactl.kafka.ports import TopicPartition


class _Client:
    def delete_topics(self, names, raise_errors=True):
        return {
            "topics": [
                {"name": "a", "error_code": 0, "error_message": None},
                {"name": "b", "error_code": 3, "error_message": "no such topic"},
            ]
        }

    def delete_groups(self, groups):
        return {"g1": "OK", "g2": "GroupNotEmptyError"}

    def alter_configs(self, resources, raise_on_unknown=True, incremental=None):
        assert incremental is True, "only incremental changes keep the configs not named"
        (resource,) = resources
        if "bad" in resource.configs:
            return {"topic": {resource.name: "[Error 40] InvalidConfigurationError: bad value"}}
        return {"topic": {resource.name: "OK"}}

    def create_partitions(self, counts, raise_errors=True):
        return SimpleNamespace(
            results=[SimpleNamespace(name="t", error_code=37, error_message="not an increase")]
        )

    def delete_records(self, request):
        raise kerr.PolicyViolationError("deletion is disabled")


def test_answers_become_plain_data():
    admin = Admin(_Client())
    assert admin.delete_topics(["a", "b"]) == {
        "a": None,
        "b": "UnknownTopicOrPartitionError: no such topic",
    }
    assert admin.delete_groups(["g1", "g2"]) == {"g1": None, "g2": "GroupNotEmptyError"}
    assert admin.alter_topic_configs("t", {"retention.ms": "1"}, ["x"]) is None
    assert admin.alter_topic_configs("t", {"bad": "1"}, []) == (
        "InvalidConfigurationError: bad value"
    )
    assert admin.create_partitions("t", 2) == "InvalidPartitionsError: not an increase"


def test_a_non_retriable_refusal_is_one_line_not_a_library_error():
    with pytest.raises(AdminError, match="deleting records: PolicyViolationError"):
        Admin(_Client()).delete_records({TopicPartition("t", 0): 5})
