"""consume against the real broker: the retry/DLQ pipeline, due times, commits, handlers."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.integration.kafka_helpers import (
    committed_and_end,
    fully_committed,
    header,
    orders,
    processed,
    produce,
    read_all,
)

HANDLERS = "tests.integration.pipeline_handlers"


@pytest.fixture
def pipeline_env(tmp_path: Path) -> dict[str, str]:
    """Short retry delays and the handler's success log."""
    return {
        "PYTHONPATH": str(REPO),
        "KAFKACTL_TEST_LOG": str(tmp_path / "processed.log"),
        "KAFKA_RETRY_DELAYS": "300ms,600ms",
    }


def _create(run_cli, topic: str, group: str, partitions: int = 3, env=None) -> None:
    result = run_cli("create-topics", topic, "-g", group, "-p", str(partitions), env=env)
    assert result.returncode == 0, result.stderr.decode()


def test_every_message_is_processed_or_dead_lettered(
    run_cli, brokers, topic_name, pipeline_env, tmp_path
):
    group = "billing"
    _create(run_cli, topic_name, group, env=pipeline_env)
    modes = ["ok", "always", "fatal", "once", "ok", "ok"] * 50  # 300 messages
    records = orders(modes)
    produce(brokers, topic_name, records)

    result = run_cli(
        "consume",
        topic_name,
        "-g",
        group,
        "--handler",
        f"{HANDLERS}:handle",
        "-e",
        "--json",
        env=pipeline_env,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    summary = json.loads(result.stdout)

    done = processed(tmp_path / "processed.log")
    done_ids = [i for i, _attempt, _ts in done]
    assert len(done_ids) == len(set(done_ids)), "a message was processed twice"
    expected_ok = {i for i, m in enumerate(modes) if m in ("ok", "once")}
    assert set(done_ids) == expected_ok
    assert {i: a for i, a, _ in done if modes[i] == "once"} == {
        i: 2 for i, m in enumerate(modes) if m == "once"
    }, "a message failing once succeeds on its second attempt"

    dlq = read_all(brokers, f"{topic_name}.{group}.dlq")
    dlq_ids = [json.loads(r.value)["id"] for r in dlq]
    assert len(dlq_ids) == len(set(dlq_ids))
    assert set(dlq_ids) == {i for i, m in enumerate(modes) if m in ("always", "fatal")}
    assert not set(dlq_ids) & set(done_ids), "never both processed and dead-lettered"

    by_id = {i: (k, v, h) for i, (k, v, h) in enumerate(records)}
    for record in dlq:
        i = json.loads(record.value)["id"]
        key, value, headers = by_id[i]
        assert record.key == key and record.value == value
        assert header(record, "message-id") == headers[0][1].decode()
        assert header(record, "kafkactl.original.topic") == topic_name
        assert header(record, "kafkactl.group") == group
        assert header(record, "kafkactl.not-before") is None
        assert int(header(record, "kafkactl.first-failure")) <= int(
            header(record, "kafkactl.last-failure")
        )
        assert header(record, "kafkactl.error.message")
        names = [k for k, _ in record.headers]
        assert len(names) == len(set(names)), f"duplicated headers: {names}"
        if modes[i] == "always":
            assert header(record, "kafkactl.attempt") == "3"
            assert header(record, "kafkactl.error.kind") == "retryable"
            assert header(record, "kafkactl.error.class") == "RuntimeError"
        else:
            assert header(record, "kafkactl.attempt") == "1"
            assert header(record, "kafkactl.error.kind") == "fatal"
            assert header(record, "kafkactl.error.class") == "kafkactl.errors.FatalError"
    # The original coordinates point at the main topic record.
    main = {json.loads(r.value)["id"]: r for r in read_all(brokers, topic_name)}
    for record in dlq:
        origin = main[json.loads(record.value)["id"]]
        assert int(header(record, "kafkactl.original.partition")) == origin.partition
        assert int(header(record, "kafkactl.original.offset")) == origin.offset

    tier1 = {json.loads(r.value)["id"] for r in read_all(brokers, f"{topic_name}.{group}.retry.1")}
    tier2 = {json.loads(r.value)["id"] for r in read_all(brokers, f"{topic_name}.{group}.retry.2")}
    assert tier1 == {i for i, m in enumerate(modes) if m in ("always", "once")}
    assert tier2 == {i for i, m in enumerate(modes) if m == "always"}

    offsets = committed_and_end(
        brokers,
        group,
        [topic_name, f"{topic_name}.{group}.retry.1", f"{topic_name}.{group}.retry.2"],
    )
    assert fully_committed(offsets), offsets

    metrics = summary["metrics"]
    assert metrics["processed"] == len(expected_ok)
    assert metrics["sent_to_dlq"] == len(dlq_ids)
    assert metrics["by_label"]["retried"] == {"1": len(tier1), "2": len(tier2)}


def test_async_handler_and_partition_ordering(run_cli, brokers, topic_name, pipeline_env, tmp_path):
    _create(run_cli, topic_name, "g", partitions=2, env=pipeline_env)
    produce(brokers, topic_name, orders(["ok"] * 40))
    result = run_cli(
        "consume",
        topic_name,
        "-g",
        "g",
        "--handler",
        f"{HANDLERS}:async_handle",
        "--ordering",
        "partition",
        "-e",
        env=pipeline_env,
    )
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert sorted(i for i, _, _ in processed(tmp_path / "processed.log")) == list(range(40))


def test_retry_waits_for_its_due_time_while_other_partitions_flow(
    run_cli, brokers, topic_name, tmp_path
):
    env = {
        "PYTHONPATH": str(REPO),
        "KAFKACTL_TEST_LOG": str(tmp_path / "processed.log"),
        "KAFKA_RETRY_DELAYS": "4s",
    }
    _create(run_cli, topic_name, "due", partitions=2, env=env)
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=brokers.split(","))
    producer.send(topic_name, json.dumps({"id": 0, "mode": "once"}).encode(), partition=0)
    producer.flush()

    def trickle() -> None:
        for i in range(1, 9):
            time.sleep(0.4)
            producer.send(topic_name, json.dumps({"id": i, "mode": "ok"}).encode(), partition=1)
            producer.flush()

    feeder = threading.Thread(target=trickle)
    feeder.start()
    result = run_cli(
        "consume", topic_name, "-g", "due", "--handler", f"{HANDLERS}:handle", "-e", env=env
    )
    feeder.join()
    producer.close()
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    done = {i: (attempt, ts) for i, attempt, ts in processed(tmp_path / "processed.log")}
    assert set(done) == set(range(9))
    [tier_record] = read_all(brokers, f"{topic_name}.due.retry.1")
    not_before = int(header(tier_record, "kafkactl.not-before"))
    first_failure = int(header(tier_record, "kafkactl.first-failure"))
    assert not_before == first_failure + 4000
    attempt, retried_at = done[0]
    assert attempt == 2
    assert retried_at >= not_before, "handled before its due time"
    healthy_during_wait = [ts for i, (_, ts) in done.items() if i > 0 and ts < not_before]
    assert len(healthy_during_wait) >= 5, "the healthy partition must keep flowing meanwhile"


