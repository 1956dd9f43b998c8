"""The pipeline's gauges over the in-memory cluster: in flight, paused partitions, lag, and
the progress toward the end offsets that `-e` shows."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from kafkactl.config import load_settings
from kafkactl.kafka.ports import TopicPartition
from kafkactl.positions import ReadProgress
from kafkactl.topology import retry_topic
from tests.fakes import FakeCluster
from tests.unit.test_consumer import (
    DLQ,
    GROUP,
    MAIN,
    PipelineRun,
    ScriptedHandler,
    make_cluster,
    run,
)


def _eventually(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll `predicate` (bounded); not under the cluster's lock, which the pipeline takes."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_a_run_stopped_midway_reports_the_records_left_as_lag_and_nothing_in_flight():
    cluster = make_cluster(partitions=2)
    for i in range(10):
        cluster.produce(MAIN, b"ok-%d" % i, key=b"k%d" % i, partition=i % 2)

    pipeline = run(cluster, ScriptedHandler(), count=4, exit_at_end=False)

    metrics = pipeline.summary.metrics
    assert metrics["received"] == 4
    assert metrics["lag"] == 6  # 10 records, 4 taken: the consumer is 6 behind the ends
    assert metrics["in_flight"] == 0
    assert metrics["paused_partitions"] == 0  # closed: nothing paused any more


def test_at_the_end_of_an_exit_at_end_run_the_lag_is_zero_and_progress_complete():
    cluster = make_cluster()
    for i in range(20):
        cluster.produce(MAIN, b"bad" if i == 3 else b"ok-%d" % i, key=b"k%d" % i)

    pipeline = run(cluster, ScriptedHandler())

    metrics = pipeline.summary.metrics
    assert metrics["lag"] == 0 and metrics["in_flight"] == 0
    # 20 main records and the failing one's three further attempts (two tiers, then the DLQ).
    assert metrics["received"] == 22
    assert pipeline.pipeline.progress() == ReadProgress(22, 22)


def test_no_progress_without_exit_at_end():
    cluster = make_cluster()
    cluster.produce(MAIN, b"ok", key=b"k")
    pipeline = run(cluster, ScriptedHandler(), count=1, exit_at_end=False)
    assert pipeline.summary.metrics["lag"] == 0
    assert pipeline.pipeline.progress() is None


def test_backpressure_shows_as_a_paused_partition_work_in_flight_and_lag():
    settings = load_settings(
        env={"KAFKA_RETRY_DELAYS": "100ms", "KAFKA_CONSUMER_MAX_POLL_RECORDS": "5"},
        config_path=os.devnull,
    )
    cluster = FakeCluster()
    cluster.create_topics([MAIN, retry_topic(settings, MAIN, 1, GROUP), DLQ])
    for i in range(30):
        cluster.produce(MAIN, b"ok-%d" % i, key=b"k")
    handler = ScriptedHandler()
    started, gate = handler.block(b"ok-0")
    pipeline = PipelineRun(
        cluster, handler, settings=settings, workers=1, max_in_flight_per_partition=4
    ).start()
    tp = TopicPartition(MAIN, 0)
    consumer = pipeline.consumer
    assert started.wait(5.0)
    assert cluster.wait_for(lambda: any(k == "pause" and tp in p for k, p in consumer.events))

    def snapshot_shows(paused: int, in_flight: int, lag: int) -> bool:
        found = pipeline.metrics.snapshot()
        return (found["paused_partitions"], found["in_flight"], found["lag"]) == (
            paused,
            in_flight,
            lag,
        )

    # One poll's worth (5) taken and stuck behind the first; 25 fetched but held back.
    assert _eventually(lambda: snapshot_shows(1, 5, 25)), pipeline.metrics.snapshot()
    gate.set()
    summary = pipeline.wait()

    assert (summary.metrics["paused_partitions"], summary.metrics["in_flight"]) == (0, 0)
    assert summary.metrics["lag"] == 0
