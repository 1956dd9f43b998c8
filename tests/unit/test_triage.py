"""Dead-letter triage: message normalisation, grouping, top-k bounds, every convention, time
bounds, and the one pass over a DLQ on the in-memory engine."""

from __future__ import annotations

import os
import threading

import pytest

from kafkactl import headers as hdr
from kafkactl.config import load_settings
from kafkactl.dlq.scan import DlqMissing, TriageOptions, dlq_top_error, summarize_dlq
from kafkactl.dlq.triage import (
    TopK,
    TriageSummary,
    group_key,
    normalize_message,
    summarize,
)
from kafkactl.kafka.ports import TopicPartition as TP
from kafkactl.replay.deadletter import read_dead_letter
from tests.fakes import FakeCluster
from tests.unit.replay_samples import CONNECT, KARAFKA, SPRING, kafkactl_headers, record

SETTINGS = load_settings({"brokers": "127.0.0.1:9092"}, env={}, config_path=os.devnull)
DLQ = "orders.billing.dlq"


# --- normalisation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("order 17 failed", "order <n> failed"),
        ("order 28 failed", "order <n> failed"),
        ("Read timed out after 30s", "Read timed out after <n>s"),
        ("price 3.14 is below 10,5", "price <n> is below <n>"),
        ("user 'bob' not found", "user <str> not found"),
        ('field "currency" has "XYZ"', "field <str> has <str>"),
        ("id 550e8400-e29b-41d4-a716-446655440000 unknown", "id <uuid> unknown"),
        ("object deadbeef0123 at 0x7ffd12", "object <hex> at <hex>"),
        ("  many   spaces\n", "many spaces"),
        ("decoded", "decoded"),  # hex letters only, no digit: a word, not an id
        ("", ""),
        (None, ""),
    ],
)
def test_normalisation_folds_numbers_ids_and_quoted_values(text, folded):
    assert normalize_message(text) == folded


def test_a_long_message_is_cut_before_it_is_folded():
    assert len(normalize_message("x" * 5000)) == 200


# --- top-k ------------------------------------------------------------------------------------


def test_topk_is_exact_while_nothing_is_dropped():
    counter: TopK[str, None] = TopK(3)
    for key in "aaabbc":
        counter.add(key)
    assert counter.exact
    assert [(k, c, e) for k, c, e, _ in counter.top()] == [("a", 3, 0), ("b", 2, 0), ("c", 1, 0)]


def test_topk_memory_is_bounded_and_heavy_hitters_survive():
    counter: TopK[int, None] = TopK(10)
    truth: dict[int, int] = {}
    for i in range(100_000):
        key = i % 5 if i % 2 else 1000 + i  # 5 heavy keys among 50,000 distinct ones
        counter.add(key)
        truth[key] = truth.get(key, 0) + 1
        assert len(counter) <= 20
    assert not counter.exact
    top = counter.top(5)
    assert sorted(k for k, *_ in top) == [0, 1, 2, 3, 4]
    for key, count, error, _ in top:
        assert count - error <= truth[key] <= count  # the space-saving bounds


def test_topk_payloads_are_created_once_per_key():
    counter: TopK[str, list[int]] = TopK(4, list)
    first = counter.add("a")
    assert first is counter.add("a") and first == []


# --- grouping -----------------------------------------------------------------------------


def _dl(headers, timestamp=1_000, key=b"k1"):
    return read_dead_letter(record(headers, timestamp=timestamp, key=key))


def test_group_keys_for_each_by():
    dl = _dl(kafkactl_headers(), timestamp=1_767_225_599_000)  # 2025-12-31T23:59:59Z
    assert group_key(dl, "class") == "retryable requests.exceptions.Timeout"
    assert group_key(dl, "message") == "Read timed out after <n>s"
    assert group_key(dl, "topic") == "orders"
    assert group_key(dl, "key") == "k1"
    assert group_key(dl, "hour") == "2025-12-31T23:00Z"
    assert group_key(_dl(CONNECT), "class") == "org.apache.kafka.connect.errors.DataException"
    assert group_key(_dl(KARAFKA), "class") == "(no error class)"
    assert group_key(_dl(KARAFKA, key=None), "key") == "-"


