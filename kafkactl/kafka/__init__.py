"""The Kafka adapter layer: the only package that imports a Kafka client library (DESIGN §2.4).

The rest of kafkactl asks this module for clients and talks to them through the ports of
`kafkactl.kafka.ports`. Two engines implement them: `kafka-python` (always installed) and
`librdkafka` (confluent-kafka, the `kafkactl[fast]` extra), each with its own admin client
(`kafkactl.kafka.admin_port`). Nothing here imports a Kafka library until a client is asked for.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, TypeVar

from kafkactl.errors import ConfigError
from kafkactl.kafka.ports import (
    ENGINES,
    CommitCallback,
    ConsumedRecord,
    ConsumerPort,
    Delivery,
    DeliveryCallback,
    EncodedBatch,
    EngineName,
    Headers,
    Offsets,
    ProducerPort,
    RebalanceListener,
    Record,
    RecordEncoder,
    TopicPartition,
)

if TYPE_CHECKING:
    from kafkactl.config import Settings
    from kafkactl.kafka.admin_port import AdminPort

T = TypeVar("T")

__all__ = [
    "ENGINES",
    "CommitCallback",
    "ConsumedRecord",
    "ConsumerPort",
    "Delivery",
    "DeliveryCallback",
    "EncodedBatch",
    "EngineName",
    "Headers",
    "Offsets",
    "ProducerPort",
    "RebalanceListener",
    "Record",
    "RecordEncoder",
    "TopicPartition",
    "connect_admin",
    "connect_consumer",
    "connect_producer",
    "engine_name",
    "versions",
]

INSTALL_FAST = "pip install 'kafkactl[fast]' (or: pip install confluent-kafka)"


@cache
def librdkafka_available() -> bool:
    """confluent-kafka (with its bundled librdkafka) imports here."""
    try:
        importlib.import_module("confluent_kafka")
    except ImportError:
        return False
    return True


def engine_name(settings: Settings) -> EngineName:
    """The engine the settings ask for: `auto` is librdkafka when installed, else kafka-python."""
    choice = settings.engine
    if choice == "kafka-python":
        return "kafka-python"
    if librdkafka_available():
        return "librdkafka"
    if choice == "librdkafka":
        source = settings.sources.get("engine", "default")
        label = "--engine" if source == "flag" else "KAFKA_ENGINE"
        raise ConfigError(
            label,
            source,
            f"the librdkafka engine needs confluent-kafka, which is not installed; install it "
            f"with: {INSTALL_FAST} — or use --engine kafka-python",
        )
    return "kafka-python"


def connect_producer(settings: Settings, errors_only: bool = False) -> ProducerPort:
    """A connected producer of the configured engine; exits 3 when unreachable.

    `errors_only` asks for failure reports only, where the engine can (see ProducerPort).
    """
    if engine_name(settings) == "librdkafka":
        from kafkactl.kafka.librdkafka.producer import LibrdkafkaProducer

        return LibrdkafkaProducer.connect(settings, errors_only)
    from kafkactl.kafka.kafka_python.producer import KafkaPythonProducer

    return KafkaPythonProducer.connect(settings)


def connect_consumer(
    settings: Settings,
    group: str | None,
    on_commit: CommitCallback | None = None,
    read_committed: bool = False,
    bulk: bool = False,
) -> ConsumerPort:
    """A connected consumer of the configured engine (in `group`, or none); `bulk` for a
    read straight through whose records are printed and dropped (a deeper prefetch)."""
    if engine_name(settings) == "librdkafka":
        from kafkactl.kafka.librdkafka.consumer import LibrdkafkaConsumer

        return LibrdkafkaConsumer.connect(settings, group, on_commit, read_committed, bulk)
    from kafkactl.kafka.kafka_python.consumer import KafkaPythonConsumer

    return KafkaPythonConsumer.connect(settings, group, on_commit, read_committed, bulk)


def connect_admin(settings: Settings) -> AdminPort:
    """A connected admin client of the configured engine; exits 3 when unreachable."""
    if engine_name(settings) == "librdkafka":
        from kafkactl.kafka.librdkafka.admin import LibrdkafkaAdmin

        return LibrdkafkaAdmin.connect(settings, lambda: _kafka_python_admin(settings))
    return _kafka_python_admin(settings)


def _kafka_python_admin(settings: Settings) -> AdminPort:
    """kafka-python's admin client (the librdkafka engine's, for what confluent-kafka lacks)."""
    from kafkactl.kafka.kafka_python.admin import KafkaPythonAdmin

    return KafkaPythonAdmin.connect(settings)


def with_admin(settings: Settings, work: Callable[[AdminPort], T]) -> T:
    """Run `work` with a connected admin client, closed afterwards whatever happens."""
    admin = connect_admin(settings)
    try:
        return work(admin)
    finally:
        admin.close()


def versions() -> dict[str, str | None]:
    """Installed client libraries and their versions (None: not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {}
    for package in ("kafka-python", "confluent-kafka"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = None
    if out["confluent-kafka"] is not None and librdkafka_available():
        import confluent_kafka

        out["librdkafka"] = confluent_kafka.libversion()[0]
    return out
