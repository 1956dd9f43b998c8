"""FakeAdmin: kafkactl's Admin port over a FakeCluster, in the shapes kafka-python answers."""

from __future__ import annotations

from typing import Any

from kafkactl.kafka.admin import (
    BROKER_DEFAULT_MAX_MESSAGE_BYTES,
    MAX_MESSAGE_BYTES,
    TOPIC_ALREADY_EXISTS,
    Admin,
    Committed,
    GroupListing,
    GroupState,
    TopicAnswer,
    TopicConfig,
)
from kafkactl.kafka.ports import TopicPartition
from tests.fakes.cluster import FakeBrokerError, FakeCluster

UNKNOWN_TOPIC_OR_PARTITION = 3
BROKER = {"broker_id": 1, "host": "localhost", "port": 9092, "rack": None}


class FakeAdmin(Admin):
    """Admin over a FakeCluster; `fail_next(method, n)` makes the next n calls raise."""

    def __init__(self, cluster: FakeCluster) -> None:
        super().__init__(client=None)
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

    def describe_cluster(self) -> dict[str, Any]:
        """One broker, which is also the controller."""
        self._call("describe_cluster")
        return {"cluster_id": "fake-cluster", "controller_id": 1, "brokers": [dict(BROKER)]}

    def describe_topics(self, names: list[str]) -> list[dict[str, Any]]:
        """Metadata entries; a missing topic has error_code UNKNOWN_TOPIC_OR_PARTITION."""
        self._call("describe_topics")
        out = []
        for name in names:
            count = self.cluster.partitions(name)
            partitions = [
                {"partition_index": p, "leader_id": 1, "replica_nodes": [1], "isr_nodes": [1]}
                for p in range(count)
            ]
            code = 0 if count else UNKNOWN_TOPIC_OR_PARTITION
            out.append({"name": name, "error_code": code, "partitions": partitions})
        return out

    def create_topics(
        self,
        names: list[str],
        partitions: int,
        replication: int,
        configs: dict[str, str],
        per_topic: dict[str, dict[str, str]] | None = None,
    ) -> list[TopicAnswer]:
        """Create each topic; one that exists is answered TOPIC_ALREADY_EXISTS."""
        self._call("create_topics")
        answers = []
        for name in names:
            config = {**configs, **(per_topic or {}).get(name, {})}
            limit = config.get(MAX_MESSAGE_BYTES)
            if self.cluster.create_topic(name, partitions):
                if limit is not None:
                    self.cluster.max_message_bytes[name] = int(limit)
                self.cluster.topic_configs[name] = dict(config)
                answers.append(TopicAnswer(name, 0, None, partitions, replication))
            else:
                message = "TopicAlreadyExistsError"
                answers.append(TopicAnswer(name, TOPIC_ALREADY_EXISTS, message, None, None))
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
    ) -> dict[str, dict[str, TopicConfig]]:
        """`keys` of each existing topic as set on it (overridden), else the broker's default."""
        self._call("effective_configs")
        defaults = {"cleanup.policy": "delete", "retention.ms": "604800000"}
        defaults["retention.bytes"] = "-1"
        defaults["min.insync.replicas"] = "1"
        defaults[MAX_MESSAGE_BYTES] = str(BROKER_DEFAULT_MAX_MESSAGE_BYTES)
        out: dict[str, dict[str, TopicConfig]] = {}
        for name in names:
            if not self.cluster.partitions(name):
                continue
            mine = dict(self.cluster.topic_configs.get(name, {}))
            if name in self.cluster.max_message_bytes:
                mine[MAX_MESSAGE_BYTES] = str(self.cluster.max_message_bytes[name])
            out[name] = {
                k: TopicConfig(mine[k], True) if k in mine else TopicConfig(defaults.get(k), False)
                for k in keys
            }
        return out

    def list_offsets(self, partitions: list[TopicPartition], latest: bool) -> dict[Any, int]:
        """The end (latest) or first retained offset of each partition."""
        self._call("list_offsets")
        cluster = self.cluster
        return {
            TopicPartition(*tp): cluster.end_offset(tp) if latest else cluster.begin_offset(tp)
            for tp in partitions
        }

    def offsets_for_time(self, partitions: list[TopicPartition], ms: int) -> dict[Any, int]:
        """The first offset at or after `ms` per partition (the end offset when none is)."""
        self._call("offsets_for_time")
        return {TopicPartition(*tp): self.cluster.offset_for_time(tp, ms) for tp in partitions}

    def committed(
        self, group: str, partitions: list[TopicPartition], timeout: float = 15.0
    ) -> dict[TopicPartition, Committed | None]:
        """The group's committed offset and metadata per partition (None: nothing committed)."""
        self._call("committed")
        return {TopicPartition(*tp): self.cluster.committed(group, tp) for tp in partitions}

    def topic_names(self) -> list[str]:
        """Every topic's name, sorted."""
        self._call("topic_names")
        return self.cluster.topics()

    def list_groups(self) -> list[GroupListing]:
        """Every group with commits or members, `Stable` or `Empty` like describe_group."""
        self._call("list_groups")
        return [
            GroupListing(g, "Stable" if self.cluster.members.get(g) else "Empty", "consumer")
            for g in self.cluster.groups()
        ]

    def describe_group(self, group: str) -> GroupState:
        """`Stable` with the members set in `cluster.members`; `Empty` without members but
        with commits; `Dead` (no members) for a group the cluster never heard of."""
        self._call("describe_group")
        members = list(self.cluster.members.get(group, []))
        state = "Stable" if members else "Empty" if self.cluster.group_commits(group) else "Dead"
        return GroupState(group, state, members)

    def group_offsets(self, group: str) -> dict[TopicPartition, Committed]:
        """Every offset the group has committed, with its metadata."""
        self._call("group_offsets")
        return self.cluster.group_commits(group)

    def close(self) -> None:
        """Nothing to release; remembered for assertions."""
        self.closed = True
