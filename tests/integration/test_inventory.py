"""topics list/describe and groups list/describe/reset-offsets against the real broker.

The admin client is kafka-python's on both engines (DESIGN §3.6), so these run once. Topics and
group positions are made with kcat and kafka-python's own consumer: tools other than kafkactl.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import NewTopic

from tests.integration.kafka_helpers import kcat


@pytest.fixture
def engine() -> str:
    """One engine: the admin commands run the same client on both."""
    return "kafka-python"


def make_topic(admin, brokers: str, name: str, partitions: int, per_partition: int) -> None:
    admin.create_topics([NewTopic(name, partitions, 1, topic_configs={"retention.ms": "86400000"})])
    for p in range(partitions):
        rows = b"".join(b"v%d\n" % i for i in range(per_partition + p))
        kcat(brokers, "-P", "-t", name, "-p", str(p), data=rows)


def commit_at(brokers: str, group: str, offsets: dict[TopicPartition, int]) -> None:
    """Commit offsets for `group` the way another application would (kafka-python)."""
    from kafka.structs import OffsetAndMetadata

    consumer = KafkaConsumer(bootstrap_servers=brokers, group_id=group, enable_auto_commit=False)
    consumer.assign(list(offsets))
    consumer.commit({tp: OffsetAndMetadata(o, "", -1) for tp, o in offsets.items()})
    consumer.close()


def committed(brokers: str, group: str, tps: list[TopicPartition]) -> dict[int, int | None]:
    consumer = KafkaConsumer(bootstrap_servers=brokers, group_id=group, enable_auto_commit=False)
    try:
        return {tp.partition: consumer.committed(tp) for tp in tps}
    finally:
        consumer.close()


def test_topics_list_matches_kcat_and_watermarks(run_cli, admin, brokers, topic_name):
    make_topic(admin, brokers, topic_name, 2, 3)
    admin.create_topics(
        [NewTopic(f"{topic_name}.g.retry.1", 1, 1), NewTopic(f"{topic_name}.g.dlq", 1, 1)]
    )
    result = run_cli("topics", "list", "--json")
    assert result.returncode == 0, result.stderr.decode()
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    metadata = json.loads(kcat(brokers, "-L", "-J", "-t", topic_name))
    (topic,) = metadata["topics"]
    assert rows[topic_name]["partitions"] == len(topic["partitions"]) == 2
    assert rows[topic_name]["replication"] == len(topic["partitions"][0]["replicas"])
    assert rows[topic_name]["messages"] == 3 + 4  # partition 1 got one more record
    assert rows[topic_name]["role"] == "main"
    assert rows[f"{topic_name}.g.retry.1"]["role"] == "retry 1"
    assert rows[f"{topic_name}.g.dlq"]["role"] == "dlq"
    assert "__consumer_offsets" not in rows
    everything = json.loads(run_cli("topics", "list", "--all", "--json").stdout)
    assert "__consumer_offsets" in {r["name"] for r in everything}
    table = run_cli("topics", "list")
    assert table.returncode == 0 and table.stdout == b""
    assert topic_name in table.stderr.decode()


def test_topics_describe(run_cli, admin, brokers, topic_name):
    make_topic(admin, brokers, topic_name, 2, 3)
    result = run_cli("topics", "describe", topic_name, "--json")
    assert result.returncode == 0, result.stderr.decode()
    detail = json.loads(result.stdout)
    metadata = json.loads(kcat(brokers, "-L", "-J", "-t", topic_name))["topics"][0]
    by_id = {p["partition"]: p for p in metadata["partitions"]}
    for part in detail["partitions"]:
        theirs = by_id[part["partition"]]
        assert part["leader"] == theirs["leader"]
        assert part["replicas"] == [r["id"] for r in theirs["replicas"]]
        assert part["isr"] == [r["id"] for r in theirs["isrs"]]
    assert [(p["low"], p["high"], p["messages"]) for p in detail["partitions"]] == [
        (0, 3, 3),
        (0, 4, 4),
    ]
    assert detail["configs"] == {"retention.ms": "86400000"}
    missing = run_cli("topics", "describe", f"{topic_name}-nope")
    assert missing.returncode == 2
    assert "does not exist" in missing.stderr.decode()


def test_groups_describe_lag_and_list(run_cli, admin, brokers, topic_name):
    make_topic(admin, brokers, topic_name, 2, 3)
    group = f"g-{uuid.uuid4().hex[:8]}"
    commit_at(brokers, group, {TopicPartition(topic_name, 0): 1, TopicPartition(topic_name, 1): 4})
    result = run_cli("groups", "describe", group, "--json")
    assert result.returncode == 0, result.stderr.decode()
    detail = json.loads(result.stdout)
    lag = {
        (p["topic"], p["partition"]): (p["committed"], p["end"], p["lag"])
        for p in detail["partitions"]
    }
    assert lag == {(topic_name, 0): (1, 3, 2), (topic_name, 1): (4, 4, 0)}
    assert detail["total_lag"] == 2 and detail["state"] == "Empty" and detail["members"] == []
    listed = {r["group"]: r for r in json.loads(run_cli("groups", "list", "--json").stdout)}
    assert listed[group]["lag"] == 2 and listed[group]["topics"] == [topic_name]
    unknown = run_cli("groups", "describe", f"{group}-typo")
    assert unknown.returncode == 1
    assert "unknown" in unknown.stderr.decode()


def test_reset_offsets_dry_run_execute_and_refusal(run_cli, admin, brokers, topic_name):
    make_topic(admin, brokers, topic_name, 2, 3)
    group = f"g-{uuid.uuid4().hex[:8]}"
    tps = [TopicPartition(topic_name, 0), TopicPartition(topic_name, 1)]
    commit_at(brokers, group, {tps[0]: 3, tps[1]: 4})

    dry = run_cli("groups", "reset-offsets", group, "-t", topic_name, "--to", "earliest", "--json")
    assert dry.returncode == 0, dry.stderr.decode()
    plan = json.loads(dry.stdout)
    assert not plan["executed"]
    assert [(r["partition"], r["current"], r["new"]) for r in plan["rows"]] == [
        (0, 3, 0),
        (1, 4, 0),
    ]
    assert committed(brokers, group, tps) == {0: 3, 1: 4}, "a dry run changes nothing"

    done = run_cli(
        "groups",
        "reset-offsets",
        group,
        "-t",
        topic_name,
        "-p",
        "1",
        "--shift-by",
        "-3",
        "--execute",
        "--json",
    )
    assert done.returncode == 0, done.stderr.decode()
    assert committed(brokers, group, tps) == {0: 3, 1: 1}

    member = KafkaConsumer(
        topic_name, bootstrap_servers=brokers, group_id=group, enable_auto_commit=False
    )
    try:
        deadline = time.monotonic() + 30
        while not member.assignment() and time.monotonic() < deadline:
            member.poll(200)
        assert member.assignment(), "the test's member never joined"
        refused = run_cli(
            "groups", "reset-offsets", group, "-t", topic_name, "--to", "latest", "--execute"
        )
        assert refused.returncode == 1
        assert "stop its consumers first" in refused.stderr.decode()
        assert committed(brokers, group, tps) == {0: 3, 1: 1}
    finally:
        member.close()


def test_reset_offsets_bad_flags(run_cli, topic_name):
    both = run_cli(
        "groups", "reset-offsets", "g", "-t", topic_name, "--to", "earliest", "--shift-by", "1"
    )
    assert both.returncode == 2 and "exactly one" in both.stderr.decode()
    nonsense = run_cli("groups", "reset-offsets", "g", "-t", topic_name, "--to", "soon")
    assert nonsense.returncode == 2 and "--to" in nonsense.stderr.decode()


@pytest.mark.parametrize(
    "args",
    [
        ("topics", "list"),
        ("topics", "describe", "t"),
        ("groups", "list"),
        ("groups", "describe", "g"),
        ("groups", "reset-offsets", "g", "-t", "t", "--to", "end"),
    ],
)
def test_json_into_a_closed_stdout_is_exit_2_before_connecting(cli_env, tmp_path, args):
    env = {**cli_env, "KAFKA_BROKERS": "127.0.0.1:1"}  # nothing listens: connecting would fail
    line = " ".join([sys.executable, "-m", "kafkactl", *args, "--json"])
    done = subprocess.run(
        ["bash", "-c", f"exec {line} >&-"], env=env, cwd=tmp_path, capture_output=True, timeout=30
    )
    assert done.returncode == 2, done.stderr.decode()
    assert "stdout is closed" in done.stderr.decode()
    assert "cannot reach" not in done.stderr.decode()
