"""Reading dead letters: kafkactl, Kafka Connect, Spring Kafka and Karafka headers."""

from __future__ import annotations

import pytest

from kafkactl import headers as hdr
from kafkactl.replay.copy import replay_headers
from kafkactl.replay.deadletter import decode_int, read_dead_letter
from tests.unit.replay_samples import (
    CONNECT,
    KARAFKA,
    SPRING,
    SPRING_RETRY_TOPIC_DLT,
    kafkactl_headers,
    record,
)


def test_spring_binary_ints():
    assert decode_int((5).to_bytes(4, "big")) == 5
    assert decode_int((2**40).to_bytes(8, "big")) == 2**40
    assert decode_int((-1).to_bytes(4, "big", signed=True)) is None  # out of range
    assert decode_int(b"17") == 17  # text from other writers
    assert decode_int(b"12345") == 12345
    assert decode_int(b"\xff\xfe\x00") is None
    assert decode_int(None) is None


def test_reads_kafkactl_dead_letters():
    dl = read_dead_letter(record(kafkactl_headers(**{hdr.REPLAY_COUNT: 2})))
    assert dl.style == "kafkactl"
    assert (dl.original_topic, dl.original_partition, dl.original_offset) == ("orders", 2, 40)
    assert dl.original_timestamp == 900
    assert dl.group == "billing"
    assert dl.error_class == "requests.exceptions.Timeout"
    assert dl.error_message == "Read timed out after 30s"
    assert dl.replay_count == 2
    assert dl.error_text() == "requests.exceptions.Timeout: Read timed out after 30s"


def test_reads_connect_dead_letters():
    dl = read_dead_letter(record(CONNECT))
    assert dl.style == "connect"
    assert (dl.original_topic, dl.original_partition, dl.original_offset) == ("payments", 3, 1234)
    assert dl.group is None and dl.foreign_group is None
    assert dl.error_class == "org.apache.kafka.connect.errors.DataException"
    assert dl.error_message.startswith("Converting byte[]")
    assert dl.replay_count == 0


def test_reads_spring_dead_letters():
    dl = read_dead_letter(record(SPRING))
    assert dl.style == "spring"
    assert (dl.original_topic, dl.original_partition, dl.original_offset) == (
        "invoices",
        5,
        2**40 + 3,
    )
    assert dl.original_timestamp == 1_700_000_000_000
    assert dl.foreign_group == "invoicing"
    assert dl.error_classes == (
        "org.springframework.kafka.listener.ListenerExecutionFailedException",
        "java.lang.IllegalStateException",
    )
    assert "bad state" in dl.error_message


def test_kafkactl_headers_win_over_foreign_ones():
    dl = read_dead_letter(record(CONNECT + kafkactl_headers()))
    assert dl.style == "kafkactl" and dl.original_topic == "orders"


def test_a_record_without_dlq_headers():
    dl = read_dead_letter(record([("x", b"y")]))
    assert dl.style == "unknown" and dl.original_topic is None and dl.error_classes == ()


def test_reads_karafka_dead_letters():
    dl = read_dead_letter(record(KARAFKA))
    assert dl.style == "karafka"
    assert (dl.original_topic, dl.original_partition, dl.original_offset) == ("shipments", 4, 812)
    assert dl.foreign_group == "karafka_app_shipping" and dl.group is None
    assert dl.attempts == 3
    assert dl.error_classes == () and dl.error_message is None  # Karafka writes none


def test_karafka_group_is_where_a_replay_to_retry_goes_back():
    from kafkactl.replay.deadletter import replay_group_for

    dl = read_dead_letter(record(KARAFKA))
    assert replay_group_for(dl, None) == "karafka_app_shipping"
    assert replay_group_for(dl, "billing") == "billing"


def test_attempts_come_from_kafkactl_attempt_first():
    assert read_dead_letter(record(kafkactl_headers())).attempts == 3
    assert read_dead_letter(record(CONNECT)).attempts is None


# --- framework headers that repeat: the last occurrence is the framework's newest ---------------


def _connect_round(topic: bytes, offset: bytes, message: bytes) -> list[tuple[str, bytes]]:
    return [
        ("__connect.errors.topic", topic),
        ("__connect.errors.partition", b"0"),
        ("__connect.errors.offset", offset),
        ("__connect.errors.exception.class.name", b"org.apache.kafka.connect.errors.DataException"),
        ("__connect.errors.exception.message", message),
    ]


def test_repeated_connect_headers_are_read_from_their_last_occurrence():
    # What Connect writes when a copy that kept its headers fails again: its headers, appended.
    old = _connect_round(b"payments", b"5", b"first failure")
    new = _connect_round(b"payments-v2", b"77", b"second failure")
    dl = read_dead_letter(record([("tenant", b"acme"), *old, *new]))
    assert dl.style == "connect"
    assert (dl.original_topic, dl.original_offset) == ("payments-v2", 77)
    assert dl.error_message == "second failure"
    assert dl.repeated == (
        "__connect.errors.exception.class.name",
        "__connect.errors.exception.message",
        "__connect.errors.offset",
        "__connect.errors.partition",
        "__connect.errors.topic",
    )


