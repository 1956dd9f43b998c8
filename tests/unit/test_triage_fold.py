"""The fast fold of `dlq summary` (kafkactl.dlq.fold): every count, group and sample the same
as folding `DeadLetter`s one by one, for every grouping and every convention, odd headers
included; and the ASCII fast path of message normalisation against the original patterns."""

from __future__ import annotations

import random
import re

import pytest

from kafkactl import headers as hdr
from kafkactl.dlq import fold as fold_module
from kafkactl.dlq.fold import Folder
from kafkactl.dlq.triage import (
    _HEX,
    _NUMBER,
    _QUOTED,
    _UUID,
    BY_CHOICES,
    MESSAGE_CHARS,
    TriageSummary,
    normalize_message,
    summarize,
)
from kafkactl.replay.deadletter import read_dead_letter
from tests.unit.replay_samples import CONNECT, KARAFKA, SPRING, kafkactl_headers, record

DLQ = "orders.billing.dlq"
HOUR = 3_600_000


def _kafkactl(i: int, **extra: object) -> list:
    fields = {
        hdr.ERROR_CLASS: f"app.Error{i % 3}",
        hdr.ERROR_MESSAGE: f"order {i} failed for 550e8400-e29b-41d4-a716-44665544{i:04x}",
        hdr.ATTEMPT: 1 + i % 4,
        hdr.REPLAY_COUNT: i % 5,
        hdr.ORIGINAL_OFFSET: 1000 + i,
    }
    fields.update(extra)
    return [(k, v) for k, v in kafkactl_headers() if k not in fields] + [
        (k, str(v).encode()) for k, v in fields.items()
    ]


def _odd() -> list[list]:
    """Headers the fast path hands to DeadLetter, or must read exactly as it does."""
    return [
        [(hdr.ORIGINAL_TOPIC, b"orders"), (hdr.REPLAY_COUNT, None)],  # no value: b"", malformed
        [(hdr.ORIGINAL_TOPIC, b"orders"), (hdr.ERROR_CLASS, None), (hdr.ERROR_KIND, b"fatal")],
        [(hdr.ORIGINAL_TOPIC, b"orders"), (hdr.ORIGINAL_OFFSET, None)],  # b"": malformed
        [(hdr.ORIGINAL_TOPIC, b"orders"), (hdr.ORIGINAL_PARTITION, None), (hdr.ATTEMPT, None)],
        [(hdr.ERROR_MESSAGE, None), ("__connect.errors.exception.message", b"conn 7 down")],
        [(hdr.GROUP, None), (hdr.ERROR_KIND, None), ("source_consumer_group", b"k-group")],
        [(hdr.ORIGINAL_TOPIC, b"orders"), (hdr.ORIGINAL_OFFSET, b"-1")],  # malformed: parked
        [(hdr.ORIGINAL_TOPIC, b"orders"), (hdr.ORIGINAL_PARTITION, b"2147483648")],
        [(hdr.ORIGINAL_TOPIC, b"orders"), (hdr.ORIGINAL_TIMESTAMP, b" 12 ")],  # spaces: fine
        [(hdr.ORIGINAL_TOPIC, b"orders"), (hdr.ORIGINAL_OFFSET, b"9" * 19)],  # > 2^63-1
        [(hdr.ORIGINAL_TOPIC, b"orders"), (hdr.ORIGINAL_OFFSET, b"1" * 18)],
        [(hdr.ORIGINAL_TOPIC, b"orders"), (hdr.REPLAY_COUNT, b"x3")],
        [(hdr.ORIGINAL_TOPIC, b""), ("__connect.errors.topic", b"payments")],  # empty: next
        [(hdr.ERROR_CLASS, b"First"), (hdr.ERROR_CLASS, b"Last")],  # the last occurrence
        [(hdr.ERROR_MESSAGE, b"first"), (hdr.ERROR_MESSAGE, b"last")],
        [
            (hdr.ORIGINAL_TOPIC, b"orders"),
            (hdr.ORIGINAL_OFFSET, b"-1"),
            (hdr.ORIGINAL_OFFSET, b"5"),
        ],
        [(hdr.ERROR_MESSAGE, b""), ("__connect.errors.exception.message", b"conn 42 down")],
        [(hdr.ERROR_MESSAGE, b"caf\xc3\xa9 \xff 17 \xd9\xa3 0x1F 1x1F")],  # non-ASCII, bad UTF-8
        [(hdr.ERROR_MESSAGE, b"   ")],  # normalises to "": "-"
        [(hdr.ATTEMPT, b"abc"), ("source_attempts", b"7")],  # Karafka's attempts, after
        [(hdr.ATTEMPT, b"12"), (hdr.ERROR_KIND, b"")],  # kind "" reads as "-"
        [(hdr.GROUP, b""), ("kafka_dlt-original-consumer-group", b"spring-group")],
        [],
    ]


