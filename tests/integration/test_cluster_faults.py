"""The fault suite on a real 3-node cluster (replication 3, min.insync.replicas 2), both engines.

Each case breaks the cluster in the middle of a run (a leader killed with -9, a node paused
with SIGSTOP, every node restarted in turn, consumers coming and going) and counts the outcome
with an independent reader (kcat), never with kafkactl itself. Every run is under a hard
timeout that kills its process group. `whole_cluster` heals the cluster before and after each
test, so one case's damage never reaches the next.
"""

from __future__ import annotations

import json
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.integration.cluster_helpers import Cluster
from tests.integration.hostile_cases import KAFKACTL, finish, kcat_read, start
from tests.integration.kafka_helpers import (
    committed_and_end,
    fully_committed,
    orders,
    processed,
    produce,
    track,
    wait_for,
)

# Run last and alone (scripts/test.sh: after the rest of the suite; `-m cluster` for these
# only): three more JVMs beside the shared broker's busy tests would slow both on 2 cores.
pytestmark = pytest.mark.cluster

HANDLERS = "tests.integration.cluster_handlers"
RUN_TIMEOUT = 300.0


def _env(cli_env: dict[str, str], cluster: Cluster, **extra: str) -> dict[str, str]:
    return {**cli_env, "KAFKA_BROKERS": cluster.bootstrap, "PYTHONPATH": str(REPO), **extra}


def _create(env: dict[str, str], topic: str, *args: str) -> None:
    ran = subprocess.run(
        [*KAFKACTL, "create-topics", topic, "-p", "3", "-r", "3", "-q", *args],
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr.decode()


def _slow_lines(total: int, chunk: int, pause: float, fail_every: int = 0) -> str:
    """A shell command printing JSON lines {"id": n, "mode": ...} in chunks, `pause` seconds
    apart; with `fail_every` k, ids with n % k == 3 have mode `always` (they fail for ever)."""
    code = (
        "import sys, time\n"
        f"k = {fail_every}\n"
        "def line(i):\n"
        "    mode = 'always' if k and i % k == 3 else 'ok'\n"
        '    return \'{"id": %d, "mode": "%s"}\\n\' % (i, mode)\n'
        f"for start in range(0, {total}, {chunk}):\n"
        f"    end = min(start + {chunk}, {total})\n"
        "    sys.stdout.write(''.join(line(i) for i in range(start, end)))\n"
        "    sys.stdout.flush()\n"
        f"    time.sleep({pause})\n"
    )
    return f"{sys.executable} -c {shlex.quote(code)}"


def _ids(cluster: Cluster, topic: str) -> list[int]:
    """The `id` of every record in `topic`, read by kcat."""
    return [json.loads(r.value)["id"] for r in kcat_read(cluster.bootstrap, topic, timeout=120)]


def _exactly_once(ids: list[int], total: int) -> None:
    repeats = {i: n for i, n in Counter(ids).items() if n > 1}
    assert not repeats, f"{len(repeats)} records written more than once, e.g. {list(repeats)[:5]}"
    missing = set(range(total)) - set(ids)
    assert not missing, f"{len(missing)} records lost, e.g. {sorted(missing)[:5]}"


def _consumer(env: dict[str, str], tmp_path: Path, name: str, *args: str) -> subprocess.Popen:
    """A `consume` process in the background, its stderr in tmp_path/err-<name>.log."""
    proc = subprocess.Popen(
        [*KAFKACTL, "consume", *args],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / f"err-{name}.log", "ab"),  # noqa: SIM115 (the child keeps it)
        start_new_session=True,
    )
    return track(proc)


def _errors(tmp_path: Path) -> str:
    """The last log lines of every consumer (assigned, revoked, warnings; no metrics tables)."""
    out = []
    for path in sorted(tmp_path.glob("err-*.log")):
        lines = [
            line
            for line in path.read_text(errors="replace").splitlines()
            if line.startswith(("{", "error", "kafkactl:"))
        ]
        out.append(f"--- {path.name}\n" + "\n".join(lines[-25:]))
    return "\n".join(out)


