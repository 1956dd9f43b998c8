"""The admin port: topics, cluster, offsets and group commits, as plain data.

Admin runs on kafka-python's KafkaAdminClient whichever engine moves the data: it is complete
and well served there (DESIGN §3.6 allows one admin for both engines).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

from kafkactl.config import Settings
from kafkactl.errors import ConnectError
from kafkactl.kafka.admin_changes import AdminChanges
from kafkactl.kafka.ports import TopicPartition

T = TypeVar("T")

# Broker error codes (Kafka protocol) that create_topics answers with.
TOPIC_ALREADY_EXISTS = 36

# The broker's default max.message.bytes (message.max.bytes), for when it cannot be asked.
BROKER_DEFAULT_MAX_MESSAGE_BYTES = 1_048_588
# Room a retry tier or DLQ keeps above its main topic's max.message.bytes for the headers of
# DESIGN §8.3 (at most about 6.5 KiB: a 4 KiB trace, a 1 KiB message, origin and state fields).
PIPELINE_HEADROOM_BYTES = 64 * 1024
# The largest record kafkactl's producers send (kafka-python max_request_size, librdkafka
# message.max.bytes): the broker's topic limit is the real bound, so the client never refuses
# a copy the topic would take. Larger than both clients' defaults (1 MiB, 1,000,000 bytes),
# which are below the broker's own default plus any header.
PRODUCER_MAX_REQUEST_BYTES = 16 * 1024 * 1024 + PIPELINE_HEADROOM_BYTES
MAX_MESSAGE_BYTES = "max.message.bytes"
# Where describe_configs says a value comes from when the topic itself sets it.
TOPIC_CONFIG_SOURCES = frozenset({"DYNAMIC_TOPIC_CONFIG", "TOPIC_CONFIG"})


class Committed(NamedTuple):
    """A group's committed position on one partition, with its metadata string."""

    offset: int
    metadata: str


class TopicConfig(NamedTuple):
    """A topic's effective config value, and whether the topic sets it (else: broker default)."""

    value: str | None
    overridden: bool


class TopicAnswer(NamedTuple):
    """The broker's answer to creating one topic (error_code 0: created)."""

    name: str
    error_code: int
    error_message: str | None
    partitions: int | None
    replication: int | None


class GroupListing(NamedTuple):
    """One consumer group as the cluster lists it."""

    group: str
    state: str
    protocol_type: str


class GroupMember(NamedTuple):
    """One member of a consumer group and the partitions it holds."""

    member_id: str
    client_id: str
    host: str
    assignment: list[TopicPartition]


class GroupState(NamedTuple):
    """A group's state and members (state `Dead` and no members: the group does not exist)."""

    group: str
    state: str
    members: list[GroupMember]


