"""The admin port: topics, cluster, offsets, groups and configs as typed data (DESIGN §3.2, §3.6).

Everything outside `kafkactl/kafka/` talks to an admin client through `AdminPort` and the
results here; each engine implements it inside its adapter (kafka-python's KafkaAdminClient in
`kafka_python/admin.py`, confluent-kafka's AdminClient in `librdkafka/admin.py`), reading its
library's answers there and nowhere else. Error mapping is the same on both: a cluster that
keeps answering with retriable errors past the connect timeout is a ConnectError (exit 3); a
refusal of a changing request is an AdminError (one line, exit 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple, Protocol

from kafkactl.errors import KafkactlError
from kafkactl.kafka.ports import TopicPartition

# Broker error codes (Kafka protocol) that create_topics answers with.
TOPIC_ALREADY_EXISTS = 36
# Where describe_configs says a value comes from when the topic itself sets it.
TOPIC_CONFIG_SOURCES = frozenset({"DYNAMIC_TOPIC_CONFIG", "TOPIC_CONFIG"})
# Sources meaning "nobody set this": Kafka's built-in default.
DEFAULT_SOURCES = frozenset({"DEFAULT_CONFIG", "UNKNOWN"})
# Sources a topic inherits (not set on the topic): what `topics describe` leaves out.
INHERITED_SOURCES = frozenset(
    {"DYNAMIC_DEFAULT_BROKER_CONFIG", "STATIC_BROKER_CONFIG", "DEFAULT_CONFIG"}
)
ConfigKind = Literal["topic", "broker"]


class AdminError(KafkactlError):
    """The cluster refused an admin request (not authorized, invalid config, ...): exit 1."""


@dataclass(frozen=True, slots=True)
class PartitionInfo:
    """Leadership and replication state of one partition (leader -1: none)."""

    partition: int
    leader: int
    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    offline: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class TopicInfo:
    """A topic's partitions (sorted) as the cluster describes them; exists=False: missing."""

    name: str
    partitions: tuple[PartitionInfo, ...] = ()
    exists: bool = True
    internal: bool = False


@dataclass(frozen=True, slots=True)
class BrokerNode:
    """One registered broker; `fenced`: registered, but the controller cut it off (KRaft)."""

    broker_id: int
    host: str
    port: int
    rack: str | None = None
    fenced: bool = False


@dataclass(frozen=True, slots=True)
class ClusterMetadata:
    """The cluster's id, its controller, and its brokers (sorted by id)."""

    cluster_id: str | None
    controller_id: int | None
    brokers: tuple[BrokerNode, ...] = ()


class Committed(NamedTuple):
    """A group's committed position on one partition, with its metadata string."""

    offset: int
    metadata: str


class TopicConfig(NamedTuple):
    """A topic's effective config value, and whether the topic sets it (else: broker default)."""

    value: str | None
    overridden: bool


@dataclass(frozen=True, slots=True)
class NewTopicSpec:
    """A topic to create: its partitions, replication factor and configs."""

    name: str
    partitions: int
    replication: int
    configs: dict[str, str]


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


class ConfigEntry(NamedTuple):
    """One config of a topic or broker: its value, where it comes from, and its flags."""

    value: str | None
    source: str
    read_only: bool
    sensitive: bool

    @property
    def is_default(self) -> bool:
        """True when nothing set it (Kafka's built-in default)."""
        return self.source in DEFAULT_SOURCES


class BrokerVersion(NamedTuple):
    """What one broker says of its version: the release its ApiVersions match (kafka-python's
    inference, a lower bound when the broker is newer than the client's table)."""

    broker_id: int
    version: str | None
    at_least: bool