def _until(predicate: Callable[[], bool], timeout: float, what: Callable[[], str]) -> None:
    """wait_for with a description made at the timeout (the consumers' logs by then)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what()}")
        time.sleep(0.2)


def _assigned(tmp_path: Path, name: str) -> bool:
    """Whether consumer `name` has been given partitions (it logs `assigned ...`)."""
    log = tmp_path / f"err-{name}.log"
    return log.exists() and "assigned " in log.read_text(errors="replace")


def _stop(proc: subprocess.Popen, tmp_path: Path) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(90)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"consume did not stop after SIGTERM\n{_errors(tmp_path)}") from None
    assert code == 0, f"a SIGTERM stop is a clean exit (got {code})\n{_errors(tmp_path)}"


def _consumed_topics(topic: str, group: str) -> list[str]:
    """What a pipeline's group reads and commits: the main topic and its retry tiers."""
    return [topic, *(f"{topic}.{group}.retry.{n}" for n in (1, 2, 3))]


# --- produce --------------------------------------------------------------------------------


def test_leader_killed_mid_produce_every_line_exactly_once(
    whole_cluster: Cluster, cli_env, topic_name, tmp_path
) -> None:
    env = _env(cli_env, whole_cluster)
    _create(env, topic_name, "--no-retry")
    total = 30_000
    victim = whole_cluster.leader(topic_name, 0)
    script = f"{_slow_lines(total, 500, 0.05)} | {' '.join(KAFKACTL)} produce {topic_name} -q"
    t0 = time.monotonic()
    proc = start(["bash", "-c", f"{script} --key-field id"], env, stdin=subprocess.DEVNULL)
    time.sleep(1.0)
    whole_cluster.node("kill", victim)
    ran = finish(proc, "produce while its leader dies", t0, RUN_TIMEOUT)
    assert ran.returncode == 0, ran
    assert whole_cluster.leader(topic_name, 0) != victim, "the leadership moved"
    _exactly_once(_ids(whole_cluster, topic_name), total)


def test_paused_node_mid_produce_every_line_exactly_once(
    whole_cluster: Cluster, cli_env, topic_name, tmp_path
) -> None:
    env = _env(cli_env, whole_cluster)
    _create(env, topic_name, "--no-retry")
    total = 20_000
    victim = whole_cluster.leader(topic_name, 1)
    script = f"{_slow_lines(total, 500, 0.25)} | {' '.join(KAFKACTL)} produce {topic_name} -q"
    t0 = time.monotonic()
    proc = start(["bash", "-c", f"{script} --key-field id"], env, stdin=subprocess.DEVNULL)
    time.sleep(1.5)
    whole_cluster.node("pause", victim)
    time.sleep(15)  # past the controller's broker session timeout (9 s): the node is fenced
    whole_cluster.node("resume", victim)
    ran = finish(proc, "produce while a node is paused", t0, RUN_TIMEOUT)
    assert ran.returncode == 0, ran
    _exactly_once(_ids(whole_cluster, topic_name), total)


# --- the pipeline ---------------------------------------------------------------------------


