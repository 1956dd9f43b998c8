"""`dlq purge` planning over the fake cluster: the replayed prefix, parked records, progress
remembered above the first record left, the lease, and what --execute deletes."""

from __future__ import annotations

import pytest

from kafkactl import headers as hdr
from kafkactl.errors import OptionError, UsageError
from kafkactl.kafka.admin_port import GroupMember
from kafkactl.kafka.ports import TopicPartition as TP
from kafkactl.ranges import RangeSet
from kafkactl.replay.checkpoint import Fence, encode_progress
from kafkactl.replay.purge import ReplayInProgress, execute_purge, plan_purge
from kafkactl.topology import replay_group, replay_lease_group
from tests.fakes import FakeCluster
from tests.fakes.admin import FakeAdmin, admin_state
from tests.unit.replay_samples import SETTINGS, kafkactl_headers

DLQ = "orders.billing.dlq"
GROUP = replay_group(DLQ)


@pytest.fixture
def cluster() -> FakeCluster:
    cluster = FakeCluster()
    cluster.create_topic(DLQ, 3)
    for offset in range(10):
        count = 3 if offset == 6 else 0  # partition 1, offset 6: replayed 3 times already
        cluster.produce(DLQ, b"v", headers=kafkactl_headers(), partition=0)
        extra = {hdr.REPLAY_COUNT: count} if count else {}
        cluster.produce(DLQ, b"v", headers=kafkactl_headers(**extra), partition=1)
    return cluster


def _commit(cluster: FakeCluster, tp: TP, offset: int, done=(), fence=None) -> None:
    metadata = encode_progress(offset, RangeSet(list(done)), fence)
    cluster.commit(GROUP, {tp: offset}, {tp: metadata})


def _plan(cluster: FakeCluster, admin: FakeAdmin, **kw):
    return plan_purge(
        SETTINGS, admin, DLQ, GROUP, 3, connect_consumer=cluster.connect_consumer, **kw
    )


def test_the_prefix_stops_at_the_committed_offset_or_a_parked_record(cluster) -> None:
    admin = cluster.connect_admin()
    _commit(cluster, TP(DLQ, 0), 4, done=[(6, 7)])  # 4 filtered out, 6-7 replayed after it
    _commit(cluster, TP(DLQ, 1), 10)  # all done, but offset 6 was parked
    plan = _plan(cluster, admin)
    rows = {r.partition: r for r in plan.rows}
    assert (rows[0].delete_to, rows[0].deleted, rows[0].replayed_above) == (4, 4, 2)
    assert rows[0].kept_because.startswith("offset 4 not replayed yet")
    assert "2 copied record(s) above it stay" in rows[0].kept_because
    assert (rows[1].delete_to, rows[1].deleted) == (6, 6)
    assert "offset 6 was parked (replayed 3 times already)" in rows[1].kept_because
    assert (rows[2].committed, rows[2].delete_to, rows[2].kept_because) == (None, 0, "")
    assert (plan.deleted, plan.kept) == (10, 10)
    assert not admin_state(cluster).lows, "the plan deleted something"

    execute_purge(admin, plan)
    assert admin_state(cluster).lows == {TP(DLQ, 0): 4, TP(DLQ, 1): 6}
    again = _plan(cluster, admin)
    assert again.deleted == 0 and {r.status for r in again.rows} == {"unchanged"}


def test_a_higher_max_replays_keeps_nothing_back(cluster) -> None:
    admin = cluster.connect_admin()
    _commit(cluster, TP(DLQ, 1), 10)
    plan = plan_purge(
        SETTINGS, admin, DLQ, GROUP, 4, [1], connect_consumer=cluster.connect_consumer
    )
    assert [(r.partition, r.delete_to, r.kept_because) for r in plan.rows] == [(1, 10, "")]


def test_no_progress_keeps_everything_and_a_fence_is_reported(cluster) -> None:
    admin = cluster.connect_admin()
    plan = _plan(cluster, admin)
    assert plan.deleted == 0
    assert "no progress" in plan.rows[0].kept_because
    _commit(cluster, TP(DLQ, 0), 3, fence=Fence(1, ("orders",)))
    assert _plan(cluster, admin).interrupted_replay


def test_refused_while_a_replay_holds_the_lease(cluster) -> None:
    admin = cluster.connect_admin()
    _commit(cluster, TP(DLQ, 0), 5)
    cluster.members[replay_lease_group(GROUP)] = [GroupMember("m", "kafkactl", "host-a", [])]
    with pytest.raises(ReplayInProgress, match=r"a replay of orders\.billing\.dlq is running"):
        _plan(cluster, admin)
    assert not admin.calls.get("delete_records")


def test_bad_names(cluster) -> None:
    admin = cluster.connect_admin()
    with pytest.raises(UsageError, match="belong to Kafka itself"):
        plan_purge(SETTINGS, admin, "__consumer_offsets", GROUP, 3)
    with pytest.raises(UsageError, match="does not exist"):
        plan_purge(SETTINGS, admin, "nope", GROUP, 3)
    with pytest.raises(OptionError):
        _plan(cluster, admin, partitions=[9])