class Admin(AdminChanges):
    """A connected admin client. Methods raise kafkactl errors only for what users can fix."""

    def __init__(self, client: Any, retry_for: float = 15.0) -> None:
        self._client = client
        self._retry_for = retry_for

    def _call(
        self, method: Callable[..., T], *args: Any, retry_for: float | None = None, **kwargs: Any
    ) -> T:
        """Run one admin request, again while the cluster answers with a retriable error.

        A node that died since the last metadata refresh (a leader killed, a rolling restart)
        fails the request sent to it with a connection error; kafka-python backs that node
        off, so asking again goes to another one. Past `retry_for` seconds the cluster is
        unreachable (exit 3), said in one line.
        """
        from kafka import errors as kerr

        patience = self._retry_for if retry_for is None else retry_for
        deadline = time.monotonic() + patience
        pause = 0.2
        while True:
            try:
                return method(*args, **kwargs)
            except kerr.KafkaError as exc:
                # KafkaConnectionError (a dead node), NodeNotReady, timeouts and coordinator
                # moves are retriable; a refusal (not authorized, invalid config) is not.
                transient = bool(exc.retriable)
                if not transient or time.monotonic() + pause > deadline:
                    if transient:
                        raise ConnectError(
                            f"the cluster did not answer an admin request within "
                            f"{patience:g}s ({type(exc).__name__}: {exc}); check that "
                            "its brokers are up (kafkactl health)"
                        ) from exc
                    raise
                time.sleep(pause)
                pause = min(pause * 2, 2.0)

    @classmethod
    def connect(cls, settings: Settings) -> Admin:
        """A connected admin client; exits 3 when the cluster stays unreachable."""
        from kafka import KafkaAdminClient

        from kafkactl.kafka.kafka_python.config import admin_config
        from kafkactl.kafka.kafka_python.connect import connect

        config = admin_config(settings)
        client = connect(settings, lambda: KafkaAdminClient(**config), "the cluster")
        return cls(client, retry_for=max(settings.connect_timeout, 5.0))

    def describe_cluster(self) -> dict[str, Any]:
        """cluster_id, controller_id and brokers (broker_id, host, port, rack)."""
        return self._call(self._client.describe_cluster)

    def describe_topics(self, names: list[str]) -> list[dict[str, Any]]:
        """The metadata entry of each topic (error_code non-zero: it does not exist)."""
        return self._call(self._client.describe_topics, names)

    def create_topics(
        self,
        names: list[str],
        partitions: int,
        replication: int,
        configs: dict[str, str],
        per_topic: dict[str, dict[str, str]] | None = None,
    ) -> list[TopicAnswer]:
        """Ask the broker to create the topics (`per_topic` overrides `configs` by name)."""
        from kafka.admin import NewTopic

        per_topic = per_topic or {}
        new = [
            NewTopic(n, partitions, replication, topic_configs={**configs, **per_topic.get(n, {})})
            for n in names
        ]
        response = self._call(self._client.create_topics, new, raise_errors=False)
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

    def max_message_bytes(self, names: list[str]) -> dict[str, int]:
        """Each existing topic's effective max.message.bytes (missing topics are left out)."""
        found = self.effective_configs(names, [MAX_MESSAGE_BYTES])
        out: dict[str, int] = {}
        for name, configs in found.items():
            value = configs.get(MAX_MESSAGE_BYTES)
            if value is not None and value.value is not None and value.value.isdigit():
                out[name] = int(value.value)
        return out

    def effective_configs(
        self, names: list[str], keys: list[str]
    ) -> dict[str, dict[str, TopicConfig]]:
        """The effective value of `keys` for each existing topic, defaults included."""
        from kafka.admin import ConfigResource, ConfigResourceType

        if not names:
            return {}
        resources = [
            ConfigResource(ConfigResourceType.TOPIC, n, list(keys)) for n in dict.fromkeys(names)
        ]
        answer = self._call(self._client.describe_configs, resources, config_filter="all")
        out: dict[str, dict[str, TopicConfig]] = {}
        for name, entries in (answer.get("topic") or {}).items():
            out[name] = {
                str(key): TopicConfig(
                    None if entry.get("value") is None else str(entry["value"]),
                    entry.get("config_source") in TOPIC_CONFIG_SOURCES,
                )
                for key, entry in (entries or {}).items()
                if isinstance(entry, dict)
            }
        return out

    def list_offsets(self, partitions: list[TopicPartition], latest: bool) -> dict[Any, int]:
        """The end (latest) or first retained offset of each partition."""
        from kafka.admin import OffsetSpec

        if not partitions:
            return {}
        spec = OffsetSpec.LATEST if latest else OffsetSpec.EARLIEST
        answer = self._call(self._client.list_partition_offsets, dict.fromkeys(partitions, spec))
        return {TopicPartition(*tp): value.offset for tp, value in answer.items()}

    def committed(
        self, group: str, partitions: list[TopicPartition], timeout: float = 15.0
    ) -> dict[TopicPartition, Committed | None]:
        """The group's committed offset and metadata per partition (None: nothing committed).

        A coordinator still loading `__consumer_offsets` answers with a retriable error:
        asked again for up to `timeout` seconds."""
        offsets = {group: list(partitions)}
        answer = self._call(self._client.list_group_offsets, offsets, retry_for=timeout)[group]
        out: dict[TopicPartition, Committed | None] = {}
        for tp in partitions:
            meta = answer.get(tp)
            ok = meta is not None and meta.offset >= 0
            out[tp] = Committed(meta.offset, _metadata(meta.metadata)) if ok else None
        return out

    def topic_names(self) -> list[str]:
        """Every topic's name, internal ones (`__consumer_offsets`) included."""
        return sorted(self._call(self._client.list_topics))

    def topic_configs(self, name: str) -> dict[str, str]:
        """The topic's configs that differ from the broker's defaults."""
        from kafka.admin import ConfigResource, ConfigResourceType

        resource = ConfigResource(ConfigResourceType.TOPIC, name)
        answer = self._call(self._client.describe_configs, [resource])
        found = answer.get("topic", {}).get(name, {})
        return {str(k): str(v) for k, v in _config_values(found).items()}

    def offsets_for_time(self, partitions: list[TopicPartition], ms: int) -> dict[Any, int]:
        """The first offset at or after `ms` per partition (the end offset when none is)."""
        if not partitions:
            return {}
        answer = self._call(self._client.list_partition_offsets, dict.fromkeys(partitions, int(ms)))
        ends = self.list_offsets(partitions, latest=True)
        out: dict[Any, int] = {}
        for tp in partitions:
            found = answer.get(tp)
            offset = found.offset if found is not None else -1
            out[TopicPartition(*tp)] = offset if offset >= 0 else ends[TopicPartition(*tp)]
        return out

    def list_groups(self) -> list[GroupListing]:
        """Every consumer group the cluster knows, with its state."""
        return sorted(
            GroupListing(g["group_id"], g.get("group_state") or "", g.get("protocol_type") or "")
            for g in self._call(self._client.list_groups)
        )

    def describe_group(self, group: str) -> GroupState:
        """The group's state and its members' assignments."""
        answer = self._call(self._client.describe_groups, [group]).get(group, {})
        members = [
            GroupMember(
                m.get("member_id") or "",
                m.get("client_id") or "",
                (m.get("client_host") or "").lstrip("/"),
                sorted(
                    TopicPartition(a["topic"], p)
                    for a in (m.get("member_assignment") or {}).get("assigned_partitions", [])
                    for p in a["partitions"]
                ),
            )
            for m in answer.get("members") or []
        ]
        return GroupState(group, answer.get("group_state") or "Dead", members)

    def group_offsets(self, group: str) -> dict[TopicPartition, Committed]:
        """Every offset the group has committed, with its metadata."""
        answer = self._call(self._client.list_group_offsets, {group: None}).get(group, {})
        return {
            TopicPartition(*tp): Committed(meta.offset, _metadata(meta.metadata))
            for tp, meta in answer.items()
            if meta is not None and meta.offset >= 0
        }

    def alter_group_offsets(
        self, group: str, offsets: dict[TopicPartition, int]
    ) -> dict[TopicPartition, str | None]:
        """Set the group's committed offsets; per partition the error's name, None when done."""
        from kafka.structs import OffsetAndMetadata

        request = {tp: OffsetAndMetadata(offset, "", -1) for tp, offset in offsets.items()}
        answer = self._call(self._client.alter_group_offsets, group, request)
        out: dict[TopicPartition, str | None] = {}
        for tp, error in answer.items():
            name = getattr(error, "__name__", str(error))
            out[TopicPartition(*tp)] = None if name == "NoError" else name
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


def _config_values(found: Any) -> dict[str, Any]:
    """Config name -> value from kafka-python's describe_configs answer, whichever shape."""
    if isinstance(found, dict):
        return {k: (v.get("value") if isinstance(v, dict) else v) for k, v in found.items()}
    return {}


def error_name(code: int) -> str:
    """The Kafka protocol's name of an error code."""
    from kafka import errors as kerr

    return kerr.for_code(code).__name__