def test_repeated_spring_original_headers_are_read_from_their_last_occurrence():
    # Spring's DeadLetterPublishingRecoverer appends its original-* headers (appendOriginalHeaders
    # is true by default) and replaces its exception headers.
    again = [
        ("kafka_dlt-original-topic", b"invoices"),
        ("kafka_dlt-original-partition", (0).to_bytes(4, "big")),
        ("kafka_dlt-original-offset", (9).to_bytes(8, "big")),
    ]
    dl = read_dead_letter(record(SPRING + again))
    assert (dl.original_topic, dl.original_partition, dl.original_offset) == ("invoices", 0, 9)
    assert dl.repeated == (
        "kafka_dlt-original-offset",
        "kafka_dlt-original-partition",
        "kafka_dlt-original-topic",
    )


def test_repeated_karafka_headers_and_business_headers():
    again = [("source_offset", b"900"), ("source_trace_id", b"x"), ("tag", b"a"), ("tag", b"b")]
    dl = read_dead_letter(record([*KARAFKA, *again]))
    assert dl.original_offset == 900
    assert dl.repeated == ("source_offset",), "only the headers kafkactl reads are reported"


def test_a_dead_letter_written_once_repeats_nothing():
    for headers in (CONNECT, SPRING, KARAFKA, kafkactl_headers()):
        assert read_dead_letter(record(headers)).repeated == ()


def test_reads_spring_retry_topic_dead_letters():
    dl = read_dead_letter(record(SPRING_RETRY_TOPIC_DLT))
    assert dl.style == "spring"
    assert (dl.original_topic, dl.original_partition, dl.original_offset) == ("orders", 0, 12)
    assert dl.original_timestamp == 1_796_088_000_000
    assert dl.foreign_group == "app-orders"
    assert dl.error_classes == (
        "org.springframework.kafka.listener.ListenerExecutionFailedException",
        "java.lang.IllegalStateException",
    )
    assert dl.error_message.endswith("the value is poison")
    assert dl.repeated == (), "Spring's retry state repeats, but kafkactl does not read it"


def _with(headers: list[tuple[str, bytes]], name: str, value: bytes) -> list[tuple[str, bytes]]:
    return [(n, v) for n, v in headers if n != name] + [(name, value)]


@pytest.mark.parametrize(
    ("sample", "name", "value", "shown"),
    [
        (SPRING, "kafka_dlt-original-partition", (-1).to_bytes(4, "big", signed=True), "-1"),
        (SPRING, "kafka_dlt-original-partition", (2**31).to_bytes(8, "big"), str(2**31)),
        (SPRING, "kafka_dlt-original-offset", (-5).to_bytes(8, "big", signed=True), "-5"),
        (CONNECT, "__connect.errors.offset", str(10**23).encode(), str(10**23)),
        (CONNECT, "__connect.errors.partition", b"-1", "-1"),
        (CONNECT, "__connect.errors.partition", "\u0663".encode(), "\u0663"),  # Arabic 3
        (KARAFKA, "source_offset", b"1e3", "1e3"),
        (KARAFKA, "source_partition", b"\xff\xff", "\\xff\\xff"),
    ],
)
def test_a_foreign_origin_number_out_of_range_is_absent_with_a_reason_and_never_copied(
    sample: list[tuple[str, bytes]], name: str, value: bytes, shown: str
) -> None:
    dl = read_dead_letter(record(_with(sample, name, value)))
    assert dl.ignored == ((name, shown),)
    assert not dl.malformed  # a framework's header does not park the record
    copy = dict(replay_headers(dl, "d", 1))
    field = hdr.ORIGINAL_PARTITION if "partition" in name else hdr.ORIGINAL_OFFSET
    assert field not in copy
    assert copy[hdr.ORIGINAL_TOPIC]  # the rest of the origin is kept


def test_attempts_beyond_a_counter_are_absent() -> None:
    dl = read_dead_letter(record(kafkactl_headers(**{hdr.ATTEMPT: 2**70})))
    assert dl.attempts is None
    assert dl.ignored == ((hdr.ATTEMPT, str(2**70)),)
    assert read_dead_letter(record(kafkactl_headers(**{hdr.ATTEMPT: 4}))).attempts == 4


def test_kafkactl_own_origin_out_of_range_is_malformed() -> None:
    dl = read_dead_letter(record(kafkactl_headers(**{hdr.ORIGINAL_OFFSET: 10**23})))
    assert dl.original_offset is None
    assert dl.malformed == ((hdr.ORIGINAL_OFFSET, str(10**23)),)


def test_headers_as_an_engine_may_give_them_read_as_normalised() -> None:
    """A null header value reads as empty bytes and a bytes name as its text, whether the
    facts or the headers are asked for first (the reader keeps clean headers as they are)."""
    given = [
        *kafkactl_headers(),
        (hdr.REPLAY_COUNT.encode(), b"2"),  # a bytes name
        (hdr.ORIGINAL_TIMESTAMP, None),  # a null value: present, empty, not a number
    ]
    facts_first, headers_first = read_dead_letter(record(given)), read_dead_letter(record(given))
    assert headers_first.headers == hdr.normalize(given)
    for dl in (facts_first, headers_first):
        assert dl.replay_count == 2
        assert dl.malformed == ((hdr.ORIGINAL_TIMESTAMP, ""),)
        assert dl.original_timestamp is None and dl.style == "kafkactl"
    assert facts_first.headers == headers_first.headers
    clean = kafkactl_headers()
    assert read_dead_letter(record(clean)).headers == clean
