"""The headers of a replayed copy, and kafkactl.replay.from."""

from __future__ import annotations

from kafkactl import headers as hdr
from kafkactl.replay.copy import parse_replay_from, replay_headers
from kafkactl.replay.deadletter import read_dead_letter
from tests.unit.replay_samples import CONNECT, DLQ, SPRING, kafkactl_headers, record


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
    assert hdr.get_text(out, "message-id") == "payments-3-1234"
    assert hdr.get_text(out, "__connect.errors.connector.name") == "jdbc-sink", "kept"
    spring = replay_headers(read_dead_letter(record(SPRING)), DLQ, now_ms=1)
    assert hdr.get_text(spring, hdr.ORIGINAL_OFFSET) == str(2**40 + 3)
    assert hdr.get_text(spring, hdr.ORIGINAL_TIMESTAMP) == "1700000000000"
    bare = replay_headers(read_dead_letter(record([])), DLQ, now_ms=1)
    assert hdr.get_text(bare, "message-id") == f"{DLQ}-1-7"


def test_replay_from_round_trip():
    assert parse_replay_from(f"{DLQ}:3:99") == (DLQ, 3, 99)
    assert parse_replay_from("a.b-c_d:0:0") == ("a.b-c_d", 0, 0)
    assert parse_replay_from("nonsense") is None
    assert parse_replay_from("t:x:1") is None
    assert parse_replay_from(None) is None