def _mixed() -> list:
    fails = [
        _dl(
            kafkactl_headers(
                **{hdr.ERROR_CLASS: "ValueError", hdr.ERROR_MESSAGE: f"order {i} failed"}
            ),
            timestamp=1_000 + i,
        )
        for i in range(5)
    ]
    return [
        *fails,
        _dl(kafkactl_headers(**{hdr.REPLAY_COUNT: 3}), timestamp=2_000),
        _dl(CONNECT, timestamp=3_000),
        _dl(CONNECT, timestamp=3_001),
        _dl(SPRING, timestamp=4_000),
        _dl(KARAFKA, timestamp=5_000),
    ]


def test_a_mixed_dlq_grouped_by_class():
    summary = summarize(_mixed(), TriageSummary(DLQ, "class", max_replays=3))
    doc = summary.as_dict()
    assert (doc["scanned"], doc["matched"], doc["parked"], doc["exact"]) == (10, 10, 1, True)
    assert doc["conventions"] == {"connect": 2, "kafkactl": 6, "karafka": 1, "spring": 1}
    counts = {g["group"]: g["count"] for g in doc["groups"]}
    assert counts == {
        "retryable ValueError": 5,
        "retryable requests.exceptions.Timeout": 1,
        "org.apache.kafka.connect.errors.DataException": 2,
        "org.springframework.kafka.listener.ListenerExecutionFailedException": 1,
        "(no error class)": 1,
    }
    top = doc["groups"][0]
    assert (top["kind"], top["class"]) == ("retryable", "ValueError")
    assert top["messages"] == [{"value": "order <n> failed", "count": 5, "error": 0}]
    assert top["topics"] == [{"value": "orders", "count": 5, "error": 0}]
    assert top["consumer_groups"] == [{"value": "billing", "count": 5, "error": 0}]
    assert top["attempts"] == {"min": 3, "max": 3, "histogram": {"3": 5}}
    assert top["first_failure"].startswith("1970-01-01T00:00:01.000")
    assert top["last_failure"].startswith("1970-01-01T00:00:01.004")
    timeout = next(g for g in doc["groups"] if g["class"] == "requests.exceptions.Timeout")
    assert (timeout["replays"], timeout["parked"]) == ({"3": 1}, 1)
    karafka = next(g for g in doc["groups"] if g["group"] == "(no error class)")
    assert karafka["consumer_groups"][0]["value"] == "karafka_app_shipping"
    assert karafka["attempts"]["min"] == 3


def test_a_mixed_dlq_grouped_by_topic_and_message():
    by_topic = summarize(_mixed(), TriageSummary(DLQ, "topic", max_replays=3)).as_dict()
    assert {g["group"]: g["count"] for g in by_topic["groups"]} == {
        "orders": 6,
        "payments": 2,
        "invoices": 1,
        "shipments": 1,
    }
    assert by_topic["groups"][0]["kind"] is None
    by_message = summarize(_mixed(), TriageSummary(DLQ, "message", max_replays=3)).as_dict()
    assert by_message["groups"][0] == {**by_message["groups"][0], "group": "order <n> failed"}
    assert by_message["groups"][0]["count"] == 5


def test_max_replays_decides_what_is_parked():
    assert summarize(_mixed(), TriageSummary(DLQ, "class", max_replays=4)).parked == 0


def test_time_bounds_since_inclusive_until_exclusive():
    summary = TriageSummary(DLQ, "class", max_replays=3, since_ms=2_000, until_ms=4_000)
    doc = summarize(_mixed(), summary).as_dict()
    assert (doc["scanned"], doc["matched"]) == (10, 3)
    assert doc["first_failure"].endswith("02.000+00:00") and doc["conventions"] == {
        "connect": 2,
        "kafkactl": 1,
    }


def test_groups_stay_bounded_with_millions_of_keys():
    summary = TriageSummary(DLQ, "key", max_replays=3)
    headers = kafkactl_headers()
    for i in range(30_000):
        summary.add(_dl(headers, key=f"key-{i}".encode()))
        assert len(summary.groups) <= 2_000
    doc = summary.as_dict(top=5)
    assert doc["matched"] == 30_000 and not doc["exact"] and len(doc["groups"]) == 5


