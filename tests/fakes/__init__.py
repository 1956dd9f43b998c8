"""An in-memory Kafka for unit tests: one FakeCluster, and the ports' fakes over it.

    cluster = FakeCluster()
    cluster.create_topic("orders", partitions=2)
    cluster.produce("orders", b"v", key=b"k")
    pipeline = ConsumerPipeline(
        settings, options, handler, dedupe,
        connect_consumer=cluster.connect_consumer,
        connect_publisher=cluster.connect_publisher,
        connect_cluster=cluster.connect_admin,
    )

Every fake the factories make is kept on the cluster (`consumers`, `producers`, `admins`) so a
test can reach it (e.g. to trigger a rebalance or make sends fail).
"""

from typing import TYPE_CHECKING

from tests.fakes.admin import FakeAdmin
from tests.fakes.cluster import CommitEntry, FakeBrokerError, FakeCluster
from tests.fakes.consumer import FakeConsumer
from tests.fakes.producer import FakeProducer, SentRecord

if TYPE_CHECKING:
    from kafkactl.kafka.admin_port import AdminPort
    from kafkactl.kafka.ports import ConsumerPort, ProducerPort

    def _implements_the_ports(
        c: FakeConsumer, p: FakeProducer, a: FakeAdmin
    ) -> tuple[ConsumerPort, ProducerPort, AdminPort]:
        """mypy checks that the fakes fit the ports."""
        return c, p, a


__all__ = [
    "CommitEntry",
    "FakeAdmin",
    "FakeBrokerError",
    "FakeCluster",
    "FakeConsumer",
    "FakeProducer",
    "SentRecord",
]
