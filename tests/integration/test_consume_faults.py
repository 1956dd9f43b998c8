"""consume under failure: kill -9 and restart, two consumers sharing a group, broker restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from tests.conftest import REPO
from tests.integration.kafka_helpers import (
    committed_and_end,
    fully_committed,
    orders,
    processed,
    produce,
    track,
    wait_for,
)

HANDLERS = "tests.integration.pipeline_handlers"
WORKERS = 4  # consume's default worker pool


def _start(cli_env: dict[str, str], tmp_path: Path, *args: str, log: Path) -> subprocess.Popen:
    env = {
        **cli_env,
        "PYTHONPATH": str(REPO),
        "KAFKACTL_TEST_LOG": str(log),
        "KAFKACTL_TEST_SLEEP": "0.003",
        "KAFKA_LOG_LEVEL": os.environ.get("KAFKACTL_TEST_CONSUMER_LOG_LEVEL", "INFO"),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "kafkactl", "consume", *args, "-q"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / f"err-{log.stem}.log", "ab"),  # noqa: SIM115 (child keeps it)
    )
    track(proc)
    return proc


def _logs(tmp_path: Path) -> str:
    return "\n".join(p.read_text() for p in sorted(tmp_path.glob("err-*.log")))


def _errors(tmp_path: Path) -> str:
    return "\n".join(p.read_text()[-2000:] for p in sorted(tmp_path.glob("err-*.log")))


def _ids(log: Path) -> list[int]:
    return [i for i, _, _ in processed(log)]


def test_kill_9_and_restart_loses_nothing_and_sqlite_dedupe_runs_none_twice(
    run_cli, cli_env, brokers, topic_name, tmp_path
):
    assert run_cli("create-topics", topic_name, "-g", "k9", "-p", "3").returncode == 0
    total = 3000
    produce(brokers, topic_name, orders(["ok"] * total))
    log = tmp_path / "processed.log"
    store = f"sqlite:{tmp_path / 'dedupe.db'}"
    args = (topic_name, "-g", "k9", "--handler", f"{HANDLERS}:slow", "--dedupe", store)

    first = _start(cli_env, tmp_path, *args, log=log)
    wait_for(lambda: len(_ids(log)) >= 600, 60, "the first consumer to make progress")
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    done_before = len(_ids(log))
    assert done_before < total, "killed too late to prove anything"

    second = _start(cli_env, tmp_path, *args, "-e", log=log)
    assert second.wait(120) == 0, _errors(tmp_path)
    ids = _ids(log)
    assert set(ids) == set(range(total)), "a message was lost"
    duplicates = {i: n for i, n in Counter(ids).items() if n > 1}
    # The SQLite store prevents every re-run of a message whose success was recorded. The one
    # window no at-least-once consumer can close is a handler that finished its side effect in
    # the instant of the kill, before its success was recorded: at most one message per worker,
    # each among the last ones the killed consumer handled.
    assert set(duplicates.values()) <= {2}, f"re-run more than once: {duplicates}"
    assert len(duplicates) <= WORKERS, f"the sqlite store must prevent re-runs: {duplicates}"
    last_before_kill = ids[done_before - 2 * WORKERS : done_before]
    assert set(duplicates) <= set(last_before_kill), (
        f"only messages in flight at the kill may run again: {duplicates}"
    )
    assert fully_committed(committed_and_end(brokers, "k9", [topic_name]))


def test_two_consumers_share_partitions_and_a_stop_hands_over(
    run_cli, cli_env, brokers, topic_name, tmp_path
):
    assert run_cli("create-topics", topic_name, "-g", "pair", "-p", "4").returncode == 0
    log_a, log_b = tmp_path / "a.log", tmp_path / "b.log"
    args = (topic_name, "-g", "pair", "--handler", f"{HANDLERS}:slow", "--no-retry")
    a = _start(cli_env, tmp_path, *args, log=log_a)
    wait_for(lambda: "assigned " + topic_name in _logs(tmp_path), 60, "the first member")
    b = _start(cli_env, tmp_path, *args, log=log_b)
    wait_for(lambda: _logs(tmp_path).count("assigned " + topic_name) >= 3, 60, "the rebalance")
    total = 2000
    produce(brokers, topic_name, orders(["ok"] * total))
    wait_for(lambda: len(_ids(log_a)) > 50 and len(_ids(log_b)) > 50, 60, "both to get work")

    a.send_signal(signal.SIGTERM)
    assert a.wait(60) == 0, "a SIGTERM stop is a clean exit"
    wait_for(lambda: set(_ids(log_a)) | set(_ids(log_b)) >= set(range(total)), 120, "all work")
    b.send_signal(signal.SIGTERM)
    assert b.wait(60) == 0
    everything = _ids(log_a) + _ids(log_b)
    assert set(everything) == set(range(total))
    offsets = committed_and_end(brokers, "pair", [topic_name])
    assert fully_committed(offsets), offsets


def test_broker_restart_midway_loses_nothing(
    run_cli, cli_env, brokers, topic_name, tmp_path, restartable_broker, g
):
    # A group of its own per engine: a member of the other engine's run that the restart keeps
    # in the group for its 30 s session would hold the rebalance, and with it every commit.
    group = g("rs")
    assert run_cli("create-topics", topic_name, "-g", group, "-p", "2").returncode == 0
    total = 3000
    produce(brokers, topic_name, orders(["ok"] * total))
    log = tmp_path / "processed.log"
    consumer = _start(
        cli_env, tmp_path, topic_name, "-g", group, "--handler", f"{HANDLERS}:slow", log=log
    )
    wait_for(lambda: len(_ids(log)) >= 300, 60, "progress before the restart")
    restartable_broker.restart()
    wait_for(lambda: set(_ids(log)) >= set(range(total)), 180, "every message after restart")
    # Committed while it runs: a restart that outlasts the 30 s session takes the partitions
    # away ("lost"), and a SIGTERM during the rejoin may leave that work uncommitted (said on
    # stderr; read again). The guarantee is that it gets committed, not when.
    deadline = time.monotonic() + 120
    while not fully_committed(offsets := committed_and_end(brokers, group, [topic_name])):
        assert time.monotonic() < deadline, f"never committed: {offsets}\n{_errors(tmp_path)}"
        time.sleep(1)
    consumer.send_signal(signal.SIGTERM)
    assert consumer.wait(60) == 0, _errors(tmp_path)
    offsets = committed_and_end(brokers, group, [topic_name])
    assert fully_committed(offsets), f"{offsets}\n{_errors(tmp_path)}"
    assert os.path.getsize(log) > 0
