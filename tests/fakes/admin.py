"""FakeAdmin: kafkactl's AdminPort over a FakeCluster, answering with the port's own types."""

from __future__ import annotations

from dataclasses import dataclass, field

from kafkactl.kafka import admin_port as port
from kafkactl.kafka.limits import BROKER_DEFAULT_MAX_MESSAGE_BYTES, MAX_MESSAGE_BYTES
from kafkactl.kafka.ports import TopicPartition
from tests.fakes.cluster import FakeBrokerError, FakeCluster

BROKER = port.BrokerNode(1, "localhost", 9092)
# Every topic config the fake knows, with its default (a key outside: "not a config").
TOPIC_DEFAULTS = {
    "cleanup.policy": "delete",
    "retention.ms": "604800000",
    "retention.bytes": "-1",
    "min.insync.replicas": "1",
    MAX_MESSAGE_BYTES: str(BROKER_DEFAULT_MAX_MESSAGE_BYTES),
}
BROKER_CONFIGS = {
    "num.partitions": port.ConfigEntry("3", "STATIC_BROKER_CONFIG", True, False),
    "log.retention.hours": port.ConfigEntry("168", "DEFAULT_CONFIG", True, False),
    "ssl.key.password": port.ConfigEntry("secret", "STATIC_BROKER_CONFIG", True, True),
}


@dataclass
class AdminState:
    """What the changing admin requests did to a FakeCluster (kept on the cluster, so every
    FakeAdmin of it sees the same): records deleted below a low mark, deleted topics, ..."""

    lows: dict[TopicPartition, int] = field(default_factory=dict)
    deleted_topics: set[str] = field(default_factory=set)
    deleted_groups: set[str] = field(default_factory=set)
    deleted_offsets: set[tuple[str, TopicPartition]] = field(default_factory=set)
    added_partitions: dict[str, int] = field(default_factory=dict)
    refuse: dict[str, str] = field(default_factory=dict)  # topic or group -> error name


def admin_state(cluster: FakeCluster) -> AdminState:
    """The cluster's AdminState (made on first use)."""
    state: AdminState = cluster.__dict__.setdefault("admin_state", AdminState())
    return state


