"""Commits: commit points, one asynchronous commit at a time, lost partitions, closed output."""

from __future__ import annotations

import pytest

from kafkactl.consumer import commits as commits_module
from kafkactl.consumer.commits import Commits
from kafkactl.consumer.state import Partitions
from kafkactl.errors import OutputClosed
from kafkactl.handlers.base import HandlerBase
from kafkactl.kafka.ports import TopicPartition
from kafkactl.metrics import Metrics
from tests.fakes import FakeCluster, FakeConsumer

GROUP = "billing"
A = TopicPartition("orders", 0)
B = TopicPartition("orders", 1)


class Output(HandlerBase):
    """A handler's flush: fine, or closed by its reader."""

    def __init__(self) -> None:
        self.flushes = 0
        self.closed = False

    def flush(self) -> None:
        if self.closed:
            raise OutputClosed("stdout closed")
        self.flushes += 1


class Setup:
    def __init__(self, handler: HandlerBase | None = None) -> None:
        self.cluster = FakeCluster()
        self.cluster.create_topic("orders", partitions=2)
        self.consumer = FakeConsumer(self.cluster, GROUP, on_commit=self.on_commit)
        self.partitions = Partitions()
        self.metrics = Metrics()
        self.stops: list[str] = []
        handler = handler if handler is not None else HandlerBase()
        self.commits = Commits(self.partitions, GROUP, handler, self.metrics, self.stops.append)
        for tp in (A, B):
            self.partitions.add(tp)

    def on_commit(self, offsets: dict, error: BaseException | None) -> None:
        self.commits.commit_done(offsets, error)

    def done(self, tp: TopicPartition, *offsets: int) -> None:
        for offset in offsets:
            self.partitions.tracker.skip(tp, offset)

    def group_offsets(self) -> dict[TopicPartition, int]:
        return self.cluster.committed_offsets(GROUP)


def test_a_commit_stops_at_the_lowest_incomplete_offset():
    s = Setup()
    s.done(A, 0, 1)
    s.partitions.tracker.track(A, 2)  # handed out, not complete
    s.done(A, 3)

    sent = s.commits.commit(s.consumer, sync=True)

    assert sent == {A: 2}
    assert s.group_offsets() == {A: 2}
    assert s.metrics.get("committed") == 2


def test_one_asynchronous_commit_at_a_time_until_it_settles():
    s = Setup()
    s.done(A, 0)
    assert s.commits.commit(s.consumer, sync=False) == {A: 1}
    assert s.commits.settling
    s.done(A, 1)

    assert s.commits.commit(s.consumer, sync=False) == {}  # the first is not settled yet
    s.consumer.poll(0, 1)  # the engine reports it
    assert not s.commits.settling
    assert s.commits.commit(s.consumer, sync=False) == {A: 2}


def test_an_unsettled_commit_blocks_the_next_only_for_its_patience(
    monkeypatch: pytest.MonkeyPatch,
):
    s = Setup()
    s.done(A, 0)
    s.commits.commit(s.consumer, sync=False)
    s.done(A, 1)
    monkeypatch.setattr(commits_module, "ASYNC_COMMIT_PATIENCE_S", 0.0)

    assert s.commits.commit(s.consumer, sync=False) == {A: 2}


def test_a_failed_asynchronous_commit_is_sent_again():
    s = Setup()
    s.done(A, 0)
    s.consumer.fail_commits = 1
    s.commits.commit(s.consumer, sync=False)
    s.consumer.poll(0, 1)  # reports the failure

    assert s.commits.commit(s.consumer, sync=False) == {A: 1}
    s.consumer.poll(0, 1)
    assert s.group_offsets() == {A: 1}
    assert s.metrics.get("committed") == 1


def test_the_final_commit_sends_every_point_again():
    s = Setup()
    s.done(A, 0)
    s.done(B, 0, 1)
    s.commits.commit(s.consumer, sync=True)

    assert s.commits.commit(s.consumer, sync=False) == {}  # nothing moved
    assert s.commits.commit(s.consumer, sync=True) == {A: 1, B: 2}


