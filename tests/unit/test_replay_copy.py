"""The headers of a replayed copy, and kafkactl.replay.from."""

from __future__ import annotations

import pytest

from kafkactl import headers as hdr
from kafkactl.replay.copy import parse_replay_from, replay_headers
from kafkactl.replay.deadletter import read_dead_letter
from tests.unit.replay_samples import (
    CONNECT,
    DLQ,
    KARAFKA,
    SPRING,
    SPRING_RETRY_TOPIC_DLT,
    kafkactl_headers,
    record,
)


def test_replay_headers_reset_retry_state_and_set_replay_fields_once():
    dl = read_dead_letter(
        record(kafkactl_headers(**{hdr.REPLAY_COUNT: 1, hdr.REPLAY_AT: 5, hdr.REPLAY_FROM: "x"}))
    )
    out = replay_headers(dl, DLQ, now_ms=123_456)
    names = [k for k, _ in out]
    assert len(names) == len(set(names)), names
    for name in hdr.RETRY_STATE:
        assert hdr.get(out, name) is None, name
    assert hdr.get_text(out, hdr.REPLAY_COUNT) == "2"
    assert hdr.get_text(out, hdr.REPLAY_AT) == "123456"
    assert hdr.get_text(out, hdr.REPLAY_FROM) == f"{DLQ}:1:7"
    # Kept: message-id, the record's own headers, the write-once origin fields.
    assert hdr.get_text(out, "message-id") == "id-1"
    assert hdr.get_text(out, "trace") == "abc"
    assert hdr.get_text(out, hdr.ORIGINAL_TOPIC) == "orders"
    assert hdr.get_text(out, hdr.ORIGINAL_OFFSET) == "40"
    assert hdr.get_text(out, hdr.GROUP) == "billing"
    assert names[:2] == ["message-id", "trace"], "the record's own headers keep their order"


def test_first_replay_counts_one():
    out = replay_headers(read_dead_letter(record(kafkactl_headers())), DLQ, now_ms=1)
    assert hdr.get_text(out, hdr.REPLAY_COUNT) == "1"


def test_replay_headers_of_foreign_records_carry_the_origin():
    out = replay_headers(read_dead_letter(record(CONNECT)), DLQ, now_ms=1, group="billing")
    assert hdr.get_text(out, hdr.ORIGINAL_TOPIC) == "payments"
    assert hdr.get_text(out, hdr.ORIGINAL_PARTITION) == "3"
    assert hdr.get_text(out, hdr.ORIGINAL_OFFSET) == "1234"
    assert hdr.get_text(out, hdr.GROUP) == "billing"
    # No message-id in the DLQ: the one the consumer would have derived from the origin.
    assert hdr.get_text(out, "message-id") == "payments/3/1234"
    assert not [k for k, _ in out if k.startswith("__connect.errors.")], "error context left out"
    spring = replay_headers(read_dead_letter(record(SPRING)), DLQ, now_ms=1)
    assert hdr.get_text(spring, hdr.ORIGINAL_OFFSET) == str(2**40 + 3)
    assert hdr.get_text(spring, hdr.ORIGINAL_TIMESTAMP) == "1700000000000"
    bare = replay_headers(read_dead_letter(record([])), DLQ, now_ms=1)
    assert hdr.get_text(bare, "message-id") == f"{DLQ}/1/7"


def test_replay_from_round_trip():
    assert parse_replay_from(f"{DLQ}:3:99") == (DLQ, 3, 99)
    assert parse_replay_from("a.b-c_d:0:0") == ("a.b-c_d", 0, 0)
    assert parse_replay_from("nonsense") is None
    assert parse_replay_from("t:x:1") is None
    assert parse_replay_from(None) is None


# --- a framework's error context is left out of the copies --------------------------------------

# Business headers a dead letter carries besides the framework's: kept on every copy.
BUSINESS = [("tenant", b"acme"), ("traceparent", b"00-" + b"1" * 32 + b"-" + b"2" * 16 + b"-01")]
SPRING_RETRY = [
    ("retry_topic-attempts", (3).to_bytes(4, "big")),
    ("retry_topic-backoff-timestamp", (1_700_000_001_000).to_bytes(8, "big")),
    ("retry_topic-original-timestamp", (1_700_000_000_000).to_bytes(8, "big")),
    ("springDeserializerExceptionValue", b"\xac\xed serialized exception"),
]


