"""`dlq summary` against the real broker, on both engines: a DLQ of mixed kafkactl, Kafka
Connect, Spring Kafka and Karafka dead letters (written with kafka-python and kcat), summarised
with exact counts checked against an independent count; `--by`; `--json`; bad flags; and the
top error class in `health` and `groups describe`."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter

import pytest
from kafka import KafkaProducer

from tests.integration.kafka_helpers import kcat, one_line_error, read_all

GROUP = f"billing-{uuid.uuid4().hex[:6]}"  # the broker may be shared with other test runs
HOUR = 3_600_000
NOW = int(time.time() * 1000) // HOUR * HOUR - 2 * HOUR  # a whole hour, two hours ago


def _kafkactl(topic: str, cls: str, message: str, kind: str, replays: int = 0) -> list:
    headers = [
        ("message-id", b"m"),
        ("kafkactl.original.topic", topic.encode()),
        ("kafkactl.original.partition", b"0"),
        ("kafkactl.original.offset", b"12"),
        ("kafkactl.group", GROUP.encode()),
        ("kafkactl.attempt", b"3"),
        ("kafkactl.error.kind", kind.encode()),
        ("kafkactl.error.class", cls.encode()),
        ("kafkactl.error.message", message.encode()),
    ]
    if replays:
        headers.append(("kafkactl.replay.count", str(replays).encode()))
    return headers


def _spring(n: int) -> list:
    return [
        ("kafka_dlt-original-topic", b"invoices"),
        ("kafka_dlt-original-partition", (1).to_bytes(4, "big")),
        ("kafka_dlt-original-offset", (n).to_bytes(8, "big")),
        ("kafka_dlt-original-consumer-group", b"invoicing"),
        ("kafka_dlt-exception-fqcn", b"org.springframework.kafka.KafkaException"),
        ("kafka_dlt-exception-message", f"invoice {n} has no customer".encode()),
    ]


@pytest.fixture
def dlq(run_cli, brokers: str, topic_name: str) -> str:
    """The main topic with the group's tiers and DLQ, and 25 dead letters in the DLQ.

    kafkactl: 7 ValueError (orders, 'order N failed', in the first hour), 3 TimeoutError
    replayed 3 times (parked), written with kafka-python; Spring: 2 (invoices); Connect: 4
    (payments) and Karafka: 5 (shipments), written with kcat.
    """
    created = run_cli("create-topics", topic_name, "-g", GROUP, "--partitions", "3", "-q")
    assert created.returncode == 0, created.stderr.decode()
    name = f"{topic_name}.{GROUP}.dlq"
    producer = KafkaProducer(bootstrap_servers=brokers.split(","))
    sends = [
        producer.send(
            name,
            key=f"k{i}".encode(),
            value=b"{}",
            headers=_kafkactl("orders", "ValueError", f"order {i} failed", "fatal"),
            timestamp_ms=NOW + i,
        )
        for i in range(7)
    ]
    sends += [
        producer.send(
            name,
            key=b"k-timeout",
            value=b"{}",
            headers=_kafkactl("orders", "TimeoutError", f"timed out after {i}s", "timeout", 3),
            timestamp_ms=NOW + HOUR + i,
        )
        for i in range(3)
    ]
    sends += [
        producer.send(name, key=b"inv", value=b"{}", headers=_spring(n), timestamp_ms=NOW + HOUR)
        for n in range(2)
    ]
    producer.flush()
    for future in sends:
        future.get(timeout=30)
    producer.close()
    connect = [
        "-H",
        "__connect.errors.topic=payments",
        "-H",
        "__connect.errors.partition=2",
        "-H",
        "__connect.errors.offset=99",
        "-H",
        "__connect.errors.exception.class.name=org.apache.kafka.connect.errors.DataException",
        "-H",
        "__connect.errors.exception.message=Converting byte[] to Kafka Connect data failed",
    ]
    kcat(brokers, "-P", "-t", name, *connect, data=b"a\nb\nc\nd\n")
    karafka = [
        "-H",
        "source_topic=shipments",
        "-H",
        "source_partition=0",
        "-H",
        "source_offset=812",
        "-H",
        "source_consumer_group=karafka_shipping",
        "-H",
        "source_attempts=2",
    ]
    kcat(brokers, "-P", "-t", name, *karafka, data=b"1\n2\n3\n4\n5\n")
    return name


def _independent(brokers: str, name: str) -> tuple[Counter, Counter]:
    """Counts per error class and per original topic, from kafka-python's own reading."""
    classes: Counter = Counter()
    topics: Counter = Counter()
    for record in read_all(brokers, name):
        h = {k: v for k, v in record.headers or []}
        cls = (
            h.get("kafkactl.error.class")
            or h.get("__connect.errors.exception.class.name")
            or h.get("kafka_dlt-exception-fqcn")
        )
        classes[cls.decode() if cls else None] += 1
        topic = (
            h.get("kafkactl.original.topic")
            or h.get("__connect.errors.topic")
            or h.get("kafka_dlt-original-topic")
            or h.get("source_topic")
        )
        topics[topic.decode() if topic else None] += 1
    return classes, topics