def test_node_killed_mid_pipeline_every_record_handled_once_or_dead_lettered(
    whole_cluster: Cluster, cli_env, topic_name, tmp_path
) -> None:
    group = "cf"
    env = _env(
        cli_env,
        whole_cluster,
        KAFKACTL_TEST_LOG=str(tmp_path / "processed.log"),
        KAFKA_RETRY_DELAYS="200ms,200ms,200ms",
    )
    _create(env, topic_name, "-g", group)
    total = 3000
    modes = ["always" if i % 50 == 7 else "once" if i % 9 == 4 else "ok" for i in range(total)]
    dead = {i for i, m in enumerate(modes) if m == "always"}
    produce(whole_cluster.bootstrap, topic_name, orders(modes))
    log = tmp_path / "processed.log"
    store = f"sqlite:{tmp_path / 'dedupe.db'}"
    proc = _consumer(
        env, tmp_path, "c", topic_name, "-g", group, "--handler", f"{HANDLERS}:slow_handle",
        "--dedupe", store,
    )  # fmt: skip
    _until(
        lambda: len(processed(log)) >= 500,
        180,
        lambda: f"progress before the kill ({len(processed(log))} handled)\n{_errors(tmp_path)}",
    )
    whole_cluster.node("kill", whole_cluster.leader(topic_name, 0))
    dlq = f"{topic_name}.{group}.dlq"

    def settled() -> bool:
        return {i for i, _, _ in processed(log)} == set(range(total)) - dead

    _until(settled, 240, lambda: f"every record handled\n{_errors(tmp_path)}")
    wait_for(lambda: len(kcat_read(whole_cluster.bootstrap, dlq)) >= len(dead), 120, "the DLQ")
    _stop(proc, tmp_path)
    handled = [i for i, _, _ in processed(log)]
    repeats = {i: n for i, n in Counter(handled).items() if n > 1}
    assert not repeats, f"the SQLite store must stop every re-run: {repeats}"
    assert sorted(_ids(whole_cluster, dlq)) == sorted(dead), "exactly the failing records"
    offsets = committed_and_end(whole_cluster.bootstrap, group, _consumed_topics(topic_name, group))
    assert fully_committed(offsets), offsets


def test_rolling_restart_under_produce_consume_and_replay(
    whole_cluster: Cluster, cli_env, topic_name, tmp_path
) -> None:
    group = "rr"
    log = tmp_path / "processed.log"
    env = _env(
        cli_env,
        whole_cluster,
        KAFKACTL_TEST_LOG=str(log),
        KAFKA_RETRY_DELAYS="200ms,200ms,200ms",
    )
    _create(env, topic_name, "-g", group)
    target = f"{topic_name}-replayed"
    _create(env, target, "--no-retry")
    total = 12_000
    # Every 40th id fails for ever (mode always): it ends in the DLQ, then is replayed.
    lines = _slow_lines(total, 300, 0.1, fail_every=40)
    consumer = _consumer(
        env, tmp_path, "c", topic_name, "-g", group, "--handler", f"{HANDLERS}:slow_handle",
        "--dedupe", f"sqlite:{tmp_path / 'dedupe.db'}",
    )  # fmt: skip
    t0 = time.monotonic()
    producer = start(
        ["bash", "-c", f"{lines} | {' '.join(KAFKACTL)} produce {topic_name} -q --key-field id"],
        env,
        stdin=subprocess.DEVNULL,
    )
    for node in (1, 2, 3):
        whole_cluster.node("stop", node)
        time.sleep(2)
        whole_cluster.node("start", node)
    ran = finish(producer, "produce through a rolling restart", t0, RUN_TIMEOUT)
    assert ran.returncode == 0, ran
    dead = {i for i in range(total) if i % 40 == 3}
    _until(
        lambda: {i for i, _, _ in processed(log)} == set(range(total)) - dead,
        240,
        lambda: f"every record handled\n{_errors(tmp_path)}",
    )
    dlq = f"{topic_name}.{group}.dlq"
    wait_for(lambda: len(kcat_read(whole_cluster.bootstrap, dlq)) >= len(dead), 120, "the DLQ")
    _stop(consumer, tmp_path)
    handled = [i for i, _, _ in processed(log)]
    assert not [i for i, n in Counter(handled).items() if n > 1], "a record handled twice"
    assert sorted(_ids(whole_cluster, dlq)) == sorted(dead)

    # The replay, with a node restarting under it: every dead letter copied once.
    replay_done: list[subprocess.CompletedProcess[bytes]] = []

    def replay() -> None:
        argv = [*KAFKACTL, "replay-dlq", topic_name, "-g", group, "--to", target, "--yes"]
        done = subprocess.run(
            [*argv, "--rate", "100"], env=env, capture_output=True, timeout=RUN_TIMEOUT
        )
        replay_done.append(done)

    worker = threading.Thread(target=replay)
    worker.start()
    time.sleep(1)
    whole_cluster.node("stop", 2)
    time.sleep(2)
    whole_cluster.node("start", 2)
    worker.join(RUN_TIMEOUT)
    assert replay_done and replay_done[0].returncode == 0, replay_done
    copies = _ids(whole_cluster, target)
    assert sorted(copies) == sorted(dead), "each dead letter replayed exactly once"
    offsets = committed_and_end(whole_cluster.bootstrap, group, _consumed_topics(topic_name, group))
    assert fully_committed(offsets), offsets


