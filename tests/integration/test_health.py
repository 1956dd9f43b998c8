"""health against the real broker: healthy, missing topic, lag, DLQ depth, unreachable."""

from __future__ import annotations

import json
import time

from kafka import KafkaProducer


def _produce(brokers: str, topic: str, count: int, partition: int = 0) -> None:
    producer = KafkaProducer(bootstrap_servers=brokers.split(","))
    for i in range(count):
        producer.send(topic, value=f"m{i}".encode(), partition=partition)
    producer.flush()
    producer.close()


def test_cluster_alone_is_healthy(run_cli):
    result = run_cli("health", "--json")
    assert result.returncode == 0, result.stderr.decode()
    report = json.loads(result.stdout)
    assert report["verdict"] == "healthy"
    assert report["cluster_id"]
    assert report["controller_id"] is not None
    assert len(report["brokers"]) == 1


def test_table_goes_to_stderr(run_cli):
    result = run_cli("health")
    assert result.returncode == 0
    assert result.stdout == b""
    assert "verdict: healthy" in result.stderr.decode()


def test_pipeline_topics_present_is_healthy(run_cli, topic_name):
    assert run_cli("create-topics", topic_name, "-g", "g1").returncode == 0
    result = run_cli("health", "-t", topic_name, "-g", "g1", "--json")
    assert result.returncode == 0, result.stdout.decode()
    report = json.loads(result.stdout)
    assert [t["status"] for t in report["topics"]] == ["ok"] * 5
    assert report["groups"][0]["total_lag"] == 0


def test_missing_topic_is_unhealthy(run_cli, topic_name):
    result = run_cli("health", "-t", topic_name, "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["verdict"] == "unhealthy"
    assert f"topic {topic_name} is missing" in report["reasons"]


def test_missing_retry_tier_is_unhealthy_unless_no_retry(run_cli, topic_name):
    assert run_cli("create-topics", topic_name, "--no-retry").returncode == 0
    assert run_cli("health", "-t", topic_name, "-g", "g2").returncode == 1
    assert run_cli("health", "-t", topic_name, "-g", "g2", "--no-retry").returncode == 0


def test_lag_per_partition_and_max_lag(run_cli, brokers, topic_name):
    assert run_cli("create-topics", topic_name, "--no-retry", "-p", "2").returncode == 0
    _produce(brokers, topic_name, 7, partition=1)
    result = run_cli("health", "-t", topic_name, "-g", "lagging", "--no-retry", "--json")
    report = json.loads(result.stdout)
    [group] = report["groups"]
    lags = {p["partition"]: (p["committed"], p["end"], p["lag"]) for p in group["partitions"]}
    assert lags == {0: (None, 0, 0), 1: (None, 7, 7)}
    assert group["total_lag"] == 7
    assert result.returncode == 0, "lag alone does not degrade without --max-lag"
    over = run_cli(
        "health", "-t", topic_name, "-g", "lagging", "--no-retry", "--max-lag", "5", "--json"
    )
    assert over.returncode == 1
    assert json.loads(over.stdout)["verdict"] == "degraded"


def test_committed_offsets_reduce_lag(run_cli, brokers, topic_name):
    from kafka import KafkaConsumer, TopicPartition
    from kafka.structs import OffsetAndMetadata

    assert run_cli("create-topics", topic_name, "--no-retry", "-p", "1").returncode == 0
    _produce(brokers, topic_name, 10)
    consumer = KafkaConsumer(
        bootstrap_servers=brokers.split(","), group_id="half", enable_auto_commit=False
    )
    consumer.commit({TopicPartition(topic_name, 0): OffsetAndMetadata(4, "", -1)})
    consumer.close()
    report = json.loads(
        run_cli("health", "-t", topic_name, "-g", "half", "--no-retry", "--json").stdout
    )
    [partition] = report["groups"][0]["partitions"]
    assert (partition["committed"], partition["end"], partition["lag"]) == (4, 10, 6)


def test_dead_letters_degrade(run_cli, brokers, topic_name):
    assert run_cli("create-topics", topic_name, "-g", "dl", "-p", "1").returncode == 0
    _produce(brokers, f"{topic_name}.dl.dlq", 2)
    result = run_cli("health", "-t", topic_name, "-g", "dl", "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["verdict"] == "degraded"
    assert report["groups"][0]["dlq_depth"] == 2


def test_unreachable_exits_3_within_timeout(run_cli):
    started = time.monotonic()
    result = run_cli("health", "--timeout", "3s", env={"KAFKA_BROKERS": "127.0.0.1:1"})
    elapsed = time.monotonic() - started
    assert result.returncode == 3
    err = result.stderr.decode()
    assert "cannot reach Kafka at 127.0.0.1:1" in err
    assert "Traceback" not in err
    assert elapsed < 3 + 5


def test_bad_setting_exits_2_before_connecting(run_cli):
    result = run_cli("health", env={"KAFKA_PRODUCER_ACKS": "2", "KAFKA_BROKERS": "127.0.0.1:1"})
    assert result.returncode == 2
    err = result.stderr.decode()
    assert "KAFKA_PRODUCER_ACKS" in err and "0, 1 or all" in err
    assert "cannot reach" not in err
    assert len(err.strip().splitlines()) == 1
