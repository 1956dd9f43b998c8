"""`cluster describe` over the fake admin: brokers, controller, versions, marked configs."""

from __future__ import annotations

from kafkactl.admin.cluster import describe_cluster
from tests.fakes import FakeCluster


def test_cluster_describe_without_and_with_configs() -> None:
    admin = FakeCluster().connect_admin()
    info = describe_cluster(admin, configs=False)
    assert (info.cluster_id, info.controller_id, info.metadata_version) == ("fake-cluster", 1, 27)
    broker = info.brokers[0]
    assert (broker.broker_id, broker.host, broker.port, broker.rack) == (1, "localhost", 9092, None)
    assert broker.controller and broker.version == "4.1" and broker.configs is None
    assert not admin.calls.get("config_entries")

    configs = {c.name: c for c in describe_cluster(admin, configs=True).brokers[0].configs or []}
    assert configs["num.partitions"].non_default
    assert not configs["log.retention.hours"].non_default
    assert configs["ssl.key.password"].value == "*****"
    assert describe_cluster(admin, configs=True).as_dict()["metadata_version"] == 27
