"""topics describe: each partition's state from its leader and ISR."""

from __future__ import annotations

from kafkactl.admin.topics import PartitionRow, TopicDetail


def test_a_partition_is_offline_without_a_leader_and_shrunk_with_a_replica_out_of_sync() -> None:
    rows = [
        PartitionRow(0, 1, [1, 2, 3], [1, 2, 3], 0, 5),
        PartitionRow(1, 2, [1, 2, 3], [2, 1], 0, 5),
        PartitionRow(2, -1, [1, 2, 3], [], 0, 5),
    ]

    assert [r.state for r in rows] == ["ok", "isr-shrunk", "offline"]
    detail = TopicDetail("orders", "main", rows).as_dict()
    assert [p["state"] for p in detail["partitions"]] == ["ok", "isr-shrunk", "offline"]
