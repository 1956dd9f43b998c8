"""replay_dlq, the operation: dry run, confirmation (yes, no, nothing to ask), run."""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Any

import pytest

from kafkactl.config import load_settings
from kafkactl.replay import DlqNotFound, OptionError, ReplayOptions, ReplaySummary
from kafkactl.replay.operation import replay_dlq
from tests.fakes import FakeCluster
from tests.unit.replay_samples import kafkactl_headers

SETTINGS = load_settings(env={"KAFKA_RETRY_DELAYS": "1s,10s"}, config_path=os.devnull)
DLQ = "orders.billing.dlq"
T1 = "orders.billing.retry.1"


class View:
    """Answers the prompt with `answer`; remembers what it was shown."""

    def __init__(self, answer: bool = True) -> None:
        self.answer = answer
        self.passes: list[str] = []
        self.asked: list[ReplaySummary] = []

    @contextmanager
    def progress(self, description: str):
        self.passes.append(description)
        yield self

    def update(self, summary: ReplaySummary) -> None:
        pass

    def confirm(self, plan: ReplaySummary) -> bool:
        self.asked.append(plan)
        return self.answer


def cluster_with(counts: list[int]) -> FakeCluster:
    """A DLQ with one kafkactl dead letter per entry (its kafkactl.replay.count)."""
    cluster = FakeCluster()
    cluster.create_topics(["orders", T1, DLQ])
    for count in counts:
        cluster.produce(DLQ, b"v", b"k", kafkactl_headers(**{"kafkactl.replay.count": count}), 0)
    return cluster


LEASES: list[tuple[str, str]] = []


@contextmanager
def held_lease(settings: Any, dlq: str, group: str, on_lost: Any):
    """Always granted; remembers which (DLQ, replay group) a run held it for."""
    LEASES.append((dlq, group))
    yield None


def run(cluster: FakeCluster, view: View, **kw: Any):
    options = ReplayOptions(dlq=kw.pop("dlq", DLQ), poll_timeout_ms=10, **kw.pop("options", {}))
    signals: list[Any] = []
    outcome = replay_dlq(
        SETTINGS,
        options,
        view,
        watch_signals=signals.append,
        lease=kw.pop("lease", held_lease),
        connect_admin=cluster.connect_admin,
        connect_consumer=cluster.connect_consumer,
        connect_producer=cluster.connect_producer,
        **kw,
    )
    return outcome, signals


def test_a_dry_run_plans_and_asks_nothing():
    cluster = cluster_with([0, 0])
    view = View()
    outcome, signals = run(cluster, view, dry_run=True)
    assert outcome.ending == "dry-run" and outcome.summary.to_replay == 2
    assert view.passes == ["reading"] and view.asked == [] and len(signals) == 1
    assert cluster.records(T1) == [] and cluster.commit_log == []


def test_a_declined_confirmation_sends_nothing():
    cluster = cluster_with([0])
    view = View(answer=False)
    outcome, _ = run(cluster, view)
    assert outcome.ending == "declined" and [p.to_replay for p in view.asked] == [1]
    assert cluster.records(T1) == [] and cluster.commit_log == []


def test_a_confirmed_replay_plans_then_runs_watching_signals_again():
    cluster = cluster_with([0, 0])
    view = View()
    outcome, signals = run(cluster, view)
    assert outcome.ending == "ran" and outcome.summary.replayed == 2
    assert view.passes == ["reading", "replaying"] and len(signals) == 2
    assert len(cluster.records(T1)) == 2


def test_yes_runs_without_a_plan_and_nothing_to_send_asks_nothing():
    cluster = cluster_with([0])
    view = View(answer=False)
    outcome, _ = run(cluster, view, confirm=False)
    assert outcome.ending == "ran" and view.passes == ["replaying"]
    parked = cluster_with([5])
    outcome, _ = run(parked, View(answer=False))
    assert outcome.ending == "ran" and outcome.summary.parked == 1


def test_errors_name_the_option_field_or_the_missing_dlq():
    cluster = cluster_with([0])
    with pytest.raises(OptionError) as to:
        run(cluster, View(), options={"to": DLQ})
    assert to.value.option == "to" and str(to.value.worded("--to")).startswith(f"--to {DLQ} is")
    with pytest.raises(OptionError) as partitions:
        run(cluster, View(), options={"partitions": (3,)})
    assert partitions.value.option == "partitions"
    assert str(partitions.value) == f"partitions 3 does not exist: {DLQ} has partitions 0-0"
    with pytest.raises(DlqNotFound, match="DLQ topic nope does not exist"):
        run(cluster, View(), dlq="nope")


def test_a_run_holds_the_lease_and_a_dry_run_does_not():
    LEASES.clear()
    run(cluster_with([0]), View(), dry_run=True)
    assert LEASES == []
    run(cluster_with([0]), View())
    assert LEASES == [(DLQ, "kafkactl-replay." + DLQ)]


def test_a_replay_refused_its_lease_reads_and_sends_nothing():
    from kafkactl.replay.lease import ReplayRunning

    @contextmanager
    def refused(settings: Any, dlq: str, group: str, on_lost: Any):
        raise ReplayRunning("another replay-dlq ... is running")
        yield None

    cluster = cluster_with([0])
    with pytest.raises(ReplayRunning):
        run(cluster, View(), lease=refused)
    assert cluster.records(T1) == [] and cluster.commit_log == []


def test_a_lost_lease_stops_the_run():
    @contextmanager
    def lost_at_once(settings: Any, dlq: str, group: str, on_lost: Any):
        on_lost()
        yield None

    cluster = cluster_with([0, 0, 0])
    outcome, _ = run(cluster, View(), lease=lost_at_once, confirm=False)
    assert outcome.summary.stopped_by == "lease lost"
    assert cluster.records(T1) == []
