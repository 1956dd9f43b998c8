"""The admin port: topics, cluster, offsets and group commits, as plain data.

Admin runs on kafka-python's KafkaAdminClient whichever engine moves the data: it is complete
and well served there (SPEC §16 allows one admin for both engines).
"""

from __future__ import annotations

import time
from typing import Any, NamedTuple

from kafkactl.config import Settings
from kafkactl.kafka.ports import TopicPartition

# Broker error codes (Kafka protocol) that create_topics answers with.
TOPIC_ALREADY_EXISTS = 36


class Committed(NamedTuple):
    """A group's committed position on one partition, with its metadata string."""

    offset: int
    metadata: str


class TopicAnswer(NamedTuple):
    """The broker's answer to creating one topic (error_code 0: created)."""

    name: str
    error_code: int
    error_message: str | None
    partitions: int | None
    replication: int | None


class Admin:
    """A connected admin client. Methods raise kafkactl errors only for what users can fix."""

    def __init__(self, client: Any) -> None:
        self._client = client

    @classmethod
    def connect(cls, settings: Settings) -> Admin:
        """A connected admin client; exits 3 when the cluster stays unreachable."""
        from kafka import KafkaAdminClient

        from kafkactl.kafka.kafka_python.config import admin_config
        from kafkactl.kafka.kafka_python.connect import connect

        config = admin_config(settings)
        return cls(connect(settings, lambda: KafkaAdminClient(**config), "the cluster"))

    def describe_cluster(self) -> dict[str, Any]:
        """cluster_id, controller_id and brokers (broker_id, host, port, rack)."""
        return self._client.describe_cluster()

    def describe_topics(self, names: list[str]) -> list[dict[str, Any]]:
        """The metadata entry of each topic (error_code non-zero: it does not exist)."""
        return self._client.describe_topics(names)

    def create_topics(
        self, names: list[str], partitions: int, replication: int, configs: dict[str, str]
    ) -> list[TopicAnswer]:
        """Ask the broker to create the topics; one answer per topic."""
        from kafka.admin import NewTopic

        new = [NewTopic(n, partitions, replication, topic_configs=configs) for n in names]
        response = self._client.create_topics(new, raise_errors=False)
        return [
            TopicAnswer(
                t["name"],
                t["error_code"],
                t.get("error_message")
                or (error_name(t["error_code"]) if t["error_code"] else None),
                t.get("num_partitions"),
                t.get("replication_factor"),
            )
            for t in response["topics"]
        ]

    def list_offsets(self, partitions: list[TopicPartition], latest: bool) -> dict[Any, int]:
        """The end (latest) or first retained offset of each partition."""
        from kafka.admin import OffsetSpec

        if not partitions:
            return {}
        spec = OffsetSpec.LATEST if latest else OffsetSpec.EARLIEST
        answer = self._client.list_partition_offsets(dict.fromkeys(partitions, spec))
        return {TopicPartition(*tp): value.offset for tp, value in answer.items()}

    def committed(
        self, group: str, partitions: list[TopicPartition], timeout: float = 15.0
    ) -> dict[TopicPartition, Committed | None]:
        """The group's committed offset and metadata per partition (None: nothing committed)."""
        from kafka import errors as kerr

        deadline = time.monotonic() + timeout
        while True:
            try:
                answer = self._client.list_group_offsets({group: list(partitions)})[group]
                break
            except (
                kerr.CoordinatorNotAvailableError,
                kerr.CoordinatorLoadInProgressError,
                kerr.NotCoordinatorError,
            ):
                # The group coordinator (and __consumer_offsets) may still be loading.
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        out: dict[TopicPartition, Committed | None] = {}
        for tp in partitions:
            meta = answer.get(tp)
            ok = meta is not None and meta.offset >= 0
            out[tp] = Committed(meta.offset, _metadata(meta.metadata)) if ok else None
        return out

    def close(self) -> None:
        """Release the client."""
        self._client.close()


def _metadata(text: str | None) -> str:
    """Commit metadata as written, without the NUL that confluent-kafka appends to it.

    confluent-kafka 2.x sends a TopicPartition's metadata string with its C terminator, so a
    commit made by the librdkafka engine reads back with a trailing "\x00".
    """
    if not text:
        return ""
    return text[:-1] if text.endswith("\x00") else text


def error_name(code: int) -> str:
    """The Kafka protocol's name of an error code."""
    from kafka import errors as kerr

    return kerr.for_code(code).__name__
