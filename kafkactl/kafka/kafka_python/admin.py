"""The admin port on kafka-python's KafkaAdminClient: topics, cluster, offsets and group
commits, read from kafka-python's answers into the port's types (DESIGN §3.6)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from kafkactl.config import Settings
from kafkactl.errors import ConnectError
from kafkactl.kafka.admin_port import (
    TOPIC_CONFIG_SOURCES,
    BrokerNode,
    ClusterMetadata,
    Committed,
    GroupListing,
    GroupMember,
    GroupState,
    NewTopicSpec,
    PartitionInfo,
    TopicAnswer,
    TopicConfig,
    TopicInfo,
    commit_metadata,
    max_message_bytes_of,
)
from kafkactl.kafka.kafka_python.admin_changes import AdminChanges
from kafkactl.kafka.limits import MAX_MESSAGE_BYTES
from kafkactl.kafka.ports import TopicPartition

T = TypeVar("T")


class KafkaPythonAdmin(AdminChanges):
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
    def connect(cls, settings: Settings) -> KafkaPythonAdmin:
        """A connected admin client; exits 3 when the cluster stays unreachable."""
        from kafka import KafkaAdminClient

        from kafkactl.kafka.kafka_python.config import admin_config
        from kafkactl.kafka.kafka_python.connect import connect

        config = admin_config(settings)
        client = connect(settings, lambda: KafkaAdminClient(**config), "the cluster")
        return cls(client, retry_for=max(settings.connect_timeout, 5.0))

    def describe_cluster(self) -> ClusterMetadata:
        """The cluster id, controller and brokers (KRaft: fenced ones marked)."""
        answer = self._call(self._client.describe_cluster)
        brokers = [
            BrokerNode(
                int(b["broker_id"]),
                b.get("host") or "",
                int(b.get("port") or 0),
                b.get("rack"),
                bool(b.get("is_fenced")),
            )
            for b in answer.get("brokers") or []
        ]
        brokers.sort(key=lambda b: b.broker_id)
        cluster_id, controller_id = answer.get("cluster_id"), answer.get("controller_id")
        return ClusterMetadata(cluster_id, controller_id, tuple(brokers))

    def describe_topics(self, names: list[str]) -> list[TopicInfo]:
        """Each topic's partitions (error_code non-zero: it does not exist)."""
        return [_topic_info(t) for t in self._call(self._client.describe_topics, names)]

    def create_topics(self, topics: list[NewTopicSpec]) -> list[TopicAnswer]:
        """Ask the broker to create the topics; one answer per topic, in order."""
        from kafka.admin import NewTopic

        if not topics:
            return []
        new = [
            NewTopic(t.name, t.partitions, t.replication, topic_configs=t.configs) for t in topics
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
        return max_message_bytes_of(self.effective_configs(names, [MAX_MESSAGE_BYTES]))

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

    def list_offsets(
        self, partitions: list[TopicPartition], latest: bool
    ) -> dict[TopicPartition, int]:
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
            out[tp] = Committed(meta.offset, commit_metadata(meta.metadata)) if ok else None
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

    def offsets_for_time(
        self, partitions: list[TopicPartition], ms: int
    ) -> dict[TopicPartition, int]:
        """The first offset at or after `ms` per partition (the end offset when none is)."""
        if not partitions:
            return {}
        answer = self._call(self._client.list_partition_offsets, dict.fromkeys(partitions, int(ms)))
        ends = self.list_offsets(partitions, latest=True)
        out: dict[TopicPartition, int] = {}
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
            TopicPartition(*tp): Committed(meta.offset, commit_metadata(meta.metadata))
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


def _topic_info(entry: dict[str, Any]) -> TopicInfo:
    """A TopicInfo from one of kafka-python's metadata entries."""
    name = entry["name"]
    if entry.get("error_code"):
        return TopicInfo(name, (), exists=False)
    partitions = tuple(
        PartitionInfo(
            p["partition_index"],
            p.get("leader_id", -1),
            tuple(p.get("replica_nodes") or ()),
            tuple(p.get("isr_nodes") or ()),
            tuple(p.get("offline_replicas") or ()),
        )
        for p in sorted(entry.get("partitions") or [], key=lambda p: p["partition_index"])
    )
    return TopicInfo(name, partitions, internal=bool(entry.get("is_internal")))


def _config_values(found: Any) -> dict[str, Any]:
    """Config name -> value from kafka-python's describe_configs answer, whichever shape."""
    if isinstance(found, dict):
        return {k: (v.get("value") if isinstance(v, dict) else v) for k, v in found.items()}
    return {}


def error_name(code: int) -> str:
    """The Kafka protocol's name of an error code."""
    from kafka import errors as kerr

    return kerr.for_code(code).__name__
