"""Kafka's protocol limits for numbers taken from input (RecordBatch fields, DESIGN §5.3)."""

from __future__ import annotations

from typing import Any

from kafkactl.formats.base import FormatError

MAX_PARTITION = 2**31 - 1  # partition ids are int32
MAX_TIMESTAMP = 2**63 - 1  # timestamps are int64 epoch milliseconds
NO_TIMESTAMP = -1  # what kcat and `kafkactl consume` print for a record without a timestamp


def check_partition(value: Any, what: str = "partition") -> int:
    """A partition number from input: a whole number 0..2^31-1 (Kafka's int32), else
    FormatError."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise FormatError(f"{what} must be a whole number 0 or more, not {value!r}")
    if value > MAX_PARTITION:
        raise FormatError(
            f"{what} {value} is out of range: Kafka partitions are 0 to {MAX_PARTITION}"
        )
    return value


def check_timestamp(value: Any) -> int | None:
    """An envelope `ts` as a record timestamp: epoch milliseconds 0..2^63-1 (Kafka's int64);
    -1 (what kcat and consume print for a record without one) or null: none, the producer
    stamps the time of sending. Anything else is a FormatError."""
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise FormatError(f"ts must be epoch milliseconds (a whole number), not {value!r}")
    if value == NO_TIMESTAMP:
        return None
    if value < 0:
        raise FormatError(
            f"ts {value} is before 1970: Kafka timestamps are epoch milliseconds 0 to "
            f"{MAX_TIMESTAMP} (-1: none, the time of sending)"
        )
    if value > MAX_TIMESTAMP:
        raise FormatError(
            f"ts {value} is out of range: Kafka timestamps are epoch milliseconds 0 to "
            f"{MAX_TIMESTAMP}"
        )
    return value
