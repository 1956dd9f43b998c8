"""create-topics against the real broker: the five pipeline topics, idempotence, bad input."""

from __future__ import annotations

import json

import pytest

from tests.integration.kafka_helpers import one_line_error


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


@pytest.mark.parametrize(
    ("flags", "fragments"),
    [
        (("--partitions", "0"), ("--partitions 0 is out of range: use 1 to 2147483647",)),
        (("-p", "99999999999"), ("--partitions 99999999999", "int32")),
        (("-p", "2147483648"), ("--partitions 2147483648", "int32")),
        (("-r", "40000"), ("--replication-factor 40000", "1 to 32767", "int16")),
        (("-r", "0"), ("--replication-factor 0",)),
        (("-g", "bad group"), ("group name 'bad group'",)),
        (("-g", "g" * 250), ("group name", "at most 249")),
    ],
)
def test_out_of_range_numbers_and_bad_names_exit_2_naming_the_flag(
    run_cli, admin, topic_name, flags, fragments
):
    result = run_cli("create-topics", topic_name, *flags)
    one_line_error(result, 2, *fragments)
    assert topic_name not in admin.list_topics()


@pytest.mark.parametrize("name", ["adv bad/name*", "t\u00e9", "..", "x" * 250, ""])
def test_an_illegal_topic_name_exits_2_before_connecting(run_cli, name):
    result = run_cli("create-topics", "ok-name", name, env={"KAFKA_BROKERS": "127.0.0.1:1"})
    one_line_error(result, 2, "topic name")


def test_a_tier_name_past_kafkas_limit_is_refused_up_front(run_cli, admin):
    topic = "t" * 240
    result = run_cli("create-topics", topic, "-g", "grp")
    one_line_error(result, 2, "retry", "at most 249")
    assert topic not in admin.list_topics()


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
