"""The failure-storm breaker against the real broker (issue 23, part 1), on both engines.

A downstream outage (an --exec handler failing while a marker file exists, or kafkactl itself out
of file descriptors) is held, not dead-lettered: the tiers and the DLQ get nothing from it, every
record is handled exactly once afterwards (SQLite dedupe) and committed. Genuinely bad records
(5 %) still go through the tiers into the DLQ, exactly those. Counted with kcat and the group's
committed offsets.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from tests.integration.hostile_cases import KAFKACTL, kafkactl, kcat_read, kill_group
from tests.integration.kafka_helpers import committed_and_end, track

TIERS = "1s,1s"  # two short retry tiers: a bad record reaches the DLQ within seconds

# Reads the record's id ({"id": N}); fails while DIR/down exists (the outage), and for ids
# divisible by 20 when BAD is set (5 % genuinely bad); logs each success; the record with id
# TRIGGER starts the outage once handled.
HANDLER = """#!/bin/sh
n=$(tr -dc 0-9)
if [ -e "{dir}/down" ]; then echo "downstream down" >&2; exit 1; fi
if [ -n "{bad}" ] && [ $((n % 20)) -eq 0 ]; then echo "bad record $n" >&2; exit 1; fi
echo "$n" >> "{dir}/handled"
if [ "$n" = "{trigger}" ]; then touch "{dir}/down"; fi
"""


def _group(topic: str) -> str:
    """The test's own group: members of one group rebalance together whatever their topics, so
    a group shared with tests running beside it would rebalance this one every few seconds."""
    return f"g-{topic}"


def _setup(env: dict, brokers: str, tmp: Path, total: int, bad: bool, trigger: int = -1) -> str:
    topic = f"brk-{uuid.uuid4().hex[:8]}"
    ran = kafkactl("create-topics", topic, "-g", _group(topic), "-p", "3", env=env, timeout=60)
    assert ran.returncode == 0, ran
    lines = "".join(json.dumps({"id": n}) + "\n" for n in range(total)).encode()
    ran = kafkactl("produce", topic, "-k", "id", "-q", env=env, input=lines, timeout=60)
    assert ran.returncode == 0, ran
    script = tmp / "handler.sh"
    script.write_text(HANDLER.format(dir=tmp, bad="1" if bad else "", trigger=trigger))
    script.chmod(0o755)
    return topic


def _start(env: dict, tmp: Path, topic: str, *extra: str) -> subprocess.Popen:
    argv = [
        *KAFKACTL,
        "consume",
        topic,
        "-g",
        _group(topic),
        "--exec",
        str(tmp / "handler.sh"),
        "-w",
        "8",
    ]
    argv += ["--dedupe", f"sqlite:{tmp / 'dedupe.db'}", "-e", "--json", *extra]
    err = (tmp / "stderr").open("wb")
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=err, env=env, start_new_session=True
    )
    return track(proc)


def _wait_for(what: str, check: Callable[[], bool], proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if proc.poll() is not None or time.monotonic() > deadline:
            kill_group(proc)
            raise AssertionError(f"never saw {what} (exit {proc.poll()})")
        time.sleep(0.05)


def _finish(proc: subprocess.Popen, tmp: Path, timeout: float = 90) -> tuple[int, dict, str]:
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        proc.communicate(timeout=15)
        err = (tmp / "stderr").read_text(errors="replace")
        raise AssertionError(f"HUNG: consume did not end\n{err[-3000:]}") from None
    err = (tmp / "stderr").read_text(errors="replace")
    summary = json.loads(out) if out.strip() else {}
    return proc.returncode, summary, err


def _logged(tmp: Path, text: str) -> bool:
    path = tmp / "stderr"
    return path.exists() and text in path.read_text(errors="replace")


def _ids(brokers: str, topic: str) -> list[int]:
    return sorted(json.loads(r.value)["id"] for r in kcat_read(brokers, topic))


def _handled(tmp: Path) -> list[int]:
    path = tmp / "handled"
    return sorted(int(n) for n in path.read_text().split()) if path.exists() else []


def _all_committed(brokers: str, topic: str) -> None:
    tiers = [f"{topic}.{_group(topic)}.retry.1", f"{topic}.{_group(topic)}.retry.2"]
    for tp, (committed, end) in committed_and_end(brokers, _group(topic), [topic, *tiers]).items():
        done = committed if committed is not None and committed >= 0 else 0  # none: nothing read
        assert done == end, f"{tp}: committed {committed}, end {end}"


def _messages(err: str) -> list[str]:
    out = []
    for line in err.splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line)["msg"])
            except (ValueError, KeyError):
                continue
    return out


def test_an_outage_is_held_then_run_once_and_only_bad_records_are_dead_lettered(
    cli_env: dict, brokers: str, tmp_path: Path
) -> None:
    total = 600
    env = {**cli_env, "KAFKA_RETRY_DELAYS": TIERS}
    topic = _setup(env, brokers, tmp_path, total, bad=True, trigger=201)
    proc = _start(env, tmp_path, topic)
    _wait_for("the breaker open", lambda: _logged(tmp_path, "breaker open"), proc, 60)
    time.sleep(3)  # the downstream stays down for a few probes
    (tmp_path / "down").unlink()
    code, summary, err = _finish(proc, tmp_path)

    assert code == 0, err[-3000:]
    bad = [n for n in range(total) if n % 20 == 0]
    assert _handled(tmp_path) == [n for n in range(total) if n % 20], "each good record once"
    # nothing of the outage in the tiers
    assert _ids(brokers, f"{topic}.{_group(topic)}.retry.1") == bad
    assert _ids(brokers, f"{topic}.{_group(topic)}.retry.2") == bad
    assert _ids(brokers, f"{topic}.{_group(topic)}.dlq") == bad
    _all_committed(brokers, topic)
    breaker = summary["metrics"]["breaker"]
    assert (breaker["state"], breaker["opened"]) == ("closed", 1), breaker
    assert "downstream down" in breaker["opened_by"]
    said = _messages(err)
    opened = next(i for i, m in enumerate(said) if m.startswith("failure storm: breaker open"))
    closed = next(i for i, m in enumerate(said) if m.startswith("breaker closed"))
    assert opened < closed


def test_a_five_percent_bad_mix_never_opens_it(cli_env: dict, brokers: str, tmp_path: Path) -> None:
    total = 600
    env = {**cli_env, "KAFKA_RETRY_DELAYS": TIERS}
    topic = _setup(env, brokers, tmp_path, total, bad=True)
    code, summary, err = _finish(_start(env, tmp_path, topic), tmp_path)

    assert code == 0, err[-3000:]
    assert summary["metrics"]["breaker"]["opened"] == 0, summary["metrics"]["breaker"]
    bad = [n for n in range(total) if n % 20 == 0]
    assert _ids(brokers, f"{topic}.{_group(topic)}.dlq") == bad
    assert _handled(tmp_path) == [n for n in range(total) if n % 20]
    _all_committed(brokers, topic)


def test_out_of_file_descriptors_is_an_outage_not_a_flood_of_bad_records(
    cli_env: dict, brokers: str, tmp_path: Path
) -> None:
    """kafkactl's open-file limit lowered (prlimit) while it runs: --exec cannot start, EMFILE."""
    total = 400
    env = {**cli_env, "KAFKA_RETRY_DELAYS": TIERS}
    topic = _setup(env, brokers, tmp_path, total, bad=False)
    proc = _start(env, tmp_path, topic)
    _wait_for("records handled", lambda: len(_handled(tmp_path)) >= 50, proc, 60)
    limit = resource.prlimit(proc.pid, resource.RLIMIT_NOFILE)
    open_now = len(os.listdir(f"/proc/{proc.pid}/fd"))
    resource.prlimit(proc.pid, resource.RLIMIT_NOFILE, (open_now + 2, limit[1]))
    try:
        _wait_for("the breaker open", lambda: _logged(tmp_path, "breaker open"), proc, 30)
        time.sleep(2)
    finally:
        if proc.poll() is None:
            resource.prlimit(proc.pid, resource.RLIMIT_NOFILE, limit)
    code, summary, err = _finish(proc, tmp_path)

    assert code == 0, err[-3000:]
    assert _handled(tmp_path) == list(range(total))
    for suffix in ("retry.1", "retry.2", "dlq"):
        assert kcat_read(brokers, f"{topic}.{_group(topic)}.{suffix}") == [], suffix
    _all_committed(brokers, topic)
    breaker = summary["metrics"]["breaker"]
    assert breaker["state"] == "closed" and breaker["opened"] >= 1, breaker
    assert "EMFILE" in breaker["opened_by"], breaker