def _summary(run_cli, *args: str) -> dict:
    result = run_cli("dlq", "summary", *args, "--json")
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    assert b"Traceback" not in result.stderr
    return json.loads(result.stdout)


def test_counts_per_class_match_an_independent_count(run_cli, brokers, topic_name, dlq):
    doc = _summary(run_cli, topic_name, "-g", GROUP)
    classes, _ = _independent(brokers, dlq)
    assert sum(classes.values()) == 21
    assert (doc["dlq"], doc["scanned"], doc["matched"], doc["exact"]) == (dlq, 21, 21, True)
    got = {g["class"]: g["count"] for g in doc["groups"]}
    assert got == dict(classes)
    assert doc["conventions"] == {"connect": 4, "kafkactl": 10, "karafka": 5, "spring": 2}
    assert doc["parked"] == 3
    value_error = doc["groups"][0]
    assert (value_error["group"], value_error["kind"]) == ("fatal ValueError", "fatal")
    assert value_error["messages"] == [{"value": "order <n> failed", "count": 7, "error": 0}]
    assert value_error["consumer_groups"][0] == {"value": GROUP, "count": 7, "error": 0}
    assert value_error["attempts"] == {"min": 3, "max": 3, "histogram": {"3": 7}}
    assert value_error["first_failure"] < value_error["last_failure"]
    timeout = next(g for g in doc["groups"] if g["class"] == "TimeoutError")
    assert (timeout["parked"], timeout["replays"]) == (3, {"3": 3})
    karafka = next(g for g in doc["groups"] if g["class"] is None)
    assert karafka["group"] == "(no error class)"
    assert karafka["topics"] == [{"value": "shipments", "count": 5, "error": 0}]
    assert karafka["consumer_groups"][0]["value"] == "karafka_shipping"
    assert karafka["attempts"]["max"] == 2


def test_by_topic_message_key_hour(run_cli, brokers, topic_name, dlq):
    _, topics = _independent(brokers, dlq)
    by_topic = _summary(run_cli, dlq, "--by", "topic")  # TOPIC is the DLQ itself
    assert {g["group"]: g["count"] for g in by_topic["groups"]} == dict(topics)
    assert dict(topics) == {"orders": 10, "payments": 4, "invoices": 2, "shipments": 5}
    by_message = _summary(run_cli, dlq, "--dlq", "-g", GROUP, "--by", "message")
    messages = {g["group"]: g["count"] for g in by_message["groups"]}
    assert messages["order <n> failed"] == 7
    assert messages["timed out after <n>s"] == 3
    assert messages["invoice <n> has no customer"] == 2
    assert messages["-"] == 5  # Karafka sets no message
    by_key = _summary(run_cli, dlq, "--by", "key", "--top", "2")
    assert [g["group"] for g in by_key["groups"]] == ["-", "k-timeout"]  # 9 without a key, 3
    assert by_key["groups"][0]["count"] == 9 and by_key["group_count"] == 10
    by_hour = _summary(run_cli, dlq, "--by", "hour")
    hours = {g["group"]: g["count"] for g in by_hour["groups"]}
    first = time.strftime("%Y-%m-%dT%H:00Z", time.gmtime(NOW / 1000))
    second = time.strftime("%Y-%m-%dT%H:00Z", time.gmtime((NOW + HOUR) / 1000))
    assert (hours[first], hours[second]) == (7, 5)
    assert sum(hours.values()) == 21


