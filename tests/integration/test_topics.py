"""create-topics against the real broker: the five pipeline topics, idempotence, bad input."""

from __future__ import annotations

import json


def test_creates_topic_with_retry_tiers_and_dlq(run_cli, admin, topic_name):
    result = run_cli(
        "create-topics", topic_name, "--group", "billing", "--partitions", "3", "--json"
    )
    assert result.returncode == 0, result.stderr.decode()
    report = json.loads(result.stdout)
    expected = [
        topic_name,
        f"{topic_name}.billing.retry.1",
        f"{topic_name}.billing.retry.2",
        f"{topic_name}.billing.retry.3",
        f"{topic_name}.billing.dlq",
    ]
    assert [t["name"] for t in report["topics"]] == expected
    assert {t["status"] for t in report["topics"]} == {"created"}
    described = {t["name"]: t for t in admin.describe_topics(expected)}
    for name in expected:
        assert described[name]["error_code"] == 0
        assert len(described[name]["partitions"]) == 3


def test_second_run_reports_exists_and_exits_zero(run_cli, topic_name):
    first = run_cli("create-topics", topic_name, "--group", "billing", "--partitions", "2")
    assert first.returncode == 0, first.stderr.decode()
    again = run_cli(
        "create-topics", topic_name, "--group", "billing", "--partitions", "2", "--json"
    )
    assert again.returncode == 0, again.stderr.decode()
    assert {t["status"] for t in json.loads(again.stdout)["topics"]} == {"exists"}
    table = run_cli("create-topics", topic_name, "--group", "billing", "--partitions", "2")
    assert table.returncode == 0
    assert "exists" in table.stderr.decode()
    assert table.stdout == b"", "tables belong on stderr"


def test_partition_mismatch_is_a_warning_not_an_error(run_cli, topic_name):
    assert run_cli("create-topics", topic_name, "--no-retry", "-p", "3").returncode == 0
    result = run_cli("create-topics", topic_name, "--no-retry", "-p", "5", "--json")
    assert result.returncode == 0
    [topic] = json.loads(result.stdout)["topics"]
    assert topic["status"] == "exists" and topic["partitions"] == 3
    assert "has 3 partitions, not the 5 asked for" in result.stderr.decode()


def test_no_retry_creates_only_the_topic(run_cli, topic_name):
    result = run_cli("create-topics", topic_name, "--no-retry", "--json")
    assert result.returncode == 0
    assert [t["name"] for t in json.loads(result.stdout)["topics"]] == [topic_name]


def test_invalid_partition_count_is_a_clear_usage_error(run_cli, topic_name):
    result = run_cli("create-topics", topic_name, "--partitions", "0")
    assert result.returncode == 2
    err = result.stderr.decode()
    assert "--partitions must be 1 or more" in err
    assert "Traceback" not in err


def test_broker_refusal_exits_one_with_the_reason(run_cli, topic_name):
    result = run_cli("create-topics", topic_name, "--no-retry", "-r", "3", "--json")
    assert result.returncode == 1
    [topic] = json.loads(result.stdout)["topics"]
    assert topic["status"] == "failed"
    assert "replication factor" in topic["detail"].lower()


def test_bad_topic_config_fails_that_topic(run_cli, topic_name):
    result = run_cli("create-topics", topic_name, "--no-retry", "-c", "retention.ms=soon", "--json")
    assert result.returncode == 1
    assert json.loads(result.stdout)["topics"][0]["status"] == "failed"
    malformed = run_cli("create-topics", topic_name, "--no-retry", "-c", "retention.ms")
    assert malformed.returncode == 2
    assert "is not k=v" in malformed.stderr.decode()