def _records() -> list:
    """A DLQ of every convention and the odd cases, keys and hours varied, some repeated."""
    headers = [_kafkactl(i) for i in range(40)]
    headers += [CONNECT, SPRING, KARAFKA] * 5 + _odd() + [_kafkactl(7)] * 3
    out = []
    for i, h in enumerate(headers):
        key = None if i % 11 == 0 else f"key-{i % 13}".encode()
        out.append(record(h, offset=i, partition=i % 3, key=key, timestamp=HOUR * (i % 4) + i))
    return out


def _fold(records: list, summary: TriageSummary, ends: dict[int, int] | None = None) -> None:
    folder = Folder(summary, ends)
    for r in records:
        line = folder.fold(r.topic, r.partition, r.offset, r.key, r.value, r.headers, r.timestamp)
        assert line == b""
    folder.flush()


@pytest.mark.parametrize("by", BY_CHOICES)
@pytest.mark.parametrize("bounds", [(None, None), (HOUR, 3 * HOUR)])
def test_the_fold_counts_exactly_as_dead_letters_one_by_one(by, bounds):
    since, until = bounds
    expected = summarize(
        (read_dead_letter(r) for r in _records()), TriageSummary(DLQ, by, 3, since, until)
    )
    summary = TriageSummary(DLQ, by, 3, since, until)
    _fold(_records(), summary)
    assert summary.as_dict() == expected.as_dict()
    assert summary.matched == expected.matched > 0


def test_the_fold_counts_what_a_known_dlq_holds():
    summary = TriageSummary(DLQ, "class", max_replays=3)
    records = [record(_kafkactl(i), offset=i, timestamp=1_000 + i) for i in range(12)]
    records += [record(CONNECT, offset=20), record(SPRING, offset=21), record(KARAFKA, offset=22)]
    _fold(records, summary)
    doc = summary.as_dict()
    assert (doc["scanned"], doc["matched"]) == (15, 15)
    # replay counts 3 and 4 (i % 5) park: i = 3, 4, 8, 9
    assert doc["parked"] == 4
    assert doc["conventions"] == {"connect": 1, "kafkactl": 12, "karafka": 1, "spring": 1}
    counts = {g["group"]: g["count"] for g in doc["groups"]}
    assert counts == {
        "retryable app.Error0": 4,
        "retryable app.Error1": 4,
        "retryable app.Error2": 4,
        "org.apache.kafka.connect.errors.DataException": 1,
        "org.springframework.kafka.listener.ListenerExecutionFailedException": 1,
        "(no error class)": 1,
    }
    first = doc["groups"][0]
    assert first["messages"] == [{"value": "order <n> failed for <uuid>", "count": 4, "error": 0}]
    # Error0: i = 0, 3, 6, 9: attempts 1, 4, 3, 2; replay counts 0, 3, 1, 4
    assert first["attempts"] == {"min": 1, "max": 4, "histogram": {"1": 1, "2": 1, "3": 1, "4": 1}}
    assert first["replays"] == {"0": 1, "1": 1, "3": 1, "4": 1}
    assert (first["parked"], first["topics"][0]["value"]) == (2, "orders")


def test_records_past_their_partitions_end_are_left_out_uncounted():
    summary = TriageSummary(DLQ, "topic", max_replays=3)
    records = [record(CONNECT, offset=o, partition=p) for p in (0, 1) for o in range(5)]
    _fold(records, summary, ends={0: 3, 1: 5})
    assert (summary.scanned, summary.matched) == (8, 8)
    lone = TriageSummary(DLQ, "topic", max_replays=3)
    _fold([record(CONNECT, partition=2)], lone, ends={0: 3})  # not a partition being read
    assert lone.scanned == 0


