"""topics delete / alter-config / add-partitions / delete-records against the real broker, both
engines; what changed is read back with kcat or kafka-python's own admin client."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import ConfigResource, ConfigResourceType

from tests.integration.hostile_cases import kcat_read
from tests.integration.kafka_helpers import one_line_error


def _ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    assert b"Traceback" not in result.stderr
    return result


def _topic(run_cli, brokers: str, name: str, partitions: int, records: int = 0) -> None:
    _ok(run_cli("create-topics", name, "-p", str(partitions), "--no-retry", "-q"))
    if records:
        producer = KafkaProducer(bootstrap_servers=brokers.split(","))
        for n in range(records):
            producer.send(name, b"%d" % n, partition=n % partitions)
        producer.flush()
        producer.close()


def _config(admin: KafkaAdminClient, topic: str, key: str) -> tuple[str, str]:
    resource = ConfigResource(ConfigResourceType.TOPIC, topic)
    entry = admin.describe_configs([resource], config_filter="all")["topic"][topic][key]
    return entry["value"], entry["config_source"]


def _partitions(admin: KafkaAdminClient, topic: str) -> int:
    return len(admin.describe_topics([topic])[0]["partitions"])


def test_alter_config_plans_then_changes_only_what_is_named(run_cli, brokers, topic_name, admin):
    _topic(run_cli, brokers, topic_name, 1)
    _ok(
        run_cli(
            "topics",
            "alter-config",
            topic_name,
            "--set",
            "max.message.bytes=200000",
            "--execute",
            "-q",
        )
    )
    plan = json.loads(
        _ok(
            run_cli("topics", "alter-config", topic_name, "--set", "retention.ms=123456", "--json")
        ).stdout
    )
    assert plan["executed"] is False
    assert plan["changes"][0]["key"] == "retention.ms" and plan["changes"][0]["new"] == "123456"
    assert _config(admin, topic_name, "retention.ms")[1] == "DEFAULT_CONFIG", "dry run changed it"

    done = _ok(
        run_cli("topics", "alter-config", topic_name, "--set", "retention.ms=123456", "--execute")
    )
    assert "retention.ms" in done.stderr.decode() and "123456" in done.stderr.decode()
    assert _config(admin, topic_name, "retention.ms") == ("123456", "DYNAMIC_TOPIC_CONFIG")
    # Incremental: max.message.bytes set before is still there.
    assert _config(admin, topic_name, "max.message.bytes")[0] == "200000"

    _ok(
        run_cli("topics", "alter-config", topic_name, "--delete", "retention.ms", "--execute", "-q")
    )
    assert _config(admin, topic_name, "retention.ms")[1] == "DEFAULT_CONFIG"
    assert _config(admin, topic_name, "max.message.bytes")[0] == "200000"

    one_line_error(
        run_cli("topics", "alter-config", topic_name, "--set", "retention.mss=1", "--execute"),
        2,
        "retention.mss is not a config of topic",
    )
    refused = run_cli(
        "topics", "alter-config", topic_name, "--set", "retention.ms=abc", "--execute", "-q"
    )
    one_line_error(refused, 1, "the broker refused the change", "retention.ms")
    one_line_error(
        run_cli("topics", "alter-config", "__consumer_offsets", "--set", "retention.ms=1"),
        2,
        "belong to Kafka itself",
    )


def test_add_partitions_plans_warns_grows_and_never_shrinks(run_cli, brokers, topic_name, admin):
    _topic(run_cli, brokers, topic_name, 2)
    plan = _ok(run_cli("topics", "add-partitions", topic_name, "--count", "5", "--json"))
    assert json.loads(plan.stdout)["executed"] is False
    assert "keyed records move to other partitions" in plan.stderr.decode()
    assert _partitions(admin, topic_name) == 2, "the dry run added partitions"

    _ok(run_cli("topics", "add-partitions", topic_name, "--count", "5", "--execute", "-q"))
    assert _partitions(admin, topic_name) == 5
    for count in ("5", "3"):
        one_line_error(
            run_cli("topics", "add-partitions", topic_name, "--count", count, "--execute"),
            2,
            "has 5 partitions and Kafka can only add partitions",
        )
    assert _partitions(admin, topic_name) == 5


def test_delete_records_before_an_offset_then_everything(run_cli, brokers, topic_name):
    _topic(run_cli, brokers, topic_name, 2, records=20)
    plan = json.loads(
        _ok(run_cli("topics", "delete-records", topic_name, "--before", "4", "--json")).stdout
    )
    assert plan["removed"] == 8 and not plan["executed"]
    assert len(kcat_read(brokers, topic_name, values=False)) == 20, "the dry run deleted"

    done = json.loads(
        _ok(
            run_cli(
                "topics",
                "delete-records",
                topic_name,
                "--before",
                "4",
                "-p",
                "0",
                "--execute",
                "--json",
            )
        ).stdout
    )
    assert [(r["partition"], r["new_low"], r["removed"]) for r in done["rows"]] == [(0, 4, 4)]
    left = kcat_read(brokers, topic_name, values=False)
    assert sorted((r.partition, r.offset) for r in left) == sorted(
        [(0, o) for o in range(4, 10)] + [(1, o) for o in range(10)]
    )
    _ok(run_cli("topics", "delete-records", topic_name, "--before", "end", "--execute", "-q"))
    assert kcat_read(brokers, topic_name, values=False) == []
    one_line_error(
        run_cli("topics", "delete-records", topic_name, "--before", "soon"), 2, "--before"
    )
    one_line_error(
        run_cli("topics", "delete-records", topic_name, "--before", "1", "-p", "7"),
        2,
        "--partition 7",
    )


def test_delete_needs_yes_off_a_terminal_and_refuses_internal_topics(
    run_cli, brokers, topic_name, admin
):
    other = f"{topic_name}-b"
    _topic(run_cli, brokers, topic_name, 1, records=3)
    _topic(run_cli, brokers, other, 1)
    one_line_error(run_cli("topics", "delete", topic_name, input=""), 2, "add --yes")
    one_line_error(
        run_cli("topics", "delete", "__consumer_offsets", "--yes"), 2, "belong to Kafka itself"
    )
    one_line_error(
        run_cli("topics", "delete", topic_name, f"{topic_name}-nope", "--yes"),
        2,
        "does not exist",
    )
    assert {topic_name, other} <= set(admin.list_topics()), "a refused delete deleted"

    done = json.loads(_ok(run_cli("topics", "delete", topic_name, other, "--yes", "--json")).stdout)
    assert {(t["name"], t["status"]) for t in done["topics"]} == {
        (topic_name, "done"),
        (other, "done"),
    }
    assert {topic_name, other}.isdisjoint(admin.list_topics())


def _on_a_terminal(cli_env, tmp_path: Path, args: list[str], answer: str):
    """Run kafkactl with stdin on a pseudo-terminal, typing `answer` at the prompt."""
    master, slave = os.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kafkactl", *args],
        env=cli_env,
        cwd=tmp_path,
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    os.close(slave)
    try:
        os.write(master, answer.encode())
        out, err = proc.communicate(timeout=120)
    finally:
        os.close(master)
    return proc.returncode, out, err.decode()


def test_delete_asks_on_a_terminal(run_cli, cli_env, brokers, topic_name, admin, tmp_path):
    _topic(run_cli, brokers, topic_name, 1, records=3)
    code, out, err = _on_a_terminal(cli_env, tmp_path, ["topics", "delete", topic_name], "n\n")
    assert code == 0, err[-2000:]
    assert "delete 1 topic(s) and their 3 record(s)? [y/N]" in err
    assert "nothing was deleted" in err and out == b"", "the prompt never touches stdout"
    assert topic_name in admin.list_topics()
    code, out, err = _on_a_terminal(cli_env, tmp_path, ["topics", "delete", topic_name], "y\n")
    assert code == 0, err[-2000:]
    assert topic_name not in admin.list_topics()
