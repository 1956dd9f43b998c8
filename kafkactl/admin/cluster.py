"""`cluster describe`: the cluster id, controller, brokers with racks, what version they run,
and (asked for) each broker's configs with the ones someone set marked.

The Kafka version: a broker does not state its release in any request a client may send, so
each broker's is read from its ApiVersions answer (the newest release whose API versions it
matches, as kafka-python infers it; "at least" when the broker is newer than that table), and
the cluster's finalized `metadata.version` feature level is shown beside it (KRaft clusters:
what the cluster as a whole runs at). `inter.broker.protocol.version` is gone in Kafka 4.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from kafkactl.kafka.admin_port import BrokerVersion, ClusterMetadata, ConfigEntry, ConfigKind

# Sources meaning an operator set the value (server.properties or a dynamic change).
SET_SOURCES = frozenset(
    {"STATIC_BROKER_CONFIG", "DYNAMIC_BROKER_CONFIG", "DYNAMIC_DEFAULT_BROKER_CONFIG"}
)


class ClusterAdmin(Protocol):
    """What `cluster describe` needs from the admin port."""

    def describe_cluster(self) -> ClusterMetadata: ...
    def broker_versions(self, broker_ids: list[int]) -> list[BrokerVersion]: ...
    def finalized_features(self) -> dict[str, int]: ...
    def config_entries(self, kind: ConfigKind, name: str) -> dict[str, ConfigEntry]: ...


@dataclass
class BrokerConfig:
    """One broker config: value (masked when sensitive), source, set by someone or default."""

    name: str
    value: str | None
    source: str
    non_default: bool
    read_only: bool


@dataclass
class BrokerInfo:
    """One broker: where it listens, its rack, what version it answers as, and its configs."""

    broker_id: int
    host: str
    port: int
    rack: str | None
    controller: bool
    version: str | None
    version_at_least: bool
    configs: list[BrokerConfig] | None = None


@dataclass
class ClusterInfo:
    """`cluster describe`."""

    cluster_id: str | None
    controller_id: int | None
    brokers: list[BrokerInfo] = field(default_factory=list)
    features: dict[str, int] = field(default_factory=dict)

    @property
    def metadata_version(self) -> int | None:
        """The finalized metadata.version feature level (KRaft), None when not told."""
        return self.features.get("metadata.version")

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {**asdict(self), "metadata_version": self.metadata_version}


def describe_cluster(admin: ClusterAdmin, configs: bool) -> ClusterInfo:
    """The cluster's id, controller, brokers (with version, and configs when `configs`)."""
    answer = admin.describe_cluster()
    controller = answer.controller_id
    brokers = sorted(answer.brokers, key=lambda b: b.broker_id)
    versions = {v.broker_id: v for v in admin.broker_versions([b.broker_id for b in brokers])}
    info = ClusterInfo(answer.cluster_id, controller, features=admin.finalized_features())
    for b in brokers:
        found = versions.get(b.broker_id)
        broker = BrokerInfo(
            b.broker_id,
            b.host,
            b.port,
            b.rack,
            b.broker_id == controller,
            found.version if found else None,
            found.at_least if found else False,
        )
        if configs:
            broker.configs = broker_configs(admin, b.broker_id)
        info.brokers.append(broker)
    return info


def broker_configs(admin: ClusterAdmin, broker_id: int) -> list[BrokerConfig]:
    """Every config of one broker, sorted by name; sensitive values masked."""
    entries = admin.config_entries("broker", str(broker_id))
    return [
        BrokerConfig(
            name,
            "*****" if entry.sensitive and entry.value is not None else entry.value,
            entry.source,
            entry.source in SET_SOURCES,
            entry.read_only,
        )
        for name, entry in sorted(entries.items())
    ]
