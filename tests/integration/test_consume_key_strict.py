"""--ordering key-strict against the real broker, on both engines, counted by kcat.

50 keys x 40 records: some keys have a record that fails once or twice, a few a record that
always fails. The handler's log (ordering_handlers.py) must show every key's records in offset
order; the always-failing records and the records behind them are in the DLQ, in order, marked
as followers; `replay-dlq` brings them back in order. The same holds across a kill -9 and a
restart, and with a second member joining mid-run.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.integration.hostile_cases import KAFKACTL, finish, kcat_read, kill_group, start
from tests.integration.kafka_helpers import one_line_error, produce, wait_for

KEYS, PER_KEY, FAIL_AT, DEAD_AT = 50, 40, 10, 20
DEAD_KEYS = {"k10", "k11", "k12"}
HANDLER = "tests.integration.ordering_handlers:ordered"


def _fail(key: int, seq: int) -> int:
    """How often a record fails before it succeeds (-1: always)."""
    if seq == FAIL_AT and key < 10:
        return 1 if key < 5 else 2
    if seq == DEAD_AT and f"k{key}" in DEAD_KEYS:
        return -1
    return 0


def _setup(run_cli, cli_env, brokers: str, topic: str, group: str, tmp_path: Path) -> dict:
    env = {
        **cli_env,
        "KAFKA_RETRY_DELAYS": "200ms,300ms,400ms",
        "KAFKACTL_TEST_LOG": str(tmp_path / "handled.log"),
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    made = run_cli("create-topics", topic, "-g", group, "-p", "3", env=env)
    assert made.returncode == 0, made.stderr.decode()
    records = [
        (
            f"k{key}".encode(),
            json.dumps({"k": f"k{key}", "seq": seq, "fail": _fail(key, seq)}).encode(),
            [],
        )
        for seq in range(PER_KEY)
        for key in range(KEYS)
    ]
    produce(brokers, topic, records)
    return env


def _consume(topic: str, group: str, *extra: str) -> list[str]:
    return [
        *KAFKACTL,
        "consume",
        topic,
        "-g",
        group,
        "--handler",
        HANDLER,
        "--ordering",
        "key-strict",
        "-w",
        "8",
        *extra,
    ]


def _handled(env: dict) -> list[tuple[str, int]]:
    log = Path(env["KAFKACTL_TEST_LOG"])
    lines = log.read_text().splitlines() if log.exists() else []
    return [(line.split()[0], int(line.split()[1])) for line in lines]


def _first_runs(env: dict) -> dict[str, list[int]]:
    """Each key's records in the order they first succeeded (a re-run after a kill is a
    duplicate, not a reordering)."""
    order: dict[str, list[int]] = {}
    for key, seq in _handled(env):
        if seq not in order.setdefault(key, []):
            order[key].append(seq)
    return order


def _dead(brokers: str, dlq: str) -> dict[str, list[tuple[int, str | None]]]:
    """Each key's dead letters in DLQ order (kcat): (seq, whom it follows)."""
    out: dict[str, list[tuple[int, str | None]]] = {}
    for record in sorted(kcat_read(brokers, dlq), key=lambda r: (r.partition, r.offset)):
        marks = [h for h in record.headers.split(",") if h.startswith("kafkactl.follows=")]
        follows = marks[0].split("=", 1)[1] if marks else None
        out.setdefault(record.key.decode(), []).append((json.loads(record.value)["seq"], follows))
    return out


def _assert_in_order(env: dict, brokers: str, dlq: str) -> dict[str, list[tuple[int, str | None]]]:
    """Every key ran in offset order; the dead keys' failure and its followers are in the DLQ."""
    order = _first_runs(env)
    dead = _dead(brokers, dlq)
    assert set(dead) == DEAD_KEYS, sorted(dead)
    for key in (f"k{i}" for i in range(KEYS)):
        ran = order.get(key, [])
        assert ran == sorted(ran), f"{key} ran out of order: {ran}"
        if key in DEAD_KEYS:
            seqs = [seq for seq, _ in dead[key]]
            firsts = list(dict.fromkeys(seqs))  # a record dead-lettered again after a kill
            assert firsts == list(range(DEAD_AT, PER_KEY)), f"{key} DLQ: {seqs}"
            assert dead[key][0][1] is None  # the failure itself
            assert all(follows for seq, follows in dead[key] if seq > DEAD_AT)
            assert ran == list(range(DEAD_AT)), f"{key} ran past its dead letter: {ran}"
        else:
            assert ran == list(range(PER_KEY)), f"{key}: {ran}"
    return dead