class FakeAdmin:
    """AdminPort over a FakeCluster; `fail_next(method, n)` makes the next n calls raise."""

    def __init__(self, cluster: FakeCluster) -> None:
        self.cluster = cluster
        self.closed = False
        self.calls: dict[str, int] = {}
        self._failures: dict[str, int] = {}
        cluster.admins.append(self)

    def fail_next(self, method: str, n: int = 1) -> None:
        """The next `n` calls of `method` (e.g. "list_offsets") raise FakeBrokerError."""
        self._failures[method] = self._failures.get(method, 0) + n

    def _call(self, method: str) -> None:
        self.calls[method] = self.calls.get(method, 0) + 1
        if self._failures.get(method):
            self._failures[method] -= 1
            raise FakeBrokerError(f"REQUEST_TIMED_OUT: {method} (injected)")

    def describe_cluster(self) -> port.ClusterMetadata:
        """One broker, which is also the controller."""
        self._call("describe_cluster")
        return port.ClusterMetadata("fake-cluster", 1, (BROKER,))

    def describe_topics(self, names: list[str]) -> list[port.TopicInfo]:
        """Each topic's partitions, all led by broker 1; a missing topic: exists=False."""
        self._call("describe_topics")
        out = []
        for name in names:
            count = self.cluster.partitions(name)
            partitions = tuple(port.PartitionInfo(p, 1, (1,), (1,)) for p in range(count))
            out.append(port.TopicInfo(name, partitions, exists=bool(count)))
        return out

    def create_topics(self, topics: list[port.NewTopicSpec]) -> list[port.TopicAnswer]:
        """Create each topic; one that exists is answered port.TOPIC_ALREADY_EXISTS."""
        self._call("create_topics")
        answers = []
        for topic in topics:
            name, limit = topic.name, topic.configs.get(MAX_MESSAGE_BYTES)
            if self.cluster.create_topic(name, topic.partitions):
                if limit is not None:
                    self.cluster.max_message_bytes[name] = int(limit)
                self.cluster.topic_configs[name] = dict(topic.configs)
                answers.append(port.TopicAnswer(name, 0, None, topic.partitions, topic.replication))
            else:
                code, message = port.TOPIC_ALREADY_EXISTS, "TopicAlreadyExistsError"
                answers.append(port.TopicAnswer(name, code, message, None, None))
        return answers

    def max_message_bytes(self, names: list[str]) -> dict[str, int]:
        """Each existing topic's max.message.bytes (the broker default unless set)."""
        self._call("max_message_bytes")
        return {
            n: self.cluster.max_message_bytes.get(n, BROKER_DEFAULT_MAX_MESSAGE_BYTES)
            for n in names
            if self.cluster.partitions(n)
        }

    def effective_configs(
        self, names: list[str], keys: list[str]
    ) -> dict[str, dict[str, port.TopicConfig]]:
        """`keys` of each existing topic as set on it (overridden), else the broker's default."""
        self._call("effective_configs")
        defaults = {"cleanup.policy": "delete", "retention.ms": "604800000"}
        defaults["retention.bytes"] = "-1"
        defaults["min.insync.replicas"] = "1"
        defaults[MAX_MESSAGE_BYTES] = str(BROKER_DEFAULT_MAX_MESSAGE_BYTES)
        out: dict[str, dict[str, port.TopicConfig]] = {}
        for name in names:
            if not self.cluster.partitions(name):
                continue
            mine = dict(self.cluster.topic_configs.get(name, {}))
            if name in self.cluster.max_message_bytes:
                mine[MAX_MESSAGE_BYTES] = str(self.cluster.max_message_bytes[name])
            out[name] = {
                k: port.TopicConfig(mine[k], True)
                if k in mine
                else port.TopicConfig(defaults.get(k), False)
                for k in keys
            }
        return out

    def list_offsets(
        self, partitions: list[TopicPartition], latest: bool
    ) -> dict[TopicPartition, int]:
        """The end (latest) or first retained offset of each partition."""
        self._call("list_offsets")
        cluster, lows = self.cluster, admin_state(self.cluster).lows
        return {
            TopicPartition(*tp): cluster.end_offset(tp)
            if latest
            else lows.get(TopicPartition(*tp), cluster.begin_offset(tp))
            for tp in partitions
        }

    def topic_configs(self, name: str) -> dict[str, str]:
        """The configs set on the topic (those that differ from the broker's defaults)."""
        self._call("topic_configs")
        return dict(self.cluster.topic_configs.get(name, {}))

    def offsets_for_time(
        self, partitions: list[TopicPartition], ms: int
    ) -> dict[TopicPartition, int]:
        """The first offset at or after `ms` per partition (the end offset when none is)."""
        self._call("offsets_for_time")
        return {TopicPartition(*tp): self.cluster.offset_for_time(tp, ms) for tp in partitions}

    def committed(
        self, group: str, partitions: list[TopicPartition], timeout: float = 15.0
    ) -> dict[TopicPartition, port.Committed | None]:
        """The group's committed offset and metadata per partition (None: nothing committed)."""
        self._call("committed")
        return {TopicPartition(*tp): self.cluster.committed(group, tp) for tp in partitions}

    def topic_names(self) -> list[str]:
        """Every topic's name, sorted."""
        self._call("topic_names")
        return self.cluster.topics()

    def list_groups(self) -> list[port.GroupListing]:
        """Every group with commits or members, `Stable` or `Empty` like describe_group."""
        self._call("list_groups")
        return [
            port.GroupListing(g, "Stable" if self.cluster.members.get(g) else "Empty", "consumer")
            for g in self.cluster.groups()
        ]

    def describe_group(self, group: str) -> port.GroupState:
        """`Stable` with the members set in `cluster.members`; `Empty` without members but
        with commits; `Dead` (no members) for a group the cluster never heard of."""
        self._call("describe_group")
        members = list(self.cluster.members.get(group, []))
        state = "Stable" if members else "Empty" if self.cluster.group_commits(group) else "Dead"
        return port.GroupState(group, state, members)

    def group_offsets(self, group: str) -> dict[TopicPartition, port.Committed]:
        """Every offset the group has committed, with its metadata."""
        self._call("group_offsets")
        return self.cluster.group_commits(group)

    def alter_group_offsets(
        self, group: str, offsets: dict[TopicPartition, int]
    ) -> dict[TopicPartition, str | None]:
        """Commit the offsets for the group (from outside it, as the admin does)."""
        self._call("alter_group_offsets")
        self.cluster.commit(group, offsets, None)
        return dict.fromkeys(offsets)

    # --- the changing requests (kafka.admin_changes) -------------------------------------------

    def delete_topics(self, names: list[str]) -> dict[str, str | None]:
        """Mark topics deleted (recorded in AdminState); a refused one answers its error."""
        self._call("delete_topics")
        state = admin_state(self.cluster)
        return _mark_deleted(names, state.refuse, state.deleted_topics)

    def config_entries(self, kind: port.ConfigKind, name: str) -> dict[str, port.ConfigEntry]:
        """A topic's configs (TOPIC_DEFAULTS, overridden by those set) or BROKER_CONFIGS."""
        self._call("config_entries")
        if kind == "broker":
            return dict(BROKER_CONFIGS)
        mine = self.cluster.topic_configs.get(name, {})
        return {
            key: port.ConfigEntry(mine[key], "DYNAMIC_TOPIC_CONFIG", False, False)
            if key in mine
            else port.ConfigEntry(default, "DEFAULT_CONFIG", False, False)
            for key, default in TOPIC_DEFAULTS.items()
        }

    def alter_topic_configs(
        self, topic: str, set_values: dict[str, str], delete: list[str]
    ) -> str | None:
        """Set and delete the topic's configs; a refused topic answers its error."""
        self._call("alter_topic_configs")
        refused = admin_state(self.cluster).refuse.get(topic)
        if refused:
            return refused
        mine = self.cluster.topic_configs.setdefault(topic, {})
        mine.update(set_values)
        for key in delete:
            mine.pop(key, None)
        return None

    def create_partitions(self, topic: str, count: int) -> str | None:
        """Record the new count (the fake's logs keep their partitions)."""
        self._call("create_partitions")
        refused = admin_state(self.cluster).refuse.get(topic)
        if refused:
            return refused
        admin_state(self.cluster).added_partitions[topic] = count
        return None

    def delete_records(self, before: dict[TopicPartition, int]) -> dict[TopicPartition, int]:
        """Move each partition's low mark up to the offset given."""
        self._call("delete_records")
        lows = admin_state(self.cluster).lows
        for tp, offset in before.items():
            lows[tp] = max(lows.get(tp, 0), offset)
        return {tp: lows[tp] for tp in before}

    def delete_groups(self, groups: list[str]) -> dict[str, str | None]:
        """Mark groups deleted; a refused one answers its error."""
        self._call("delete_groups")
        state = admin_state(self.cluster)
        return _mark_deleted(groups, state.refuse, state.deleted_groups)

    def delete_group_offsets(
        self, group: str, partitions: list[TopicPartition]
    ) -> dict[TopicPartition, str | None]:
        """Mark the group's offsets on `partitions` deleted."""
        self._call("delete_group_offsets")
        state = admin_state(self.cluster)
        state.deleted_offsets.update((group, tp) for tp in partitions)
        return dict.fromkeys(partitions)

    def broker_versions(self, broker_ids: list[int]) -> list[port.BrokerVersion]:
        """Every broker answers as Kafka 4.1."""
        self._call("broker_versions")
        return [port.BrokerVersion(b, "4.1", False) for b in broker_ids]

    def finalized_features(self) -> dict[str, int]:
        """A KRaft cluster's metadata.version."""
        self._call("finalized_features")
        return {"metadata.version": 27}

    def close(self) -> None:
        """Nothing to release; remembered for assertions."""
        self.closed = True


def _mark_deleted(
    names: list[str], refuse: dict[str, str], deleted: set[str]
) -> dict[str, str | None]:
    """Each name's answer (its refusal, or None); those not refused join `deleted`."""
    out: dict[str, str | None] = {}
    for name in names:
        out[name] = refuse.get(name)
        if out[name] is None:
            deleted.add(name)
    return out
