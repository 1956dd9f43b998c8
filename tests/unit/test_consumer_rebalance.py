"""PartitionListener: fresh epochs on assign; drain, commit points and forgetting on revoke."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

from kafkactl.config import load_settings
from kafkactl.consumer.commits import Commits
from kafkactl.consumer.flow import FlowControl
from kafkactl.consumer.rebalance import PartitionListener
from kafkactl.consumer.state import Partitions, Work
from kafkactl.handlers.base import HandlerBase
from kafkactl.kafka.ports import TopicPartition
from kafkactl.message import Message
from kafkactl.metrics import Metrics
from kafkactl.topology import TierMap

SETTINGS = load_settings(env={}, config_path=os.devnull)

A = TopicPartition("orders", 0)
B = TopicPartition("orders", 1)


class Pool:
    """The WorkerPool's drop, over a plain list of queued work."""

    def __init__(self) -> None:
        self.queued: list[Work] = []

    def drop(self, predicate: Callable[[Work], bool]) -> list[Work]:
        dropped = [w for w in self.queued if predicate(w)]
        self.queued = [w for w in self.queued if not predicate(w)]
        return dropped


class Router:
    """Counts ticks (retries of publishes waiting for their backoff)."""

    def __init__(self) -> None:
        self.ticks = 0

    def tick(self) -> None:
        self.ticks += 1


class Setup:
    def __init__(self, release: Callable[[Callable[[Work], bool]], None] | None = None) -> None:
        self.partitions = Partitions()
        self.flow = FlowControl(
            self.partitions, TierMap(SETTINGS, ["orders"], "g"), 10, threading.Event()
        )
        self.commits = Commits(self.partitions, "g", HandlerBase(), Metrics(), lambda reason: None)
        self.pool = Pool()
        self.router = Router()
        self.listener = PartitionListener(
            self.partitions,
            self.flow,
            self.commits,
            self.pool,  # type: ignore[arg-type]
            self.router,  # type: ignore[arg-type]
            2.5,
            release=release,
        )

    def hand_out(self, tp: TopicPartition, offset: int) -> Work:
        """Track and count a message in flight, as the poll loop does."""
        with self.partitions.lock:
            self.partitions.tracker.track(tp, offset)
            self.partitions.inflight[tp] += 1
            message = Message(tp.topic, tp.partition, offset, None, b"")
            return Work(message, tp, self.partitions.epochs[tp])


def test_assigned_partitions_get_fresh_epochs():
    s = Setup()
    s.listener.on_assigned({A, B})
    first = dict(s.partitions.epochs)
    s.listener.finish_revoke({A}, commit=True)
    s.listener.on_assigned({A})

    assert s.partitions.assigned_once
    assert set(first) == {A, B} and first[A] != first[B]
    assert s.partitions.epochs[A] not in first.values()
    assert s.listener.drain_timeout == 2.5


def test_begin_revoke_drops_the_queued_work_of_revoked_partitions_only():
    s = Setup()
    s.listener.on_assigned({A, B})
    s.pool.queued = [s.hand_out(A, 0), s.hand_out(B, 0), s.hand_out(A, 1)]

    s.listener.begin_revoke({A})

    assert [(w.tp, w.message.offset) for w in s.pool.queued] == [(B, 0)]
    assert s.partitions.inflight == {A: 0, B: 1}


def test_revoked_busy_counts_running_work_and_ticks_the_router():
    s = Setup()
    s.listener.on_assigned({A, B})
    running = s.hand_out(A, 0)
    s.hand_out(B, 0)

    assert s.listener.revoked_busy({A}) == 1
    s.partitions.complete(running)
    assert s.listener.revoked_busy({A}) == 0
    assert s.router.ticks == 2


def test_finish_revoke_returns_commit_points_and_forgets_the_partitions():
    s = Setup()
    s.listener.on_assigned({A, B})
    done = s.hand_out(A, 0)
    late = s.hand_out(A, 1)
    s.partitions.complete(done)
    s.flow.due[A] = int(time.time() * 1000) + 60_000

    assert s.listener.finish_revoke({A}, commit=True) == {A: 1}

    assert set(s.partitions.epochs) == {B}
    assert A not in s.partitions.inflight and s.flow.due == {}
    s.partitions.complete(late)  # a late result for a partition no longer ours: dropped
    assert s.partitions.tracker.partitions() == [B]


def test_lost_partitions_commit_nothing_now_and_keep_their_points():
    s = Setup()
    s.listener.on_assigned({A})
    s.partitions.complete(s.hand_out(A, 0))

    assert s.listener.finish_revoke({A}, commit=False) == {}

    assert s.commits.lost_points == {A: 1}
    assert s.partitions.epochs == {}


def test_the_drain_routes_the_breakers_waiting_failures_of_revoked_partitions():
    released: list[bool] = []
    s = Setup(release=lambda gone: released.append(gone(work_a) and not gone(work_b)))
    s.listener.on_assigned({A, B})
    work_a, work_b = s.hand_out(A, 0), s.hand_out(B, 0)
    assert s.listener.revoked_busy({A}) == 1
    assert released == [True]