def test_exec_handler_exit_codes_and_timeout(run_cli, brokers, topic_name, tmp_path):
    _create(run_cli, topic_name, "ex", partitions=1)
    produce(brokers, topic_name, orders(["fatal", "slow"]))
    script = tmp_path / "handler.sh"
    script.write_text(
        "body=$(cat)\n"
        'case "$body" in\n'
        '  *fatal*) echo "bad order $KAFKA_MESSAGE_ID" >&2; exit 100;;\n'
        "  *slow*) sleep 30;;\n"
        "esac\n"
    )
    result = run_cli(
        "consume",
        topic_name,
        "-g",
        "ex",
        "--exec",
        f"sh {script}",
        "--exec-timeout",
        "1s",
        "--no-retry",
        "-e",
    )
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    dlq = {json.loads(r.value)["mode"]: r for r in read_all(brokers, f"{topic_name}.ex.dlq")}
    assert set(dlq) == {"fatal", "slow"}
    assert header(dlq["fatal"], "kafkactl.error.kind") == "fatal"
    assert header(dlq["fatal"], "kafkactl.error.class") == "exit:100"
    assert header(dlq["fatal"], "kafkactl.error.message").startswith("bad order id-0-")
    assert header(dlq["slow"], "kafkactl.error.kind") == "timeout"