def test_since_and_until_bound_the_pass(run_cli, topic_name, dlq):
    doc = _summary(run_cli, dlq, "--since", str(NOW + HOUR), "--until", str(NOW + 2 * HOUR))
    assert doc["matched"] == 5  # the 3 timeouts and 2 Spring records of the second hour
    assert {g["class"] for g in doc["groups"]} == {
        "TimeoutError",
        "org.springframework.kafka.KafkaException",
    }
    assert doc["since"].startswith(time.strftime("%Y-%m-%dT%H", time.gmtime((NOW + HOUR) / 1000)))


def test_json_schema(run_cli, topic_name, dlq):
    doc = _summary(run_cli, topic_name, "-g", GROUP)
    assert set(doc) == {
        "dlq",
        "by",
        "since",
        "until",
        "scanned",
        "matched",
        "parked",
        "max_replays",
        "first_failure",
        "last_failure",
        "conventions",
        "group_count",
        "exact",
        "groups",
        "seconds",
        "interrupted",
    }
    for group in doc["groups"]:
        assert set(group) == {
            "group",
            "kind",
            "class",
            "count",
            "count_error",
            "first_failure",
            "last_failure",
            "messages",
            "topics",
            "consumer_groups",
            "attempts",
            "replays",
            "parked",
        }
        assert set(group["attempts"]) == {"min", "max", "histogram"}
        for top in group["messages"] + group["topics"] + group["consumer_groups"]:
            assert set(top) == {"value", "count", "error"}


def test_table_on_stderr_and_nothing_with_quiet(run_cli, topic_name, dlq):
    table = run_cli("dlq", "summary", topic_name, "-g", GROUP)
    assert table.returncode == 0 and table.stdout == b""
    text = table.stderr.decode()
    assert "fatal ValueError" in text and "order <n> failed" in text
    assert "21 dead letters (connect 4, kafkactl 10, karafka 5, spring 2)" in text
    quiet = run_cli("dlq", "summary", topic_name, "-g", GROUP, "-q")
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, b"", b"")


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (("--by", "colour"), 2, "--by 'colour' is not a grouping"),
        (("--since", "yesterday-ish"), 2, "--since"),
        (("--since", "-1h", "--until", "-2h"), 2, "--since must be before --until"),
        (("--top", "0"), 2, "--top 0 is out of range"),
        (("--max-replays", "0"), 2, "--max-replays 0 is out of range"),
    ],
)
def test_bad_flags_exit_2_with_one_line(run_cli, topic_name, args, code, fragment):
    one_line_error(run_cli("dlq", "summary", f"{topic_name}.dlq", *args), code, fragment)


def test_a_missing_dlq_is_one_line(run_cli, topic_name):
    one_line_error(
        run_cli("dlq", "summary", topic_name, "-g", GROUP),
        1,
        f"DLQ topic {topic_name}.{GROUP}.dlq does not exist",
    )


def test_health_and_groups_describe_show_the_top_error(run_cli, brokers, topic_name, dlq):
    health = run_cli("health", "-t", topic_name, "-g", GROUP, "--json")
    assert health.returncode == 1, health.stderr.decode()  # degraded: dead letters waiting
    group = json.loads(health.stdout)["groups"][0]
    assert group["dlq_depth"] == 21
    assert group["dlq_top_error"] == {
        "error_class": "ValueError",
        "kind": "fatal",
        "count": 7,
        "sampled": 21,
    }
    table = run_cli("health", "-t", topic_name, "-g", GROUP)
    assert "21 dead letters waiting (top error fatal ValueError: 7 of the last 21)" in (
        " ".join(table.stderr.decode().split())  # the verdict line may wrap
    )
    # a group the cluster knows (offsets committed on the main topic), with this DLQ
    reset = run_cli(
        "groups", "reset-offsets", GROUP, "-t", topic_name, "--to", "earliest", "--execute", "-q"
    )
    assert reset.returncode == 0, reset.stderr.decode()
    described = run_cli("groups", "describe", GROUP, "--json")
    assert described.returncode == 0, described.stderr.decode()
    (mine,) = [p for p in json.loads(described.stdout)["pipeline"] if p["topic"] == dlq]
    assert (mine["depth"], mine["top_error"]["error_class"]) == (21, "ValueError")
    table = run_cli("groups", "describe", GROUP)
    assert "fatal ValueError (7 of the last 21)" in " ".join(table.stderr.decode().split())
