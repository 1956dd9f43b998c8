"""The admin port's changing and cluster-describing requests on kafka-python (topic and group
deletion, config changes, added partitions, record deletion, broker configs and versions).

A mixin of `KafkaPythonAdmin`: kafka-python's answers are read here into the port's types.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from kafkactl.kafka.admin_port import AdminError, BrokerVersion, ConfigEntry, ConfigKind
from kafkactl.kafka.ports import TopicPartition

T = TypeVar("T")


class AdminChanges:
    """Admin requests that change the cluster, and the cluster's own description."""

    _client: Any
    _call: Callable[..., Any]

    def _ask(self, what: str, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """One request; a Kafka error the cluster answers with is one line (exit 1)."""
        from kafka import errors as kerr

        try:
            result: T = self._call(method, *args, **kwargs)
        except kerr.KafkaError as exc:
            raise AdminError(f"{what}: {_describe(exc)}") from exc
        except ValueError as exc:  # kafka-python refusing a request before sending it
            raise AdminError(f"{what}: {exc}") from exc
        return result

    def delete_topics(self, names: list[str]) -> dict[str, str | None]:
        """Delete the topics; per topic the error (name: message), None when deleted."""
        answer = self._ask(
            "deleting topics", self._client.delete_topics, list(names), raise_errors=False
        )
        out: dict[str, str | None] = dict.fromkeys(names, "no answer from the cluster")
        for entry in answer.get("topics") or []:
            code = entry.get("error_code") or 0
            out[entry.get("name")] = _error_text(code, entry.get("error_message"))
        return out

    def config_entries(self, kind: ConfigKind, name: str) -> dict[str, ConfigEntry]:
        """Every config of a topic or a broker (by id), defaults included, by name."""
        from kafka.admin import ConfigResource, ConfigResourceType

        rtype = ConfigResourceType.TOPIC if kind == "topic" else ConfigResourceType.BROKER
        answer = self._ask(
            f"describing the configs of {kind} {name}",
            self._client.describe_configs,
            [ConfigResource(rtype, name)],
            config_filter="all",
        )
        found = (answer.get(kind) or {}).get(name) or {}
        return {
            str(key): ConfigEntry(
                None if entry.get("value") is None else str(entry["value"]),
                str(entry.get("config_source") or "UNKNOWN"),
                bool(entry.get("read_only")),
                bool(entry.get("is_sensitive")),
            )
            for key, entry in found.items()
            if isinstance(entry, dict)
        }

    def alter_topic_configs(
        self, topic: str, set_values: dict[str, str], delete: list[str]
    ) -> str | None:
        """Incrementally set and delete (back to the default) configs of one topic; the
        broker's error in one line, None when applied. Configs not named stay as they are."""
        from kafka.admin import AlterConfigOp, ConfigResource, ConfigResourceType

        changes: dict[str, Any] = {k: (AlterConfigOp.SET, v) for k, v in set_values.items()}
        changes.update({k: (AlterConfigOp.DELETE, None) for k in delete})
        resource = ConfigResource(ConfigResourceType.TOPIC, topic, changes)
        answer = self._ask(
            f"changing the configs of topic {topic}",
            self._client.alter_configs,
            [resource],
            raise_on_unknown=False,
            incremental=True,
        )
        result = str((answer.get("topic") or {}).get(topic, "no answer from the cluster"))
        return None if result == "OK" else re.sub(r"^\[Error \d+\] ", "", result)

    def create_partitions(self, topic: str, count: int) -> str | None:
        """Grow the topic to `count` partitions; the broker's error, None when done."""
        response = self._ask(
            f"adding partitions to topic {topic}",
            self._client.create_partitions,
            {topic: count},
            raise_errors=False,
        )
        for result in getattr(response, "results", None) or []:
            if result.name == topic:
                return _error_text(result.error_code, result.error_message)
        return "no answer from the cluster"

    def delete_records(self, before: dict[TopicPartition, int]) -> dict[TopicPartition, int]:
        """Delete every record below the given offset of each partition; the new low
        watermark per partition. Refused partitions fail the whole request (one line)."""
        from kafka.structs import TopicPartition as KafkaTP

        if not before:
            return {}
        request = {KafkaTP(tp.topic, tp.partition): offset for tp, offset in before.items()}
        answer = self._ask("deleting records", self._client.delete_records, request)
        return {
            TopicPartition(tp.topic, tp.partition): int(meta.get("low_watermark", -1))
            for tp, meta in answer.items()
        }

    def delete_groups(self, groups: list[str]) -> dict[str, str | None]:
        """Delete the consumer groups (their committed offsets); per group the error name."""
        answer = self._ask("deleting groups", self._client.delete_groups, list(groups))
        out: dict[str, str | None] = dict.fromkeys(groups, "no answer from the cluster")
        for group, error in dict(answer).items():
            name = getattr(error, "__name__", str(error))  # "OK", or the error's name
            out[group] = None if name in ("OK", "NoError") else name
        return out

    def delete_group_offsets(
        self, group: str, partitions: list[TopicPartition]
    ) -> dict[TopicPartition, str | None]:
        """Delete the group's committed offsets of `partitions`; per partition the error name."""
        from kafka.structs import TopicPartition as KafkaTP

        answer = self._ask(
            f"deleting offsets of group {group}",
            self._client.delete_group_offsets,
            group,
            [KafkaTP(tp.topic, tp.partition) for tp in partitions],
        )
        out: dict[TopicPartition, str | None] = {}
        for tp, error in answer.items():
            name = getattr(error, "__name__", str(error))
            out[TopicPartition(tp.topic, tp.partition)] = None if name == "NoError" else name
        return out

    def broker_versions(self, broker_ids: list[int]) -> list[BrokerVersion]:
        """Each broker's release as its ApiVersions answer says (None: it did not answer)."""
        from kafka.protocol.broker_version_data import BROKER_API_VERSIONS

        newest = max(BROKER_API_VERSIONS)
        out = []
        for broker_id in broker_ids:
            try:
                data = self._call(self._client.get_broker_version_data, broker_id, retry_for=3.0)
                found = tuple(data.broker_version)
            except Exception:  # a broker that does not answer is shown as such, not an error
                out.append(BrokerVersion(broker_id, None, False))
                continue
            text = ".".join(str(n) for n in found)
            out.append(BrokerVersion(broker_id, text, found >= newest))
        return out

    def finalized_features(self) -> dict[str, int]:
        """The cluster's finalized feature levels (metadata.version, ...); {} if not told."""
        try:
            answer = self._call(self._client.describe_features, retry_for=3.0)
        except Exception:  # older brokers, or not allowed: the version line says less
            return {}
        return {
            str(name): int(value["finalized"][1])
            for name, value in (answer or {}).items()
            if isinstance(value, dict) and value.get("finalized")
        }


def _error_text(code: int, message: str | None) -> str | None:
    """None for error code 0, else `ErrorName: message`."""
    if not code:
        return None
    from kafka import errors as kerr

    name = kerr.for_code(code).__name__
    return f"{name}: {message}" if message else name


def _describe(exc: Exception) -> str:
    """A Kafka exception as `ErrorName: message` (without the class's long description)."""
    text = str(exc).strip()
    name = type(exc).__name__
    return name if not text or text == name else f"{name}: {text}"