def test_the_output_is_flushed_before_its_offsets_are_committed():
    output = Output()
    s = Setup(output)
    s.done(A, 0)

    s.commits.commit(s.consumer, sync=True)

    assert output.flushes == 1 and s.group_offsets() == {A: 1}


def test_once_the_output_closed_only_points_flushed_before_are_committed():
    output = Output()
    s = Setup(output)
    s.done(A, 0, 1)
    s.commits.commit(s.consumer, sync=True)  # flushed up to 2
    s.done(A, 2, 3)
    s.done(B, 0)
    output.closed = True

    assert s.commits.commit(s.consumer, sync=True) == {A: 2}  # B's line never got out

    assert s.stops == ["output error"]
    assert s.group_offsets() == {A: 2}


def test_a_revoked_partition_flushes_its_lines_before_giving_its_point():
    output = Output()
    s = Setup(output)
    s.done(A, 0, 1)

    with s.partitions.lock:
        assert s.commits.revoked({A}, commit=True) == {A: 2}
    assert output.flushes == 1


def test_a_revoke_after_the_output_failed_gives_only_what_was_flushed():
    # The issue's /dev/full case: the revoke at close committed lines that never got out.
    output = Output()
    s = Setup(output)
    s.done(A, 0)
    s.done(B, 0)
    s.commits.commit(s.consumer, sync=True)  # flushed up to A 1, B 1
    s.done(A, 1, 2)
    s.done(B, 1, 2, 3)
    output.closed = True

    with s.partitions.lock:
        assert s.commits.revoked({A}, commit=True) == {A: 1}
        assert s.commits.revoked({B}, commit=False) == {B: 1}  # lost: kept for later
    assert s.commits.lost_points == {B: 1}
    assert s.stops == ["output error"]
    assert s.commits.output_failure is not None
    assert s.commits.output_failure.startswith("stdout closed; consume stopped")


def test_an_output_that_never_flushed_commits_nothing():
    output = Output()
    output.closed = True
    s = Setup(output)
    s.done(A, 0, 1)

    assert s.commits.commit(s.consumer, sync=True) == {}
    assert s.group_offsets() == {}


def test_revoked_partitions_give_their_points_and_lost_ones_keep_them_for_later():
    s = Setup()
    s.done(A, 0, 1)
    s.done(B, 0)

    with s.partitions.lock:
        assert s.commits.revoked({A}, commit=True) == {A: 2}
        assert s.commits.lost_points == {}
        assert s.commits.revoked({B}, commit=False) == {B: 1}
    assert s.commits.lost_points == {B: 1}


def test_lost_work_is_recommitted_once_the_partition_is_back_and_only_forward():
    s = Setup()
    s.done(A, 0, 1, 2)
    s.done(B, 0)
    with s.partitions.lock:
        s.commits.revoked({A, B}, commit=False)
        s.partitions.forget(A)
        s.partitions.forget(B)
    admin = s.cluster.connect_admin()

    s.commits.recommit_lost(s.consumer, admin)  # neither is ours: nothing to do yet
    assert s.group_offsets() == {}
    s.cluster.commit(GROUP, {B: 5}, None)  # another member went on past B's point
    s.partitions.add(A)
    s.partitions.add(B)
    s.commits.recommit_lost(s.consumer, admin)

    assert s.group_offsets() == {A: 3, B: 5}
    assert s.commits.lost_points == {}


def test_a_recommit_that_fails_is_tried_again_later():
    s = Setup()
    s.done(A, 0)
    with s.partitions.lock:
        s.commits.revoked({A}, commit=False)
    admin = s.cluster.connect_admin()
    admin.fail_next("committed")

    s.commits.recommit_lost(s.consumer, admin)
    assert s.commits.lost_points == {A: 1}
    s.commits.recommit_lost(s.consumer, admin)

    assert s.commits.lost_points == {}
    assert s.group_offsets() == {A: 1}
