"""`dlq purge` against the real broker: after a filtered replay with a parked record, and after a
replay killed (-9), resumed and stopped, exactly the copied dead letters go (read with kcat);
the rest stays readable; refused while a replay runs; the dry run deletes nothing."""

from __future__ import annotations

import json
import signal
import subprocess
from collections import Counter

from kafka import KafkaProducer

from tests.integration.hostile_cases import kcat_read
from tests.integration.kafka_helpers import header, read_all, wait_for
from tests.integration.test_replay import _start


def _ok(result: subprocess.CompletedProcess, code: int = 0) -> subprocess.CompletedProcess:
    assert result.returncode == code, result.stderr.decode()[-3000:]
    assert b"Traceback" not in result.stderr, result.stderr.decode()[-3000:]
    return result


def _dlq(run_cli, brokers: str, dlq: str, layout: dict[int, list[tuple[str, int]]]) -> None:
    """The DLQ with, per partition, records (error class, kafkactl.replay.count)."""
    _ok(run_cli("create-topics", dlq, "-p", str(len(layout)), "--no-retry", "-q"))
    producer = KafkaProducer(bootstrap_servers=brokers.split(","))
    for partition, records in layout.items():
        for offset, (cls, count) in enumerate(records):
            headers = [
                ("kafkactl.original.topic", b"orders"),
                ("kafkactl.error.kind", b"fatal"),
                ("kafkactl.error.class", cls.encode()),
                ("kafkactl.error.message", b"boom"),
            ]
            if count:
                headers.append(("kafkactl.replay.count", str(count).encode()))
            producer.send(
                dlq,
                json.dumps({"p": partition, "o": offset}).encode(),
                headers=headers,
                partition=partition,
            )
    producer.flush()
    producer.close()


def _purge(run_cli, dlq: str, *flags: str, code: int = 0) -> dict:
    return json.loads(_ok(run_cli("dlq", "purge", dlq, *flags, "--json"), code).stdout)


def _left(brokers: str, dlq: str) -> set[tuple[int, int]]:
    """(partition, offset) of every record still in the DLQ, as kcat reads it."""
    return {(r.partition, r.offset) for r in kcat_read(brokers, dlq, values=False)}


def _copied(brokers: str, target: str, dlq: str) -> Counter:
    """How often each DLQ (partition, offset) was copied to `target`."""
    out: Counter = Counter()
    for record in read_all(brokers, target):
        topic, partition, offset = (header(record, "kafkactl.replay.from") or "").rsplit(":", 2)
        assert topic == dlq
        out[(int(partition), int(offset))] += 1
    return out


def test_purge_after_a_filtered_replay_deletes_only_the_copied_prefix(run_cli, brokers, topic_name):
    dlq, target = f"{topic_name}.dlq", f"{topic_name}.fixed"
    # p0: 20 records of class A, offset 12 replayed 3 times already (parked, never copied).
    # p1: 10 records of class A but offset 5 of class B (the filter leaves it).
    p0 = [("A", 3 if o == 12 else 0) for o in range(20)]
    p1 = [("B" if o == 5 else "A", 0) for o in range(10)]
    _dlq(run_cli, brokers, dlq, {0: p0, 1: p1})
    _ok(run_cli("create-topics", target, "--no-retry", "-q"))
    summary = json.loads(
        _ok(
            run_cli(
                "replay-dlq",
                dlq,
                "--to",
                target,
                "--error-class",
                "A",
                "--yes",
                "--json",
                input="",
            )
        ).stdout
    )
    assert (summary["replayed"], summary["parked"], summary["filtered"]) == (28, 1, 1)

    plan = _purge(run_cli, dlq)
    rows = {r["partition"]: r for r in plan["rows"]}
    assert (rows[0]["delete_to"], rows[0]["deleted"]) == (12, 12)
    assert "offset 12 was parked" in rows[0]["kept_because"]
    assert (rows[1]["delete_to"], rows[1]["deleted"], rows[1]["replayed_above"]) == (5, 5, 4)
    assert "offset 5 not replayed" in rows[1]["kept_because"]
    assert len(_left(brokers, dlq)) == 30, "the dry run deleted something"

    done = _purge(run_cli, dlq, "--execute")
    assert done["deleted"] == 17 and done["executed"]
    left = _left(brokers, dlq)
    assert left == {(0, o) for o in range(12, 20)} | {(1, o) for o in range(5, 10)}
    copied = _copied(brokers, target, dlq)
    gone = {(0, o) for o in range(12)} | {(1, o) for o in range(5)}
    assert all(copied[pos] == 1 for pos in gone), "a deleted dead letter had no copy"
    # Nothing more to delete until the filtered and parked ones are dealt with.
    assert _purge(run_cli, dlq, "--execute")["deleted"] == 0
    assert len(_left(brokers, dlq)) == 13


def test_purge_after_kill_and_resume_loses_nothing(run_cli, cli_env, brokers, topic_name, tmp_path):
    dlq, target = f"{topic_name}.dlq", f"{topic_name}.fixed"
    _dlq(run_cli, brokers, dlq, {0: [("A", 0)] * 30, 1: [("A", 0)] * 30})
    _ok(run_cli("create-topics", target, "--no-retry", "-q"))
    args = (dlq, "--to", target, "--rate", "10", "--yes", "-q")

    killed = _start(cli_env, tmp_path, *args, name="killed")
    wait_for(lambda: sum(_copied(brokers, target, dlq).values()) >= 5, 60, "some copies")
    refused = _ok(run_cli("dlq", "purge", dlq, "--execute"), 1)
    assert "a replay of" in refused.stderr.decode() and "is running" in refused.stderr.decode()
    killed.send_signal(signal.SIGKILL)
    killed.wait(10)

    resumed = _start(cli_env, tmp_path, *args, name="resumed")
    before = sum(_copied(brokers, target, dlq).values())
    wait_for(lambda: sum(_copied(brokers, target, dlq).values()) >= before + 5, 60, "more copies")
    resumed.send_signal(signal.SIGTERM)
    assert resumed.wait(30) == 130, (tmp_path / "resumed.err").read_text()[-2000:]

    partial = _purge(run_cli, dlq, "--execute")
    left = _left(brokers, dlq)
    assert 0 < partial["deleted"] < 60 and len(left) == 60 - partial["deleted"]
    copied = _copied(brokers, target, dlq)
    gone = {(p, o) for p in (0, 1) for o in range(30)} - left
    assert all(copied[pos] >= 1 for pos in gone), "purged a dead letter that was never copied"

    _ok(run_cli("replay-dlq", dlq, "--to", target, "--yes", "-q", input=""))
    assert _purge(run_cli, dlq, "--execute")["deleted"] == len(left)
    assert _left(brokers, dlq) == set()
    copied = _copied(brokers, target, dlq)
    assert copied == Counter({(p, o): 1 for p in (0, 1) for o in range(30)})