def _names(headers) -> list[str]:
    return [k for k, _ in headers]


@pytest.mark.parametrize(
    ("style", "context", "origin"),
    [
        ("connect", CONNECT, ("payments", "3", "1234")),
        ("spring", SPRING + SPRING_RETRY, ("invoices", "5", str(2**40 + 3))),
        ("spring", SPRING_RETRY_TOPIC_DLT[1:], ("orders", "0", "12")),
        ("karafka", KARAFKA, ("shipments", "4", "812")),
    ],
)
def test_copies_leave_out_a_frameworks_error_context_and_keep_business_headers(
    style, context, origin
):
    dl = read_dead_letter(record(BUSINESS + context))
    assert dl.style == style
    out = replay_headers(dl, DLQ, now_ms=1)
    names = _names(out)
    framework = {k for k, _ in context} - {"content-type"}  # Karafka keeps the app's headers
    assert not framework & set(names), f"{style} error context copied: {framework & set(names)}"
    assert names[:2] == ["tenant", "traceparent"], "business headers kept, in their order"
    if style == "karafka":
        assert hdr.get_text(out, "content-type") == "application/json"
    assert len(names) == len(set(names)), names
    got = tuple(
        hdr.get_text(out, n)
        for n in (hdr.ORIGINAL_TOPIC, hdr.ORIGINAL_PARTITION, hdr.ORIGINAL_OFFSET)
    )
    assert got == origin, "the origin survives in kafkactl.original.*"
    assert hdr.get_text(out, hdr.REPLAY_COUNT) == "1"


@pytest.mark.parametrize(
    "context", [CONNECT, SPRING + SPRING_RETRY, SPRING_RETRY_TOPIC_DLT[1:], KARAFKA]
)
def test_keep_foreign_headers_keeps_them(context):
    dl = read_dead_letter(record(BUSINESS + context))
    out = replay_headers(dl, DLQ, now_ms=1, keep_foreign=True)
    assert out[: len(BUSINESS) + len(context)] == BUSINESS + context
    assert hdr.get_text(out, hdr.ORIGINAL_TOPIC) == dl.original_topic


def test_karafka_words_without_a_karafka_origin_are_business_headers():
    # An app's own `source_topic` on a kafkactl dead letter: not Karafka's, so it is kept.
    own = [("source_topic", b"crm"), ("source_attempts", b"1")]
    out = replay_headers(read_dead_letter(record(own + kafkactl_headers())), DLQ, now_ms=1)
    assert hdr.get_text(out, "source_topic") == "crm"
    assert hdr.get_text(out, "source_attempts") == "1"


def _fail_again(copy: list, framework: list) -> list:
    """What a framework that appends its headers (Connect; Spring's originals) writes to its
    dead-letter topic when the copy fails again: the copy's headers, then its own."""
    return [*copy, *framework]


def _size(headers) -> int:
    return sum(len(k) + len(v) for k, v in headers)


@pytest.mark.parametrize("context", [CONNECT, SPRING])
def test_round_after_round_each_header_once_and_no_growth(context):
    dead = BUSINESS + context
    sizes = []
    for round_no in range(1, 5):
        dl = read_dead_letter(record(dead, offset=round_no))
        copy = replay_headers(dl, DLQ, now_ms=round_no)
        assert hdr.get_text(copy, hdr.REPLAY_COUNT) == str(round_no)
        dead = _fail_again(copy, context)
        names = _names(dead)
        assert len(names) == len(set(names)), f"round {round_no}: {names}"
        sizes.append(_size(dead))
    # Only kafkactl's own headers come on top of the first dead letter, and only once.
    assert len(set(sizes)) == 1, sizes
    own = [(k, v) for k, v in copy if k.startswith("kafkactl.") or k == hdr.MESSAGE_ID]
    assert sizes[0] == _size(BUSINESS + context) + _size(own)


def test_with_keep_foreign_headers_the_frameworks_headers_pile_up():
    dead = BUSINESS + CONNECT
    for round_no in range(1, 4):
        copy = replay_headers(read_dead_letter(record(dead)), DLQ, now_ms=1, keep_foreign=True)
        dead = _fail_again(copy, CONNECT)
        assert _names(dead).count("__connect.errors.topic") == round_no + 1
