"""consume's gauges against the real broker, on both engines: lag from the end offsets the
consumer has seen, work in flight, partitions paused by backpressure (--json and /metrics)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.conftest import REPO
from tests.integration.kafka_helpers import orders, produce, track, wait_for

HANDLERS = "tests.integration.pipeline_handlers"


def _summary(result: subprocess.CompletedProcess) -> dict:
    """The --json summary: the indented document after the printed records."""
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    out = result.stdout.decode()
    return json.loads(out if out.startswith("{\n") else out[out.rindex("\n{\n") + 1 :])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _scrape(port: int) -> dict[str, float]:
    """`kafkactl_*` samples without labels, by name (empty while the server is not up)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as answer:
            body = answer.read().decode()
    except OSError:
        return {}
    samples = {}
    for line in body.splitlines():
        if line.startswith("kafkactl_") and "{" not in line:
            name, value = line.split()
            samples[name] = float(value)
    return samples


def test_a_group_stopped_midway_reports_the_records_left_as_lag(run_cli, brokers, topic_name, g):
    group = g("lag")
    created = run_cli("create-topics", topic_name, "-g", group, "-p", "1")
    assert created.returncode == 0, created.stderr.decode()
    produce(brokers, topic_name, orders(["ok"] * 500))

    first = _summary(run_cli("consume", topic_name, "-g", group, "-c", "120", "--json"))
    assert first["stopped_by"] == "count"
    assert first["final_commit"] == {f"{topic_name}:0": 120}
    assert first["metrics"]["lag"] == 380  # 500 records, 120 taken
    assert first["metrics"]["in_flight"] == 0
    assert first["metrics"]["paused_partitions"] == 0

    rest = _summary(run_cli("consume", topic_name, "-g", group, "-e", "--json"))
    assert rest["metrics"]["received"] == 380
    assert rest["metrics"]["lag"] == 0 and rest["metrics"]["in_flight"] == 0


def test_a_read_to_an_offset_midway_reports_the_rest_as_lag(run_cli, brokers, topic_name):
    created = run_cli("create-topics", topic_name, "-p", "2")
    assert created.returncode == 0, created.stderr.decode()
    produce(brokers, topic_name, orders(["ok"] * 400))  # keys k0..k9 over both partitions
    ends = _summary(run_cli("consume", topic_name, "-e", "--json", "-f", "value"))
    assert ends["metrics"]["received"] == 400 and ends["metrics"]["lag"] == 0

    window = run_cli("consume", topic_name, "--from", "10", "--to", "50", "--json")
    summary = _summary(window)
    assert summary["metrics"]["received"] == 80  # offsets 10..49 of each partition
    assert summary["metrics"]["lag"] == 400 - 2 * 50  # everything from offset 50 on is left


def test_backpressure_shows_as_a_paused_partition_until_the_work_is_done(
    cli_env, brokers, topic_name, tmp_path: Path, g
):
    """5,000 records behind a handler that waits: 4,000 (the in-flight bound) are taken, then
    the partition is paused; /metrics shows it, and everything settles to 0 at the end."""
    group = g("pause")
    gate = tmp_path / "gate"
    env = {
        **cli_env,
        "PYTHONPATH": str(REPO),
        "KAFKACTL_TEST_LOG": str(tmp_path / "processed.log"),
        "KAFKACTL_TEST_GATE": str(gate),
    }
    created = subprocess.run(
        [sys.executable, "-m", "kafkactl", "create-topics", topic_name, "-g", group, "-p", "1"],
        env=env,
        capture_output=True,
        cwd=tmp_path,
    )
    assert created.returncode == 0, created.stderr.decode()
    produce(brokers, topic_name, orders(["ok"] * 5000))
    port = _free_port()
    args = ["consume", topic_name, "-g", group, "--handler", f"{HANDLERS}:gated", "-w", "1"]
    proc = track(
        subprocess.Popen(
            [sys.executable, "-m", "kafkactl", *args, "-e", "--json", "--metrics-port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    )
    seen: dict[str, float] = {}

    def paused() -> bool:
        seen.update(_scrape(port))
        return seen.get("kafkactl_paused_partitions") == 1.0

    wait_for(paused, 90, "the main partition paused by backpressure")
    assert seen["kafkactl_in_flight"] >= 4000  # the bound, taken and waiting for the handler
    time.sleep(1.0)  # measured again while paused: the rest is still there
    seen.update(_scrape(port))
    assert seen["kafkactl_paused_partitions"] == 1.0
    assert seen["kafkactl_lag"] == 5000 - seen["kafkactl_received_total"]
    gate.touch()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()[-3000:]
    metrics = json.loads(out)["metrics"]
    assert metrics["processed"] == 5000
    assert (metrics["in_flight"], metrics["paused_partitions"], metrics["lag"]) == (0, 0, 0)
