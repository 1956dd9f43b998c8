"""replay-dlq --transform / --transform-handler against the real broker, on both engines:
repaired copies, unrepairable records left in place, the dry run's before -> after, and a
transformed replay killed with SIGKILL and resumed with no duplicates and no gaps."""

from __future__ import annotations

import json
import shutil
import signal
import sys
from collections import Counter
from pathlib import Path

import pytest
from kafka import KafkaProducer

from tests.conftest import REPO
from tests.integration.kafka_helpers import header, read_all, wait_for
from tests.integration.test_replay import _count, _ok, _progress, _start, replay

FUNCTION = "tests.integration.replay_handlers:to_eur"
FIX_ALL = "tests.integration.replay_handlers:any_to_eur"

if shutil.which("jq"):
    TRANSFORM = (
        'jq -c \'if .currency == "bad" then error("no currency for order \\(.id)") '
        'else .currency = "EUR" end\''
    )
    NO_CURRENCY = "jq: error"
else:  # the same transform as a Python one-liner
    TRANSFORM = (
        f"{sys.executable} -c 'import json,sys; o=json.load(sys.stdin); "
        'c=o["currency"]=="bad"; c and sys.exit("no currency for order %d" % o["id"]); '
        'o["currency"]="EUR"; print(json.dumps(o))\''
    )
    NO_CURRENCY = "no currency for order"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The test handlers importable."""
    return {"PYTHONPATH": str(REPO)}


def _setup(run_cli, brokers: str, topic: str, group: str, env, currencies: list[str]) -> str:
    """The topic, its tiers and DLQ; one kafkactl dead letter per currency; returns the DLQ."""
    _ok(run_cli("create-topics", topic, "-g", group, "-p", "2", env=env))
    dlq = f"{topic}.{group}.dlq"
    producer = KafkaProducer(bootstrap_servers=brokers.split(","), linger_ms=5)
    futures = []
    for i, currency in enumerate(currencies):
        headers = [
            ("message-id", f"m{i}".encode()),
            ("kafkactl.original.topic", topic.encode()),
            ("kafkactl.original.partition", str(i % 2).encode()),
            ("kafkactl.original.offset", str(i // 2).encode()),
            ("kafkactl.group", group.encode()),
            ("kafkactl.attempt", b"3"),
            ("kafkactl.error.kind", b"retryable"),
            ("kafkactl.error.class", b"KeyError"),
            ("kafkactl.error.message", b"'currency' unknown"),
        ]
        value = json.dumps({"id": i, "currency": currency}).encode()
        futures.append(
            producer.send(dlq, value, key=f"k{i}".encode(), headers=headers, partition=i % 2)
        )
    producer.flush()
    for future in futures:
        future.get(30)
    producer.close()
    return dlq


def _dlq_state(brokers: str, dlq: str) -> list[tuple[int, int, bytes]]:
    return sorted((r.partition, r.offset, r.value) for r in read_all(brokers, dlq))


def _by_id(records) -> Counter:
    """How many records carry each message-id (an independent kafka-python reader)."""
    return Counter(header(r, "message-id") for r in records)


def _check_copies(records) -> None:
    for r in records:
        order = json.loads(r.value)
        assert order["currency"] == "EUR", r.value
        assert header(r, "kafkactl.replay.transformed") == "true"
        assert header(r, "message-id") == f"m{order['id']}"
        assert r.key == f"k{order['id']}".encode()


def test_transform_by_command_repairs_and_leaves_the_unrepairable_in_place(
    run_cli, brokers, topic_name, env, g
):
    group = g("g1")
    currencies = ["usd", "bad", "usd", "gbp", "bad", "usd"]
    dlq = _setup(run_cli, brokers, topic_name, group, env, currencies)
    before = _dlq_state(brokers, dlq)
    args = (dlq, "--to", "original", "--transform", TRANSFORM, "--yes")

    summary = replay(run_cli, *args, env=env, code=1)

    assert (summary["replayed"], summary["unrepaired"], summary["failed"]) == (4, 2, 0)
    assert summary["transform"] == f"command {TRANSFORM}"
    assert sum(summary["unrepaired_reasons"].values()) == 2
    assert all(NO_CURRENCY in r for r in summary["unrepaired_reasons"])
    assert sorted((r["partition"], r["offset"]) for r in summary["unrepaired_records"]) == [
        (0, 2),
        (1, 0),
    ]
    copies = read_all(brokers, topic_name)
    _check_copies(copies)
    assert _by_id(copies) == Counter({f"m{i}": 1 for i in (0, 2, 3, 5)})
    assert _dlq_state(brokers, dlq) == before, "a replay never changes the DLQ"

    # The same replay again: only the two unrepaired records are tried, and stay.
    again = replay(run_cli, *args, env=env, code=1)
    assert (again["replayed"], again["unrepaired"]) == (0, 2)
    assert _by_id(read_all(brokers, topic_name)) == _by_id(copies)


def test_transform_by_function_then_a_fix_replays_the_rest_once(
    run_cli, brokers, topic_name, env, g
):
    group = g("g1")
    dlq = _setup(run_cli, brokers, topic_name, group, env, ["usd", "bad", "usd", "bad"])
    summary = replay(
        run_cli, dlq, "--to", "original", "--transform-handler", FUNCTION, "-y", env=env, code=1
    )
    assert (summary["replayed"], summary["unrepaired"]) == (2, 2)
    assert set(summary["unrepaired_reasons"]) == {
        "ValueError: no currency for order 1",
        "ValueError: no currency for order 3",
    }
    assert _by_id(read_all(brokers, topic_name)) == Counter({"m0": 1, "m2": 1})

    fixed = replay(run_cli, dlq, "--to", "original", "--transform-handler", FIX_ALL, "-y", env=env)
    assert (fixed["replayed"], fixed["unrepaired"], fixed["skipped"]) == (2, 0, 0)
    copies = read_all(brokers, topic_name)
    _check_copies(copies)
    assert _by_id(copies) == Counter({f"m{i}": 1 for i in range(4)})
    assert _progress(brokers, dlq) == {0: 2, 1: 2}


def test_dry_run_shows_before_and_after_and_sends_nothing(run_cli, brokers, topic_name, env, g):
    group = g("g1")
    dlq = _setup(run_cli, brokers, topic_name, group, env, ["usd", "bad", "gbp", "usd"])
    flags = (dlq, "--to", "original", "--transform", TRANSFORM, "--dry-run", "--show", "3")

    plan = replay(run_cli, *flags, env=env)
    assert plan["dry_run"] and plan["unrepaired"] == 1
    assert plan["targets"] == {topic_name: 3}
    shown = [(p["partition"], p["offset"], p["changes"], p["unrepaired"]) for p in plan["previews"]]
    assert len(shown) == 3
    assert (0, 0, ['.currency: "usd" → "EUR"'], None) in shown
    assert any(p[3] and NO_CURRENCY in p[3] for p in shown)

    table = _ok(run_cli("replay-dlq", *flags, env=env, input=""))
    text = table.stderr.decode()
    assert "before → after" in text and '.currency: "usd" → "EUR"' in text
    assert "unrepaired" in text
    assert _count(brokers, topic_name) == 0 and _progress(brokers, dlq) == {}


def test_transform_flags_are_checked_before_connecting(run_cli, topic_name, env):
    both = run_cli(
        "replay-dlq",
        f"{topic_name}.dlq",
        "--transform",
        "cat",
        "--transform-handler",
        FUNCTION,
        "--dry-run",
        env=env,
    )
    assert both.returncode == 2
    assert "--transform and --transform-handler cannot be combined" in both.stderr.decode()
    missing = run_cli(
        "replay-dlq",
        f"{topic_name}.dlq",
        "--transform-handler",
        "no_such_fixes:f",
        "--dry-run",
        env=env,
    )
    assert missing.returncode == 2 and "no_such_fixes" in missing.stderr.decode()
    assert "Traceback" not in missing.stderr.decode()
    show = run_cli("replay-dlq", f"{topic_name}.dlq", "--show", "2", "--dry-run", env=env)
    assert show.returncode == 2 and "--show needs --transform" in show.stderr.decode()


def test_a_killed_transformed_replay_resumes_without_duplicates_or_gaps(
    run_cli, cli_env, brokers, topic_name, env, g, tmp_path
):
    group = g("g1")
    total = 40
    dlq = _setup(run_cli, brokers, topic_name, group, env, ["usd"] * total)
    args = (dlq, "--to", "original", "--transform", TRANSFORM, "--rate", "10", "--yes")

    killed = _start(cli_env, tmp_path, *args, "-q", name="killed")
    wait_for(lambda: _count(brokers, topic_name) >= 8, 60, "the first replay to send some")
    killed.send_signal(signal.SIGKILL)
    killed.wait(10)
    after_kill = _count(brokers, topic_name)
    assert after_kill < total, "killed too late to prove anything"

    final = replay(run_cli, *args[:-3], "--yes", env=env)
    assert final["stopped_by"] == "end" and final["unrepaired"] == 0
    assert final["replayed"] + final["recovered"] + final["skipped"] >= total - after_kill
    copies = read_all(brokers, topic_name)
    _check_copies(copies)
    # Counted by message-id with an independent reader: each dead letter exactly once.
    assert _by_id(copies) == Counter({f"m{i}": 1 for i in range(total)}), (
        "a dead letter was lost or replayed twice"
    )
    assert replay(run_cli, *args[:-3], "--yes", env=env)["scanned"] == 0
