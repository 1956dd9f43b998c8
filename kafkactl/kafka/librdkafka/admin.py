"""The admin port on confluent-kafka's AdminClient (DESIGN §3.6): topics, cluster, offsets and
groups read into the port's types, so a librdkafka run that reads no group's commits (consume
without a group, produce, topics, health without -g) never loads kafka-python.

What confluent-kafka cannot do goes to kafka-python's admin client, made (and imported) only
when first asked (`fallback`): reading committed offsets with their metadata (confluent-kafka
reads metadata as a C string: metadata another client wrote comes back with the bytes that
follow it, or fails to decode), a group's offset deletion, a broker's ApiVersions and the
cluster's finalized features (no such requests).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kafkactl.config import Settings
from kafkactl.kafka import admin_port as port
from kafkactl.kafka.librdkafka.admin_calls import (
    GROUP_ID_NOT_FOUND,
    error_name,
    error_text,
    is_error,
    rdadmin,
)
from kafkactl.kafka.librdkafka.admin_changes import LibrdkafkaAdminChanges
from kafkactl.kafka.limits import MAX_MESSAGE_BYTES
from kafkactl.kafka.ports import TopicPartition

# ConsumerGroupState names as the protocol (and kafka-python) spells them.
_GROUP_STATES = {
    "STABLE": "Stable",
    "EMPTY": "Empty",
    "DEAD": "Dead",
    "PREPARING_REBALANCING": "PreparingRebalance",
    "COMPLETING_REBALANCING": "CompletingRebalance",
    "UNKNOWN": "Unknown",
}


class LibrdkafkaAdmin(LibrdkafkaAdminChanges):
    """A connected AdminClient. Methods raise kafkactl errors only for what users can fix."""

    @classmethod
    def connect(cls, settings: Settings, fallback: Callable[[], port.AdminPort]) -> LibrdkafkaAdmin:
        """A connected admin client; exits 3 when the cluster stays unreachable."""
        rd = rdadmin()

        from kafkactl.kafka.librdkafka.config import admin_config
        from kafkactl.kafka.librdkafka.connect import connect

        config = admin_config(settings)
        client = connect(
            settings,
            lambda error_cb: rd.AdminClient({**config, "error_cb": error_cb}),
            lambda _client: None,  # an AdminClient has nothing to close
            "the cluster",
        )
        return cls(client, max(settings.connect_timeout, 5.0), fallback)

    def describe_cluster(self) -> port.ClusterMetadata:
        """The cluster id, controller and brokers (fenced brokers are not listed)."""
        answer = self.calls.one(
            "describing the cluster",
            lambda timeout: self._client.describe_cluster(request_timeout=timeout),
            to_controller=True,
        )
        brokers = sorted(
            (port.BrokerNode(n.id, n.host or "", int(n.port or 0), n.rack) for n in answer.nodes),
            key=lambda b: b.broker_id,
        )
        controller = answer.controller.id if answer.controller is not None else None
        return port.ClusterMetadata(answer.cluster_id, controller, tuple(brokers))

    def describe_topics(self, names: list[str]) -> list[port.TopicInfo]:
        """Each topic's partitions (an unknown topic: exists=False)."""
        from confluent_kafka import TopicCollection

        if not names:
            return []
        unique = list(dict.fromkeys(names))
        answers = self.calls.gather(
            lambda timeout: self._client.describe_topics(
                TopicCollection(unique), request_timeout=timeout
            ),
            to_controller=True,
        )
        found = {name: _topic_info(name, answers.get(name)) for name in unique}
        return [found[name] for name in names]

    def topic_names(self) -> list[str]:
        """Every topic's name, internal ones included."""
        answer = self.calls.one(
            "listing topics", lambda timeout: _done(self._client.list_topics(timeout=timeout))
        )
        return sorted(answer.topics)

    def create_topics(self, topics: list[port.NewTopicSpec]) -> list[port.TopicAnswer]:
        """Ask the broker to create the topics; one answer per topic, in order."""
        rd = rdadmin()
        if not topics:
            return []
        new = [rd.NewTopic(t.name, t.partitions, t.replication, config=t.configs) for t in topics]
        answers = self.calls.gather(
            lambda timeout: self._client.create_topics(
                new, operation_timeout=timeout, request_timeout=timeout
            ),
            to_controller=True,
        )
        out = []
        for topic in topics:
            name = topic.name
            answer: Any = answers.get(name)
            if name not in answers:
                out.append(port.TopicAnswer(name, -1, "no answer from the cluster", None, None))
            elif is_error(answer):
                message = str(answer.str() or "") or error_name(answer)
                out.append(port.TopicAnswer(name, int(answer.code()), message, None, None))
            else:
                out.append(port.TopicAnswer(name, 0, None, topic.partitions, topic.replication))
        return out

    def max_message_bytes(self, names: list[str]) -> dict[str, int]:
        """Each existing topic's effective max.message.bytes (missing topics are left out)."""
        return port.max_message_bytes_of(self.effective_configs(names, [MAX_MESSAGE_BYTES]))

    def effective_configs(
        self, names: list[str], keys: list[str]
    ) -> dict[str, dict[str, port.TopicConfig]]:
        """The effective value of `keys` for each existing topic, defaults included."""
        out: dict[str, dict[str, port.TopicConfig]] = {}
        for name, entries in self._topic_entries(list(dict.fromkeys(names))).items():
            out[name] = {
                key: port.TopicConfig(entry.value, entry.source in port.TOPIC_CONFIG_SOURCES)
                for key, entry in entries.items()
                if key in keys
            }
        return out

    def topic_configs(self, name: str) -> dict[str, str]:
        """The topic's configs that differ from the broker's defaults."""
        from kafkactl.kafka.admin_port import INHERITED_SOURCES

        entries = self._topic_entries([name]).get(name, {})
        return {
            key: str(entry.value)
            for key, entry in entries.items()
            if entry.source not in INHERITED_SOURCES and entry.value is not None
        }

    def list_offsets(
        self, partitions: list[TopicPartition], latest: bool
    ) -> dict[TopicPartition, int]:
        """The end (latest) or first retained offset of each partition."""
        rd = rdadmin()

        spec = rd.OffsetSpec.latest() if latest else rd.OffsetSpec.earliest()
        return self._offsets(partitions, lambda _tp: spec)

    def offsets_for_time(
        self, partitions: list[TopicPartition], ms: int
    ) -> dict[TopicPartition, int]:
        """The first offset at or after `ms` per partition (the end offset when none is)."""
        rd = rdadmin()

        found = self._offsets(partitions, lambda _tp: rd.OffsetSpec.for_timestamp(int(ms)))
        missing = [tp for tp, offset in found.items() if offset < 0]
        ends = self.list_offsets(missing, latest=True) if missing else {}
        return {tp: ends.get(tp, offset) if offset < 0 else offset for tp, offset in found.items()}

    def _offsets(
        self, partitions: list[TopicPartition], spec: Callable[[TopicPartition], Any]
    ) -> dict[TopicPartition, int]:
        """ListOffsets for each partition with the spec given."""
        from confluent_kafka import TopicPartition as RdTP

        if not partitions:
            return {}
        request = {RdTP(tp.topic, tp.partition): spec(tp) for tp in dict.fromkeys(partitions)}
        answers = self.calls.each(
            "listing offsets",
            lambda timeout: self._client.list_offsets(request, request_timeout=timeout),
        )
        found = {TopicPartition(k.topic, k.partition): int(v.offset) for k, v in answers.items()}
        return {TopicPartition(*tp): found[TopicPartition(*tp)] for tp in partitions}

    def committed(
        self, group: str, partitions: list[TopicPartition], timeout: float = 15.0
    ) -> dict[TopicPartition, port.Committed | None]:
        """The group's committed offset and metadata per partition (None: nothing committed),
        through kafka-python: confluent-kafka reads commit metadata as a C string, so metadata
        another client wrote (without a NUL) comes back with whatever bytes follow it."""
        return self.fallback().committed(group, partitions, timeout)

    def group_offsets(self, group: str) -> dict[TopicPartition, port.Committed]:
        """Every offset the group has committed, with its metadata (through kafka-python, as
        `committed`)."""
        return self.fallback().group_offsets(group)

    def list_groups(self) -> list[port.GroupListing]:
        """Every consumer group the cluster knows, with its state."""
        answer = self.calls.one(
            "listing groups",
            lambda timeout: self._client.list_consumer_groups(request_timeout=timeout),
        )
        return sorted(
            port.GroupListing(
                g.group_id,
                _group_state(g.state),
                "" if g.is_simple_consumer_group else "consumer",
            )
            for g in answer.valid
        )

    def describe_group(self, group: str) -> port.GroupState:
        """The group's state and its members' assignments (`Dead`: no such group)."""
        answers = self.calls.gather(
            lambda timeout: self._client.describe_consumer_groups([group], request_timeout=timeout)
        )
        answer: Any = answers[group]
        if is_error(answer):
            if int(answer.code()) == GROUP_ID_NOT_FOUND:
                return port.GroupState(group, "Dead", [])
            from kafkactl.kafka.admin_port import AdminError

            raise AdminError(f"describing group {group}: {error_text(answer)}")
        members = [
            port.GroupMember(
                m.member_id or "",
                m.client_id or "",
                (m.host or "").lstrip("/"),
                sorted(
                    TopicPartition(tp.topic, tp.partition)
                    for tp in (m.assignment.topic_partitions if m.assignment else [])
                ),
            )
            for m in answer.members or []
        ]
        return port.GroupState(group, _group_state(answer.state), members)

    def alter_group_offsets(
        self, group: str, offsets: dict[TopicPartition, int]
    ) -> dict[TopicPartition, str | None]:
        """Set the group's committed offsets; per partition the error's name, None when done."""
        from confluent_kafka import ConsumerGroupTopicPartitions
        from confluent_kafka import TopicPartition as RdTP

        request = [
            ConsumerGroupTopicPartitions(
                group, [RdTP(tp.topic, tp.partition, offset) for tp, offset in offsets.items()]
            )
        ]
        answer = self.calls.each(
            f"setting the offsets of group {group}",
            lambda t: self._client.alter_consumer_group_offsets(request, request_timeout=t),
        )[group]
        out: dict[TopicPartition, str | None] = dict.fromkeys(offsets)
        for tp in answer.topic_partitions or []:
            out[TopicPartition(tp.topic, tp.partition)] = (
                None if tp.error is None else error_name(tp.error)
            )
        return out


def _done(value: Any) -> Any:
    """A finished future holding `value` (for the few calls that answer synchronously)."""
    from concurrent.futures import Future

    future: Future[Any] = Future()
    future.set_result(value)
    return future


def _topic_info(name: str, answer: Any) -> port.TopicInfo:
    """A port.TopicInfo from confluent-kafka's TopicDescription (an error: the topic is missing)."""
    if answer is None or is_error(answer):
        return port.TopicInfo(name, (), exists=False)
    partitions = tuple(
        port.PartitionInfo(
            p.id,
            p.leader.id if p.leader is not None else -1,
            tuple(n.id for n in p.replicas),
            tuple(n.id for n in p.isr),
        )
        for p in sorted(answer.partitions, key=lambda p: p.id)
    )
    return port.TopicInfo(name, partitions, internal=bool(answer.is_internal))


def _group_state(state: Any) -> str:
    """A ConsumerGroupState as the protocol names it (Stable, Empty, ...)."""
    name = getattr(state, "name", str(state))
    return _GROUP_STATES.get(name, name.title())