def test_key_strict_keeps_order_through_the_tiers_and_replays_the_dlq_in_order(
    run_cli, cli_env, brokers, topic_name, g, tmp_path
):
    group = g("strict")
    env = _setup(run_cli, cli_env, brokers, topic_name, group, tmp_path)
    dlq = f"{topic_name}.{group}.dlq"

    t0 = time.monotonic()
    ran = finish(start(_consume(topic_name, group, "-e", "--json"), env), "consume", t0, 120)

    assert ran.returncode == 0, ran
    metrics = json.loads(ran.stdout)["metrics"]
    dead = _assert_in_order(env, brokers, dlq)
    dead_count = len(DEAD_KEYS) * (PER_KEY - DEAD_AT)
    assert sum(len(v) for v in dead.values()) == dead_count
    assert metrics["processed"] == KEYS * PER_KEY - dead_count
    assert len(_handled(env)) == KEYS * PER_KEY - dead_count  # each exactly once

    # replay-dlq sends them back (to tier 1) in DLQ order; a replayed copy succeeds.
    replayed = run_cli("replay-dlq", topic_name, "-g", group, "--yes", "--json", env=env, input="")
    assert replayed.returncode == 0, replayed.stderr.decode()
    assert json.loads(replayed.stdout)["replayed"] == dead_count
    t0 = time.monotonic()
    again = finish(start(_consume(topic_name, group, "-e"), env), "consume", t0, 120)
    assert again.returncode == 0, again
    order = _first_runs(env)
    for key in DEAD_KEYS:
        assert order[key] == list(range(PER_KEY)), f"{key} after replay: {order[key]}"


def test_key_strict_survives_a_kill_and_a_restart(
    run_cli, cli_env, brokers, topic_name, g, tmp_path
):
    group = g("strict-kill")
    env = _setup(run_cli, cli_env, brokers, topic_name, group, tmp_path)
    env = {**env, "KAFKACTL_TEST_SLEEP": "0.01"}
    dedupe = f"sqlite:{tmp_path / 'dedupe.db'}"

    first = start(_consume(topic_name, group, "--dedupe", dedupe), env)
    # Killed once the failures are in the tiers with records of their keys following them.
    wait_for(lambda: len(_handled(env)) >= 700, 60, "the first run to handle 700 records")
    kill_group(first)
    first.wait(10)
    t0 = time.monotonic()
    second = start(_consume(topic_name, group, "--dedupe", dedupe, "-e"), env)
    ran = finish(second, "consume after kill -9", t0, 120)

    assert ran.returncode == 0, ran
    _assert_in_order(env, brokers, f"{topic_name}.{group}.dlq")


def test_key_strict_with_a_second_member_joining_mid_run(
    run_cli, cli_env, brokers, topic_name, g, tmp_path
):
    group = g("strict-two")
    env = _setup(run_cli, cli_env, brokers, topic_name, group, tmp_path)
    env = {**env, "KAFKACTL_TEST_SLEEP": "0.01"}

    t0 = time.monotonic()
    one = start(_consume(topic_name, group, "-e"), env)
    wait_for(lambda: len(_handled(env)) >= 500, 60, "the first member to handle 500 records")
    two = start(_consume(topic_name, group, "-e"), env)
    ran_two = finish(two, "the second member", t0, 120)
    ran_one = finish(one, "the first member", t0, 120)

    assert ran_one.returncode == 0, ran_one
    assert ran_two.returncode == 0, ran_two
    assert "assigned" in ran_two.err  # it did take partitions over
    _assert_in_order(env, brokers, f"{topic_name}.{group}.dlq")


def test_key_strict_needs_tiers_with_the_main_topics_partitions(run_cli, cli_env, topic_name, g):
    group = g("strict-parts")
    assert run_cli("create-topics", topic_name, "-g", group, "-p", "2").returncode == 0
    grown = run_cli("topics", "add-partitions", topic_name, "--count", "3", "--execute")
    assert grown.returncode == 0, grown.stderr.decode()

    ran = run_cli("consume", topic_name, "-g", group, "--exec", "true", "--ordering", "key-strict")

    tier = f"{topic_name}.{group}.retry.1"
    wanted = f"{tier} to have as many partitions as {topic_name} (3; it has 2)"
    line = one_line_error(ran, 1, wanted)
    assert f"kafkactl topics add-partitions {tier} --count 3 --execute" in line