def test_print_handler_writes_envelopes(run_cli, brokers, topic_name):
    _create(run_cli, topic_name, "p", partitions=1)
    produce(brokers, topic_name, [(b"k", b'{"a":1}', [("h", b"v")]), (None, b"\xff\x00", [])])
    result = run_cli("consume", topic_name, "-g", "p", "-e", "-q")
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    lines = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert [line["offset"] for line in lines] == [0, 1]
    assert lines[0]["key"] == "k" and lines[0]["payload"] == '{"a":1}'
    assert lines[0]["headers"][:2] == ["h", "v"]
    assert lines[1]["key"] is None and lines[1]["payload_encoding"] == "base64"


def test_count_stops_after_n_messages(run_cli, brokers, topic_name, pipeline_env, tmp_path):
    _create(run_cli, topic_name, "cnt", partitions=1, env=pipeline_env)
    produce(brokers, topic_name, orders(["ok"] * 20))
    result = run_cli(
        "consume",
        topic_name,
        "-g",
        "cnt",
        "--handler",
        f"{HANDLERS}:handle",
        "--count",
        "5",
        "--json",
        env=pipeline_env,
    )
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert json.loads(result.stdout)["stopped_by"] == "count"
    assert len(processed(tmp_path / "processed.log")) == 5
    [(committed, end)] = committed_and_end(brokers, "cnt", [topic_name]).values()
    assert (committed, end) == (5, 20)


@pytest.mark.parametrize(
    ("handler", "message"),
    [
        ("nope.module:fn", "cannot import"),
        ("no_colon_here", "package.module:function"),
        (f"{HANDLERS}:missing", "missing"),
    ],
)
def test_bad_handler_is_a_usage_error(run_cli, topic_name, pipeline_env, handler, message):
    result = run_cli("consume", topic_name, "--handler", handler, env=pipeline_env)
    assert result.returncode == 2
    err = result.stderr.decode()
    assert message in err
    assert "Traceback" not in err


def test_missing_topics_are_named(run_cli, topic_name):
    result = run_cli("consume", topic_name, "-g", "x", "-e")
    assert result.returncode == 1
    err = result.stderr.decode()
    assert f"missing topic(s) {topic_name}" in err
    assert f"kafkactl create-topics {topic_name} --group x" in err
    assert "Traceback" not in err


def test_prometheus_metrics_endpoint(cli_env, brokers, topic_name, pipeline_env, tmp_path):
    import socket
    import subprocess
    import sys
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**cli_env, **pipeline_env}
    create = subprocess.run(
        [sys.executable, "-m", "kafkactl", "create-topics", topic_name, "-g", "prom", "-p", "1"],
        env=env,
        capture_output=True,
        cwd=tmp_path,
    )
    assert create.returncode == 0
    produce(brokers, topic_name, orders(["ok", "ok", "fatal"]))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kafkactl",
            "consume",
            topic_name,
            "-g",
            "prom",
            "-q",
            "--handler",
            f"{HANDLERS}:handle",
            "--metrics-port",
            str(port),
        ],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        body = ""
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
                    body = r.read().decode()
            except OSError:
                body = ""
            if "kafkactl_sent_to_dlq_total 1.0" in body and "kafkactl_processed_total 2.0" in body:
                break
            time.sleep(0.3)
        assert "kafkactl_processed_total 2.0" in body, body[-2000:]
        assert "kafkactl_received_total 3.0" in body
        assert "kafkactl_sent_to_dlq_total 1.0" in body
        assert 'kafkactl_handler_latency_ms{quantile="p50"}' in body
    finally:
        proc.terminate()
        assert proc.wait(30) == 0
