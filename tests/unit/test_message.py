"""message_from_record: the Message a handler gets for a consumed record."""

from __future__ import annotations

import pytest

from kafkactl import headers as hdr
from kafkactl.kafka.ports import ConsumedRecord
from kafkactl.message import message_from_record


def record(headers: list[tuple[str, bytes]]) -> ConsumedRecord:
    return ConsumedRecord("orders", 2, 41, b"k", b"v", headers, 1_700_000_000_000, 1)


def test_a_record_without_kafkactl_headers_is_a_first_attempt_with_the_default_id():
    message = message_from_record(record([("trace", b"t-1")]))

    assert (message.topic, message.partition, message.offset) == ("orders", 2, 41)
    assert (message.key, message.value) == (b"k", b"v")
    assert message.headers == [("trace", b"t-1")]
    assert (message.timestamp, message.timestamp_type) == (1_700_000_000_000, 1)
    assert message.message_id == "orders-2-41"
    assert message.attempt == 1


def test_the_message_id_and_attempt_headers_are_read():
    message = message_from_record(record([(hdr.MESSAGE_ID, b"order-42"), (hdr.ATTEMPT, b"2")]))

    assert message.message_id == "order-42"
    assert message.attempt == 3


@pytest.mark.parametrize("attempt", [b"-5", b"99999999999999999999", b"two", b""])
def test_a_malformed_attempt_header_counts_as_no_attempt(attempt: bytes):
    assert message_from_record(record([(hdr.ATTEMPT, attempt)])).attempt == 1