class AdminPort(Protocol):
    """A connected admin client. Methods raise kafkactl errors only for what users can fix."""

    def describe_cluster(self) -> ClusterMetadata:
        """The cluster id, the controller and the registered brokers."""
        ...

    def describe_topics(self, names: list[str]) -> list[TopicInfo]:
        """Each named topic's partitions, in the order asked (missing: exists=False)."""
        ...

    def topic_names(self) -> list[str]:
        """Every topic's name, sorted, internal ones (`__consumer_offsets`) included."""
        ...

    def create_topics(self, topics: list[NewTopicSpec]) -> list[TopicAnswer]:
        """Ask the broker to create the topics; one answer per topic, in order."""
        ...

    def max_message_bytes(self, names: list[str]) -> dict[str, int]:
        """Each existing topic's effective max.message.bytes (missing topics are left out)."""
        ...

    def effective_configs(
        self, names: list[str], keys: list[str]
    ) -> dict[str, dict[str, TopicConfig]]:
        """The effective value of `keys` for each existing topic, defaults included."""
        ...

    def topic_configs(self, name: str) -> dict[str, str]:
        """The topic's configs that differ from the broker's defaults."""
        ...

    def list_offsets(
        self, partitions: list[TopicPartition], latest: bool
    ) -> dict[TopicPartition, int]:
        """The end (latest) or first retained offset of each partition."""
        ...

    def offsets_for_time(
        self, partitions: list[TopicPartition], ms: int
    ) -> dict[TopicPartition, int]:
        """The first offset at or after `ms` per partition (the end offset when none is)."""
        ...

    def committed(
        self, group: str, partitions: list[TopicPartition], timeout: float = 15.0
    ) -> dict[TopicPartition, Committed | None]:
        """The group's committed offset and metadata per partition (None: nothing committed);
        a coordinator still loading is asked again for up to `timeout` seconds."""
        ...

    def list_groups(self) -> list[GroupListing]:
        """Every consumer group the cluster knows, with its state, sorted."""
        ...

    def describe_group(self, group: str) -> GroupState:
        """The group's state and its members' assignments."""
        ...

    def group_offsets(self, group: str) -> dict[TopicPartition, Committed]:
        """Every offset the group has committed, with its metadata."""
        ...

    def alter_group_offsets(
        self, group: str, offsets: dict[TopicPartition, int]
    ) -> dict[TopicPartition, str | None]:
        """Set the group's committed offsets; per partition the error's name, None when done."""
        ...

    def delete_topics(self, names: list[str]) -> dict[str, str | None]:
        """Delete the topics; per topic the error (name: message), None when deleted."""
        ...

    def config_entries(self, kind: ConfigKind, name: str) -> dict[str, ConfigEntry]:
        """Every config of a topic or a broker (by id), defaults included, by name."""
        ...

    def alter_topic_configs(
        self, topic: str, set_values: dict[str, str], delete: list[str]
    ) -> str | None:
        """Incrementally set and delete configs of one topic; the error in one line, or None."""
        ...

    def create_partitions(self, topic: str, count: int) -> str | None:
        """Grow the topic to `count` partitions; the broker's error, None when done."""
        ...

    def delete_records(self, before: dict[TopicPartition, int]) -> dict[TopicPartition, int]:
        """Delete every record below the given offset of each partition; the new low marks."""
        ...

    def delete_groups(self, groups: list[str]) -> dict[str, str | None]:
        """Delete the consumer groups (their committed offsets); per group the error name."""
        ...

    def delete_group_offsets(
        self, group: str, partitions: list[TopicPartition]
    ) -> dict[TopicPartition, str | None]:
        """Delete the group's committed offsets of `partitions`; per partition the error name."""
        ...

    def broker_versions(self, broker_ids: list[int]) -> list[BrokerVersion]:
        """Each broker's release as its ApiVersions answer says (None: it did not answer)."""
        ...

    def finalized_features(self) -> dict[str, int]:
        """The cluster's finalized feature levels (metadata.version, ...); {} if not told."""
        ...

    def close(self) -> None:
        """Release the client."""
        ...


def commit_metadata(text: str | None) -> str:
    """Commit metadata as written, without the NUL that confluent-kafka appends to it.

    confluent-kafka 2.x sends a TopicPartition's metadata string with its C terminator, so a
    commit made by the librdkafka engine reads back with a trailing "\x00".
    """
    if not text:
        return ""
    return text[:-1] if text.endswith("\x00") else text


def max_message_bytes_of(found: dict[str, dict[str, TopicConfig]]) -> dict[str, int]:
    """max.message.bytes per topic from effective_configs' answer (numbers only)."""
    from kafkactl.kafka.limits import MAX_MESSAGE_BYTES

    out: dict[str, int] = {}
    for name, configs in found.items():
        value = configs.get(MAX_MESSAGE_BYTES)
        if value is not None and value.value is not None and value.value.isdigit():
            out[name] = int(value.value)
    return out
