"""Position flags: words, offsets, last N, times; forms a flag does not take are usage errors."""

from __future__ import annotations

import pytest

from kafkactl.errors import UsageError
from kafkactl.kafka.ports import TopicPartition
from kafkactl.positions import Position, ReadProgress, ReadRange, parse_position

ALL = ("beginning", "end", "offset", "last", "time")
NOW = 1_767_225_600_000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("beginning", Position("beginning")),
        ("earliest", Position("beginning")),
        ("END", Position("end")),
        ("42", Position("offset", 42)),
        ("-10", Position("last", 10)),
        ("-15m", Position("time", NOW - 15 * 60_000)),
        ("@1767225600000", Position("time", 1767225600000)),
        ("2026-01-01T00:00:00Z", Position("time", 1767225600000)),
    ],
)
def test_forms(text: str, expected: Position) -> None:
    assert parse_position("--from", text, ALL, now_ms=NOW) == expected


@pytest.mark.parametrize(
    "text", ["soon", "-", "@", "1e3", "9223372036854775808", "@99999999999999999999"]
)
def test_nonsense_is_a_usage_error_naming_the_flag(text: str) -> None:
    with pytest.raises(UsageError, match=r"^--from: "):
        parse_position("--from", text, ALL, now_ms=NOW)


def test_a_form_the_flag_does_not_take() -> None:
    with pytest.raises(UsageError, match="--to: '-5' is not a position"):
        parse_position("--to", "-5", ("end", "offset", "time"))


def test_read_range_counts_stop_minus_start_and_progress_by_offsets() -> None:
    a, b, c = TopicPartition("t", 0), TopicPartition("t", 1), TopicPartition("t", 2)
    read = ReadRange(starts={a: 10, b: 0, c: 5}, stops={a: 110, b: 50, c: 5})
    assert read.total == 150
    assert read.progress({}) == ReadProgress(0, 150)  # nothing read yet: at the starts
    assert read.progress({a: 60, b: 50, c: 5}) == ReadProgress(100, 150)
    # A position past the stop (a batch read beyond it) counts up to the stop only.
    assert read.progress({a: 500, b: 50}) == ReadProgress(150, 150)


def test_read_range_without_stops_has_nothing_to_count() -> None:
    read = ReadRange(starts={TopicPartition("t", 0): 3}, stops={})
    assert read.total == 0
    assert read.progress({TopicPartition("t", 0): 9}) == ReadProgress(0, 0)


def test_a_start_past_the_stop_counts_nothing() -> None:
    tp = TopicPartition("t", 0)
    assert ReadRange({tp: 80}, {tp: 50}).total == 0


@pytest.mark.parametrize(
    "text", ["1960-01-01T00:00:00Z", "0001-01-01", "1969-12-31T23:59:59.999Z", "-30000d"]
)
def test_a_time_before_1970_names_the_flag_the_value_and_the_range(text: str) -> None:
    with pytest.raises(UsageError) as excinfo:
        parse_position("--to", text, ALL, now_ms=NOW)
    message = str(excinfo.value)
    assert message.startswith(f"--to: {text!r} is before 1970")
    assert "1970-01-01T00:00:00Z" in message and "9223372036854775807" in message


def test_the_first_millisecond_of_1970_is_a_time() -> None:
    assert parse_position("--from", "1970-01-01T00:00:00Z", ALL) == Position("time", 0)


@pytest.mark.parametrize(
    "text", ["\u0661\u0662", "-\u0661\u0662", "@\u0661\u0662", "\u00b2", "\uff11\uff12"]
)
def test_digits_must_be_ascii(text: str) -> None:
    with pytest.raises(UsageError, match=r"^--from: .* \(digits must be ASCII 0-9\)"):
        parse_position("--from", text, ALL, now_ms=NOW)