def test_members_scale_out_and_in_with_a_sigterm_and_a_kill_9(
    whole_cluster: Cluster, cli_env, topic_name, tmp_path
) -> None:
    group = "sc"
    log = tmp_path / "processed.log"
    env = _env(cli_env, whole_cluster, KAFKACTL_TEST_LOG=str(log), KAFKACTL_TEST_SLEEP="0.01")
    _create(env, topic_name, "-g", group, "-p", "6")
    total = 4000
    produce(whole_cluster.bootstrap, topic_name, orders(["ok"] * total))
    args = (topic_name, "-g", group, "--handler", f"{HANDLERS}:slow_handle", "--no-retry")

    def progress(at_least: int, what: str) -> None:
        _until(
            lambda: len(processed(log)) >= at_least,
            180,
            lambda: f"{what} ({len(processed(log))} handled)\n{_errors(tmp_path)}",
        )

    first = _consumer(env, tmp_path, "m0", *args)
    progress(300, "the first member")
    others = [_consumer(env, tmp_path, f"m{n}", *args) for n in (1, 2, 3)]
    for name in ("m1", "m2", "m3"):
        _until(
            lambda name=name: _assigned(tmp_path, name),
            180,
            lambda name=name: f"member {name}\n{_errors(tmp_path)}",
        )
    progress(1200, "four members")
    _stop(others[0], tmp_path)
    others[1].send_signal(signal.SIGKILL)
    others[1].wait(30)
    progress(2400, "after the kill")
    _stop(others[2], tmp_path)
    # The killed member's partitions come to the last one once its session (30 s) expires;
    # everything is done when the group has committed every offset.
    offsets = lambda: committed_and_end(whole_cluster.bootstrap, group, [topic_name])  # noqa: E731
    _until(
        lambda: fully_committed(offsets()),
        240,
        lambda: f"every offset committed by the last member: {offsets()}\n{_errors(tmp_path)}",
    )
    _stop(first, tmp_path)
    handled = [i for i, _, _ in processed(log)]
    assert set(handled) == set(range(total)), "a record was never handled"
    repeats = sum(n - 1 for n in Counter(handled).values() if n > 1)
    # Without a dedupe store, only what the killed member had fetched and not committed may run
    # again (bounded in-flight work), far below the total.
    assert repeats <= 1000, f"{repeats} repeats: more than one in-flight window"


# --- health on a damaged cluster, and produce below min.insync.replicas ---------------------


def _health(env: dict[str, str], *args: str) -> tuple[int, dict, str]:
    ran = subprocess.run(
        [*KAFKACTL, "health", "--json", *args], env=env, capture_output=True, timeout=120
    )
    err = ran.stderr.decode()
    assert "Traceback" not in err and "unexpected" not in err, err
    return ran.returncode, json.loads(ran.stdout), err


