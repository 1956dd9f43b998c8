"""health against the real broker: healthy, missing topic, lag, DLQ depth, unreachable."""

from __future__ import annotations

import json
import os
import socket
import sys
import time

import pytest
from kafka import KafkaProducer

from tests.integration.kafka_helpers import one_line_error


def _produce(brokers: str, topic: str, count: int, partition: int = 0) -> None:
    producer = KafkaProducer(bootstrap_servers=brokers.split(","))
    for i in range(count):
        producer.send(topic, value=f"m{i}".encode(), partition=partition)
    producer.flush()
    producer.close()


def _commit(brokers: str, group: str, topic: str, offset: int = 0, partition: int = 0) -> None:
    """Give `group` a committed offset, so health knows it (a group with none is unknown)."""
    from kafka import KafkaConsumer, TopicPartition
    from kafka.structs import OffsetAndMetadata

    consumer = KafkaConsumer(
        bootstrap_servers=brokers.split(","), group_id=group, enable_auto_commit=False
    )
    consumer.commit({TopicPartition(topic, partition): OffsetAndMetadata(offset, "", -1)})
    consumer.close()


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


def test_pipeline_topics_present_is_healthy(run_cli, brokers, topic_name):
    group = f"g1-{topic_name}"
    assert run_cli("create-topics", topic_name, "-g", group).returncode == 0
    _commit(brokers, group, topic_name)
    result = run_cli("health", "-t", topic_name, "-g", group, "--json")
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


def test_missing_retry_tier_is_unhealthy_unless_no_retry(run_cli, brokers, topic_name):
    # --no-retry makes the topic and the group's DLQ (what consume --no-retry needs), no tiers
    made = run_cli("create-topics", topic_name, "-g", "g2", "--no-retry")
    assert made.returncode == 0, made.stderr.decode()
    _commit(brokers, "g2", topic_name)
    assert run_cli("health", "-t", topic_name, "-g", "g2").returncode == 1
    assert run_cli("health", "-t", topic_name, "-g", "g2", "--no-retry").returncode == 0


def test_lag_per_partition_and_max_lag(run_cli, brokers, topic_name):
    assert (
        run_cli("create-topics", topic_name, "-g", "lagging", "--no-retry", "-p", "2").returncode
        == 0
    )
    _produce(brokers, topic_name, 7, partition=1)
    _commit(brokers, "lagging", topic_name, 0, partition=0)
    result = run_cli("health", "-t", topic_name, "-g", "lagging", "--no-retry", "--json")
    report = json.loads(result.stdout)
    [group] = report["groups"]
    lags = {p["partition"]: (p["committed"], p["end"], p["lag"]) for p in group["partitions"]}
    assert lags == {0: (0, 0, 0), 1: (None, 7, 7)}
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

    assert (
        run_cli("create-topics", topic_name, "-g", "half", "--no-retry", "-p", "1").returncode == 0
    )
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


def test_a_group_with_no_offsets_and_no_members_is_an_unknown_group(run_cli, topic_name):
    typo = f"{topic_name}-typo-group"
    assert run_cli("create-topics", topic_name, "-g", typo, "--no-retry").returncode == 0
    result = run_cli("health", "-t", topic_name, "-g", typo, "--no-retry", "--json")
    assert result.returncode == 1, result.stderr.decode()
    report = json.loads(result.stdout)
    assert report["verdict"] == "degraded"
    assert report["groups"][0]["status"] == "unknown"
    assert any(f"unknown group {typo}" in reason for reason in report["reasons"])
    # Without topics too, and in the table.
    table = run_cli("health", "-g", typo)
    assert table.returncode == 1
    assert "unknown group" in table.stderr.decode()


def test_a_known_group_is_not_unknown(run_cli, brokers, topic_name):
    made = run_cli("create-topics", topic_name, "-g", f"{topic_name}-known", "--no-retry")
    assert made.returncode == 0
    _commit(brokers, f"{topic_name}-known", topic_name)
    result = run_cli("health", "-t", topic_name, "-g", f"{topic_name}-known", "--no-retry")
    assert result.returncode == 0, result.stderr.decode()


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("--max-lag", "-1"), ("--max-lag -1", "out of range")),
        (("--interval", "nan"), ("--interval", "nan")),
        (("--interval", "1e400s"), ("--interval",)),
        (("--interval", "9" * 400 + "s"), ("--interval", "not a finite duration")),
        (("--interval", "0s"), ("--interval", "at least 1ms")),
        (("--timeout", "-5s"), ("--timeout (from flag)",)),
        (("--connect-timeout", "inf"), ("--connect-timeout (from flag)",)),
        (("-t", "bad/name*"), ("topic name 'bad/name*'",)),
        (("-g", "a" * 300), ("group name", "at most 249")),
        (("-b", ""), ("--brokers (from flag)", "empty")),
        (("-b", "a:1,,b:2"), ("--brokers (from flag)", "entry 2 of 3 is empty")),
        (("-b", "a:70000"), ("--brokers (from flag)", "1 to 65535")),
        (("--engine", "turbo"), ("--engine (from flag)", "turbo")),
    ],
)
def test_bad_flags_exit_2_naming_the_flag_before_connecting(run_cli, args, fragments):
    result = run_cli("health", *args, env={"KAFKA_CONNECT_TIMEOUT": "2s"}, timeout=60)
    one_line_error(result, 2, *fragments)