# --- one pass over a DLQ (in-memory engine) -----------------------------------------------


@pytest.fixture
def cluster() -> FakeCluster:
    cluster = FakeCluster()
    cluster.create_topic(DLQ, 3)
    for n, (headers, ts) in enumerate(
        [(kafkactl_headers(), 1_000), (CONNECT, 2_000), (SPRING, 3_000), (KARAFKA, 4_000)] * 3
    ):
        cluster.produce(DLQ, b"v", key=b"k", headers=headers, partition=n % 3, timestamp=ts)
    return cluster


def _run(cluster: FakeCluster, progress=None, **options) -> TriageSummary:
    return summarize_dlq(
        SETTINGS,
        TriageOptions(DLQ, **options),
        on_progress=progress,
        connect_admin=cluster.connect_admin,
        connect_consumer=cluster.connect_consumer,
    )


def test_summarize_dlq_reads_every_partition_once_and_commits_nothing(cluster):
    seen: list[tuple[int, int]] = []
    summary = _run(cluster, progress=lambda done, total: seen.append((done, total)))
    assert (summary.scanned, summary.matched) == (12, 12)
    assert summary.styles == {"kafkactl": 3, "connect": 3, "spring": 3, "karafka": 3}
    assert seen[0] == (0, 12) and seen[-1] == (12, 12)
    assert cluster.group_commits("") == {}


def test_summarize_dlq_with_since_and_until(cluster):
    summary = _run(cluster, since_ms=2_000, until_ms=4_000)
    assert summary.matched == 6 and summary.styles == {"connect": 3, "spring": 3}


def test_summarize_dlq_stops_when_asked(cluster):
    stop = threading.Event()
    stop.set()
    summary = summarize_dlq(
        SETTINGS,
        TriageOptions(DLQ),
        stop=stop,
        connect_admin=cluster.connect_admin,
        connect_consumer=cluster.connect_consumer,
    )
    assert summary.interrupted and summary.scanned == 0


def test_a_missing_dlq_is_one_clear_error(cluster):
    with pytest.raises(DlqMissing, match="DLQ topic nope does not exist"):
        summarize_dlq(
            SETTINGS,
            TriageOptions("nope"),
            connect_admin=cluster.connect_admin,
            connect_consumer=cluster.connect_consumer,
        )


def test_top_error_reads_only_the_tail(cluster):
    for _ in range(30):
        cluster.produce(DLQ, b"v", headers=CONNECT, partition=0)
    found = dlq_top_error(
        SETTINGS, cluster.connect_admin(), DLQ, last=30, connect_consumer=cluster.connect_consumer
    )
    assert found is not None
    assert found.error_class == "org.apache.kafka.connect.errors.DataException"
    # the last 10 of each partition (partitions 1 and 2 hold 4): not the 42 records in all
    assert (found.count, found.sampled) == (12, 18)
    assert found.kind == "-"


def test_top_error_of_an_empty_or_missing_dlq_is_none(cluster):
    cluster.create_topic("empty.dlq", 2)
    admin = cluster.connect_admin()
    assert dlq_top_error(SETTINGS, admin, "empty.dlq") is None
    assert dlq_top_error(SETTINGS, admin, "missing.dlq") is None


def test_tp_type_is_the_ports_one():
    assert TP(DLQ, 0).topic == DLQ


def test_numbers_beyond_their_range_are_absent_and_the_json_stays_valid() -> None:
    import orjson

    huge = [
        record(kafkactl_headers(**{hdr.ATTEMPT: 2**70}), offset=1),
        record([*KARAFKA[:-1], ("source_attempts", str(10**30).encode())], offset=2),
        record(kafkactl_headers(**{hdr.ATTEMPT: 2}), offset=3),
    ]
    summary = summarize((read_dead_letter(r) for r in huge), TriageSummary(DLQ, "topic", 3))
    doc = orjson.loads(orjson.dumps(summary.as_dict()))
    attempts = {g["group"]: g["attempts"] for g in doc["groups"]}
    assert attempts["orders"] == {"min": 2, "max": 2, "histogram": {"2": 1}}
    assert attempts["shipments"]["max"] is None