def test_one_node_down_health_names_the_missing_broker_and_partitions_at_min_insync(
    whole_cluster: Cluster, cli_env, topic_name
) -> None:
    env = _env(cli_env, whole_cluster)
    group = "hd"
    _create(env, topic_name, "-g", group)
    code, report, _ = _health(env, "-t", topic_name, "--expect-brokers", "3")
    assert (code, report["verdict"]) == (0, "healthy"), report["reasons"]
    assert (report["expected_brokers"], report["missing_brokers"]) == (3, [])
    whole_cluster.node("kill", 3)

    def shrunk() -> bool:
        return _health(env, "-t", topic_name, "-g", group)[1]["missing_brokers"] == [3]

    wait_for(shrunk, 60, "the controller to fence the dead node")

    def at_min_everywhere() -> bool:
        topics = _health(env, "-t", topic_name, "-g", group)[1]["topics"]
        return all(t["at_min_isr"] for t in topics)

    wait_for(at_min_everywhere, 60, "every ISR to lose the dead node")
    code, report, _ = _health(env, "-t", topic_name, "-g", group, "--expect-brokers", "3")
    assert code == 1 and report["verdict"] == "degraded", report["reasons"]
    assert [b["node_id"] for b in report["brokers"]] == [1, 2]
    assert (report["expected_brokers"], report["missing_brokers"]) == (3, [3])
    assert report["controller_id"] in (1, 2)
    assert "2 of 3 brokers answer (missing: 3)" in report["reasons"]
    main = next(t for t in report["topics"] if t["name"] == topic_name)
    assert main["min_insync"] == 2 and main["at_min_isr"] == [0, 1, 2], main
    assert main["under_replicated"] == [0, 1, 2] and main["below_min_isr"] == []
    dlq = next(t for t in report["topics"] if t["role"] == "dlq")
    assert dlq["at_min_isr"] == [0, 1, 2], "the pipeline's DLQ is checked too"
    assert any(f"{topic_name} partitions 0,1,2 are down to min.insync.replicas=2" in r
               for r in report["reasons"]), report["reasons"]  # fmt: skip
    described = subprocess.run(
        [*KAFKACTL, "topics", "describe", topic_name, "--json"],
        env=env, capture_output=True, timeout=60,
    )  # fmt: skip
    states = [p["state"] for p in json.loads(described.stdout)["partitions"]]
    assert states == ["isr-shrunk"] * 3, described.stderr.decode()


def test_two_nodes_down_produce_reports_every_line_it_could_not_deliver(
    whole_cluster: Cluster, cli_env, topic_name, tmp_path
) -> None:
    env = _env(cli_env, whole_cluster)
    _create(env, topic_name, "--no-retry")
    whole_cluster.node("kill", 2)
    whole_cluster.node("kill", 3)
    total = 500
    lines = b"".join(b'{"id": %d, "mode": "ok"}\n' % i for i in range(total))
    reject = tmp_path / "rejects.jsonl"
    t0 = time.monotonic()
    # A record nobody acknowledges fails after the delivery timeout (2 min by default); a user who
    # wants to know sooner shortens it, as here (the same keys on both engines).
    timeouts = ["-X", "request.timeout.ms=10000", "-X", "delivery.timeout.ms=20000"]
    proc = start(
        [*KAFKACTL, *timeouts, "produce", topic_name, "--key-field", "id", "--json",
         "--reject-file", str(reject)],
        env,
    )  # fmt: skip
    ran = finish(proc, "produce with two of three nodes down", t0, RUN_TIMEOUT, input=lines)
    assert ran.returncode == 1, ran
    assert "Traceback" not in ran.err and "unexpected" not in ran.err, ran
    summary = json.loads(ran.stdout)
    assert summary["read"] == total
    reported = [json.loads(line)["line"] for line in reject.read_text().splitlines()]
    assert summary["failed"] == len(reported) and summary["published"] + len(reported) == total
    whole_cluster.healed()
    delivered = _ids(whole_cluster, topic_name)
    # Every line is in the topic or reported, none both ways: a reported line "may or may
    # not have been written" only when it timed out in flight, which kcat then shows.
    assert set(delivered) | {n - 1 for n in reported} == set(range(total))
    assert len(delivered) == len(set(delivered)), "a line written twice"