@pytest.mark.parametrize("value", ["", " ", ",", "a:1,"])
def test_an_empty_or_holey_kafka_brokers_is_an_error_not_localhost(run_cli, value):
    result = run_cli("health", env={"KAFKA_BROKERS": value}, timeout=60)
    one_line_error(result, 2, "KAFKA_BROKERS (from env)")


def test_json_into_a_closed_stdout_is_exit_2(run_cli, cli_env, tmp_path):
    import subprocess
    import sys

    for args in (("health", "--json"), ("config", "--json")):
        result = subprocess.run(
            [sys.executable, "-m", "kafkactl", *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=cli_env,
            cwd=tmp_path,
            timeout=60,
            close_fds=True,
            preexec_fn=lambda: os.close(1),
        )
        one_line_error(result, 2, "stdout is closed")


def test_json_into_a_full_or_broken_stdout_is_one_line_exit_1(cli_env, tmp_path):
    import subprocess
    import sys

    with open("/dev/full", "wb") as full:
        result = subprocess.run(
            [sys.executable, "-m", "kafkactl", "config", "--json"],
            stdout=full,
            stderr=subprocess.PIPE,
            env=cli_env,
            cwd=tmp_path,
            timeout=60,
        )
    one_line_error(result, 1, "cannot write to stdout", "No space left")
    read, write = os.pipe()
    os.close(read)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "kafkactl", "health", "--json"],
            stdout=write,
            stderr=subprocess.PIPE,
            env=cli_env,
            cwd=tmp_path,
            timeout=60,
        )
    finally:
        os.close(write)
    line = one_line_error(result, 1, "stdout closed")
    assert "Exception ignored" not in line


@pytest.mark.parametrize(
    "args",
    [
        ("health",),
        ("create-topics", "ct-timeout"),
        ("replay-dlq", "ct-timeout.dlq", "--dry-run"),
        ("produce", "ct-timeout"),
        ("consume", "ct-timeout", "-e"),
        ("consume", "ct-timeout", "-g", "ct-timeout-g", "-e"),
    ],
)
def test_connecting_gives_up_within_the_connect_timeout(cli_env, tmp_path, args):
    import subprocess
    import sys

    with socket.socket() as closed:  # a loopback port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    env = {**cli_env, "KAFKA_BROKERS": f"127.0.0.1:{port}"}
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "kafkactl", *args, "--connect-timeout", "3s"],
        input=b'{"a":1}\n',
        capture_output=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    elapsed = time.monotonic() - started
    err = result.stderr.decode()
    assert result.returncode == 3, err
    assert "cannot reach Kafka" in err and "Traceback" not in err
    assert elapsed < 4.0, f"{args[0]} took {elapsed:.2f}s with --connect-timeout 3s"


def _documents(text: str) -> list[dict]:
    """The JSON documents written one after another (each one indented over several lines)."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at == len(text):
            return found
        try:
            document, at = decoder.raw_decode(text, at)
        except json.JSONDecodeError:
            return found  # a document still being written
        found.append(document)


WATCH = [sys.executable, "-m", "kafkactl", "health", "--watch", "--interval", "200ms"]


def test_watch_reports_every_interval_until_ctrl_c(cli_env, tmp_path):
    """`health --watch --json`: one JSON report per interval on stdout; Ctrl-C ends the watch
    with the last report's verdict as the exit code (0: healthy), nothing on stderr."""
    import signal
    import subprocess

    from tests.integration.kafka_helpers import track, wait_for

    out = tmp_path / "reports.jsonl"
    with out.open("wb") as sink:
        proc = track(
            subprocess.Popen(
                [*WATCH, "--json"],
                stdout=sink,
                stderr=subprocess.PIPE,
                env=cli_env,
                cwd=tmp_path,
            )
        )
        wait_for(lambda: len(_documents(out.read_text())) >= 3, 60, "three reports")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err.decode()
    reports = _documents(out.read_text())
    assert len(reports) >= 3
    assert {r["verdict"] for r in reports} == {"healthy"}
    assert "Traceback" not in err.decode()
