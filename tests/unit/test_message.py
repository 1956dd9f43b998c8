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
    assert message.message_id == "orders/2/41"
    assert message.attempt == 1


def test_the_coordinate_id_is_written_at_the_first_failure_and_read_back_from_the_copy():
    first = message_from_record(record([("trace", b"t-1")]))
    origin = hdr.Origin(first.topic, first.partition, first.offset, first.timestamp)
    failure = hdr.Failure("retryable", "ValueError", "bad")
    copy_headers = hdr.failure_headers(
        first.headers, origin, "billing", failure, 1, 1000, 2000, first.message_id
    )
    assert [v for k, v in copy_headers if k == hdr.MESSAGE_ID] == [b"orders/2/41"]
    # Read again from the tier (another topic, partition, offset): still the first read's id,
    # and a later failure does not write it twice.
    tier = ConsumedRecord("orders.billing.retry.1", 0, 7, b"k", b"v", copy_headers, 0, 0)
    again = message_from_record(tier)
    assert again.message_id == "orders/2/41"
    later = hdr.failure_headers(
        again.headers,
        hdr.Origin(tier.topic, tier.partition, tier.offset, 0),
        "billing",
        failure,
        2,
        3000,
        None,
        again.message_id,
    )
    assert [v for k, v in later if k == hdr.MESSAGE_ID] == [b"orders/2/41"]


def test_the_message_id_and_attempt_headers_are_read():
    message = message_from_record(record([(hdr.MESSAGE_ID, b"order-42"), (hdr.ATTEMPT, b"2")]))

    assert message.message_id == "order-42"
    assert message.attempt == 3


@pytest.mark.parametrize("attempt", [b"-5", b"99999999999999999999", b"two", b""])
def test_a_malformed_attempt_header_counts_as_no_attempt(attempt: bytes):
    assert message_from_record(record([(hdr.ATTEMPT, attempt)])).attempt == 1