def test_health_sees_an_open_breaker_and_sigterm_while_open_commits_nothing_past_it(
    cli_env: dict, brokers: str, tmp_path: Path
) -> None:
    env = {**cli_env, "KAFKA_RETRY_DELAYS": TIERS}
    topic = _setup(env, brokers, tmp_path, 60, bad=False)
    (tmp_path / "down").touch()
    proc = _start(env, tmp_path, topic)
    _wait_for("the breaker open", lambda: _logged(tmp_path, "breaker open"), proc, 60)
    # health -g sees it: the member's commits carry the breaker's state as their metadata.
    deadline = time.monotonic() + 15
    while True:
        health = kafkactl("health", "-t", topic, "-g", _group(topic), "--json", env=env, timeout=60)
        reasons = json.loads(health.stdout)["reasons"] if health.stdout.strip() else []
        if any("failure-storm breaker is open" in r for r in reasons):
            break
        assert time.monotonic() < deadline, f"health never reported the open breaker\n{health}"
        time.sleep(0.5)
    assert health.returncode == 1 and json.loads(health.stdout)["verdict"] == "degraded"
    os.killpg(proc.pid, signal.SIGTERM)
    code, summary, err = _finish(proc, tmp_path, timeout=40)

    assert code == 0, err[-3000:]
    assert summary["stopped_by"] == "SIGTERM" and summary["metrics"]["breaker"]["state"] != "closed"
    for suffix in ("retry.1", "retry.2", "dlq"):
        assert kcat_read(brokers, f"{topic}.{_group(topic)}.{suffix}") == [], suffix
    for tp, (committed, _end) in committed_and_end(brokers, _group(topic), [topic]).items():
        assert committed in (None, -1, 0), f"{tp}: committed {committed} past the outage"


def test_breaker_off_dead_letters_an_outage_as_before(
    cli_env: dict, brokers: str, tmp_path: Path
) -> None:
    env = {**cli_env, "KAFKA_RETRY_DELAYS": TIERS}
    topic = _setup(env, brokers, tmp_path, 60, bad=False)
    (tmp_path / "down").touch()
    code, summary, err = _finish(
        _start(env, tmp_path, topic, "--no-retry", "--breaker", "off"), tmp_path
    )

    assert code == 0, err[-3000:]
    assert _ids(brokers, f"{topic}.{_group(topic)}.dlq") == list(range(60))
    assert "breaker" not in summary["metrics"]
