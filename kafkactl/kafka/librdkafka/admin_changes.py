"""The admin port's changing and config requests on confluent-kafka (topic and group deletion,
config changes, added partitions, record deletion, broker configs), and the three requests
confluent-kafka lacks, handed to kafka-python's admin client (`fallback`, made when first
needed). A base of `LibrdkafkaAdmin`: confluent-kafka's answers are read here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kafkactl.kafka.admin_port import (
    AdminPort,
    BrokerVersion,
    ConfigEntry,
    ConfigKind,
)
from kafkactl.kafka.librdkafka.admin_calls import (
    UNKNOWN_TOPIC_OR_PARTITION,
    AdminCalls,
    error_name,
    error_text,
    is_error,
    rdadmin,
)
from kafkactl.kafka.ports import TopicPartition

# librdkafka's name of a config source Kafka calls UNKNOWN.
_UNKNOWN_SOURCE = "UNKNOWN_CONFIG"


class LibrdkafkaAdminChanges:
    """Admin requests that change the cluster, configs, and the kafka-python fallback."""

    def __init__(
        self, client: Any, retry_for: float, fallback: Callable[[], AdminPort] | None = None
    ) -> None:
        self._client = client
        self.calls = AdminCalls(client, retry_for)
        self._make_fallback = fallback
        self._fallback: AdminPort | None = None

    def delete_topics(self, names: list[str]) -> dict[str, str | None]:
        """Delete the topics; per topic the error (name: message), None when deleted."""
        unique = list(dict.fromkeys(names))
        answers = self.calls.gather(
            lambda timeout: self._client.delete_topics(
                unique, operation_timeout=timeout, request_timeout=timeout
            ),
            to_controller=True,
        )
        out: dict[str, str | None] = dict.fromkeys(names, "no answer from the cluster")
        for name, answer in answers.items():
            out[name] = error_text(answer) if is_error(answer) else None
        return out

    def config_entries(self, kind: ConfigKind, name: str) -> dict[str, ConfigEntry]:
        """Every config of a topic or a broker (by id), defaults included, by name."""
        rd = rdadmin()

        rtype = rd.ResourceType.TOPIC if kind == "topic" else rd.ResourceType.BROKER
        # A broker's configs come from that broker; a topic's from any (answering_broker).
        answers = self.calls.each(
            f"describing the configs of {kind} {name}",
            lambda timeout: self._client.describe_configs(
                [rd.ConfigResource(rtype, name)],
                request_timeout=timeout,
                **(self.calls.answering_broker() if kind == "topic" else {}),
            ),
        )
        (found,) = answers.values()
        return _entries(found)

    def _topic_entries(self, names: list[str]) -> dict[str, dict[str, ConfigEntry]]:
        """Every config of each existing topic (missing topics are left out)."""
        rd = rdadmin()

        if not names:
            return {}
        resources = [rd.ConfigResource(rd.ResourceType.TOPIC, n) for n in names]
        answers = self.calls.gather(
            lambda timeout: self._client.describe_configs(
                resources, request_timeout=timeout, **self.calls.answering_broker()
            )
        )
        out: dict[str, dict[str, ConfigEntry]] = {}
        for resource, answer in answers.items():
            if not is_error(answer):
                out[resource.name] = _entries(answer)
            elif int(answer.code()) != UNKNOWN_TOPIC_OR_PARTITION:
                from kafkactl.kafka.admin_port import AdminError

                raise AdminError(f"describing topic configs: {error_text(answer)}")
        return out

    def alter_topic_configs(
        self, topic: str, set_values: dict[str, str], delete: list[str]
    ) -> str | None:
        """Incrementally set and delete (back to the default) configs of one topic; the
        broker's error in one line, None when applied. Configs not named stay as they are."""
        rd = rdadmin()
        changes = [
            rd.ConfigEntry(k, v, incremental_operation=rd.AlterConfigOpType.SET)
            for k, v in set_values.items()
        ]
        changes += [
            rd.ConfigEntry(k, None, incremental_operation=rd.AlterConfigOpType.DELETE)
            for k in delete
        ]
        resource = rd.ConfigResource(rd.ResourceType.TOPIC, topic, incremental_configs=changes)
        answers = self.calls.gather(
            lambda timeout: self._client.incremental_alter_configs(
                [resource], request_timeout=timeout, **self.calls.answering_broker()
            )
        )
        (answer,) = answers.values() or ("no answer from the cluster",)
        if isinstance(answer, str):
            return answer
        return error_text(answer) if is_error(answer) else None

    def create_partitions(self, topic: str, count: int) -> str | None:
        """Grow the topic to `count` partitions; the broker's error, None when done."""
        rd = rdadmin()

        answers = self.calls.gather(
            lambda timeout: self._client.create_partitions(
                [rd.NewPartitions(topic, count)],
                operation_timeout=timeout,
                request_timeout=timeout,
            ),
            to_controller=True,
        )
        if topic not in answers:
            return "no answer from the cluster"
        answer = answers[topic]
        return error_text(answer) if is_error(answer) else None

    def delete_records(self, before: dict[TopicPartition, int]) -> dict[TopicPartition, int]:
        """Delete every record below the given offset of each partition; the new low
        watermark per partition. Refused partitions fail the whole request (one line)."""
        from confluent_kafka import TopicPartition as RdTP

        if not before:
            return {}
        request = [RdTP(tp.topic, tp.partition, offset) for tp, offset in before.items()]
        answers = self.calls.each(
            "deleting records",
            lambda timeout: self._client.delete_records(
                request, operation_timeout=timeout, request_timeout=timeout
            ),
        )
        return {
            TopicPartition(tp.topic, tp.partition): int(answer.low_watermark)
            for tp, answer in answers.items()
        }

    def delete_groups(self, groups: list[str]) -> dict[str, str | None]:
        """Delete the consumer groups (their committed offsets); per group the error name."""
        unique = list(dict.fromkeys(groups))
        answers = self.calls.gather(
            lambda timeout: self._client.delete_consumer_groups(unique, request_timeout=timeout)
        )
        out: dict[str, str | None] = dict.fromkeys(groups, "no answer from the cluster")
        for group, answer in answers.items():
            out[group] = error_name(answer) if is_error(answer) else None
        return out

    def fallback(self) -> AdminPort:
        """kafka-python's admin client, for what confluent-kafka cannot ask (made once)."""
        if self._fallback is None:
            if self._make_fallback is None:
                raise RuntimeError("no kafka-python admin client to fall back on")
            self._fallback = self._make_fallback()
        return self._fallback

    def delete_group_offsets(
        self, group: str, partitions: list[TopicPartition]
    ) -> dict[TopicPartition, str | None]:
        """Delete the group's committed offsets of `partitions` (through kafka-python:
        confluent-kafka has no OffsetDelete request)."""
        return self.fallback().delete_group_offsets(group, partitions)

    def broker_versions(self, broker_ids: list[int]) -> list[BrokerVersion]:
        """Each broker's release from its ApiVersions answer (through kafka-python, whose
        version table infers it: confluent-kafka does not expose ApiVersions)."""
        return self.fallback().broker_versions(broker_ids)

    def finalized_features(self) -> dict[str, int]:
        """The cluster's finalized feature levels (through kafka-python: confluent-kafka has
        no DescribeFeatures); {} if not told."""
        try:
            return self.fallback().finalized_features()
        except Exception:  # as on kafka-python: the version line says less
            return {}

    def close(self) -> None:
        """Release the clients (an AdminClient has nothing to close but its fallback)."""
        if self._fallback is not None:
            self._fallback.close()
            self._fallback = None


def _entries(found: dict[str, Any]) -> dict[str, ConfigEntry]:
    """confluent-kafka's ConfigEntry objects by name, as the port's ConfigEntry."""
    rd = rdadmin()

    out: dict[str, ConfigEntry] = {}
    for key, entry in found.items():
        source = rd.ConfigSource(entry.source).name
        out[str(key)] = ConfigEntry(
            None if entry.value is None else str(entry.value),
            "UNKNOWN" if source == _UNKNOWN_SOURCE else source,
            bool(entry.is_read_only),
            bool(entry.is_sensitive),
        )
    return out