def test_many_groups_evict_exactly_as_before(monkeypatch):
    monkeypatch.setattr(fold_module, "CACHE_ENTRIES", 7)  # the caches start over often
    records = [
        record(_kafkactl(i, **{hdr.GROUP: f"g{i % 50}"}), offset=i, key=f"k{i}".encode())
        for i in range(5_000)
    ]
    for by in ("key", "message"):
        expected = summarize((read_dead_letter(r) for r in records), TriageSummary(DLQ, by, 3))
        summary = TriageSummary(DLQ, by, 3)
        _fold(records, summary)
        assert summary.as_dict() == expected.as_dict()
    assert not summary.groups.exact or by == "message"


def test_messages_differing_in_digits_share_one_normalised_form():
    folder = Folder(TriageSummary(DLQ, "message", 3))
    assert folder._message(b"order 17 failed") == folder._message(b"order 99 failed")
    assert len(folder._messages) == 1
    # "0x" is read literally: 0 is never folded into another digit
    assert folder._message(b"at 0x1f") == "at <hex>"
    assert folder._message(b"at 1x1f") == "at <n>x<n>f"


# --- normalisation: the ASCII fast path against the original patterns ---------------------


def _reference(text: str) -> str:
    """normalize_message as it was: the Unicode patterns, always."""
    out = text[:MESSAGE_CHARS]
    out = _QUOTED.sub("<str>", out)
    out = _UUID.sub("<uuid>", out)
    out = _HEX.sub("<hex>", out)
    out = _NUMBER.sub("<n>", out)
    return " ".join(out.split())


PIECES = [
    "0", "7", "12", "0x", "0X", "x", "a", "F", "e", "deadbeef", "DEADBEEF1", "cafe0123",
    "550e8400-e29b-41d4-a716-446655440000", "550E8400-E29B-41D4-A716-446655440000", "-", "--",
    " ", "  ", "\t", "\n", "\x1c", "'", '"', "`", ".", ",", ":", "_", "<", ">", "order", "g",
    "1.5", "3:04", "é", "\u0663", "\u212a", "\u017f", "z9",
]  # fmt: skip


def test_the_ascii_fast_path_folds_exactly_as_the_original_patterns():
    rng = random.Random(25)
    for _ in range(20_000):
        text = "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 14)))
        assert normalize_message.__wrapped__(text) == _reference(text), text
    assert normalize_message.__wrapped__("id 12345678 at x" * 20) == _reference(
        "id 12345678 at x" * 20
    )


def test_the_reference_still_matches_the_patterns_it_copies():
    assert _UUID.flags & re.IGNORECASE and _HEX.flags & re.IGNORECASE


def _reference_and_fold(records: list, by: str) -> tuple[dict, dict]:
    expected = summarize((read_dead_letter(r) for r in records), TriageSummary(DLQ, by, 3))
    summary = TriageSummary(DLQ, by, 3)
    _fold(records, summary)
    return summary.as_dict(), expected.as_dict()


def test_records_counted_together_keep_the_last_records_kind_and_class():
    # "fatal X" is both kind fatal, class X and (Connect: no kind) class "fatal X"
    ours = [(hdr.ERROR_KIND, b"fatal"), (hdr.ERROR_CLASS, b"X")]
    connect = [("__connect.errors.exception.class.name", b"fatal X")]
    for tail in ([ours], [connect]):
        records = [record(h, offset=i) for i, h in enumerate([ours, connect] * 20 + tail)]
        folded, expected = _reference_and_fold(records, "class")
        assert folded == expected
        assert [g["count"] for g in folded["groups"]] == [41]


def test_records_counted_together_across_evictions_count_as_one_by_one():
    # one group whose messages overflow its top-k (64 kept) while others repeat in between
    records = []
    for i in range(600):
        message = f"distinct {'abcdefghij'[i % 10]}{i // 10}" if i % 3 else "repeated 7"
        records.append(record(_kafkactl(i, **{hdr.ERROR_MESSAGE: message}), offset=i))
    for by in ("class", "topic", "hour"):
        folded, expected = _reference_and_fold(records, by)
        assert folded == expected
        assert not folded["groups"][0]["messages"][0]["value"].startswith("distinct")
