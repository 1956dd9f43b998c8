"""Durations (`250ms`, `10s`, `5m`, `1h`), points in time (ISO-8601, epoch ms, `-15m`), and text
that was not UTF-8."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kafkactl.units import (
    TimeOutOfRange,
    ascii_digits,
    format_duration,
    not_utf8,
    parse_duration,
    parse_durations,
    parse_time_ms,
    printable,
)

NOW_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("250ms", 0.25),
        ("10s", 10.0),
        ("5m", 300.0),
        ("1h", 3600.0),
        ("1d", 86400.0),
        ("3", 3.0),
        ("1.5s", 1.5),
        ("0.5", 0.5),
        (" 10s ", 10.0),
        ("10 s", 10.0),
        ("10S", 10.0),
        ("250MS", 0.25),
        ("0ms", 0.0),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["abc", "", "10x", "s", "-5s", "1,5s", "10 sec", "5m30s"])
def test_parse_duration_rejects_garbage(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration") as excinfo:
        parse_duration(text)
    assert "250ms" in str(excinfo.value)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.25, "250ms"),
        (1.5, "1500ms"),
        (10.0, "10s"),
        (90.0, "90s"),
        (300.0, "5m"),
        (3600.0, "1h"),
        (5400.0, "90m"),
        (0.001, "1ms"),
        (0.0, "0ms"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize("text", ["250ms", "1ms", "10s", "90s", "5m", "1h", "36h", "1500ms"])
def test_format_duration_round_trips_canonical_text(text: str) -> None:
    assert format_duration(parse_duration(text)) == text


@pytest.mark.parametrize(
    "seconds", [0.001, 0.1, 0.25, 1.0, 1.5, 59.999, 60.0, 61.0, 3599.0, 7200.0]
)
def test_parse_of_format_round_trips_seconds(seconds: float) -> None:
    assert parse_duration(format_duration(seconds)) == pytest.approx(seconds)


def test_parse_durations() -> None:
    assert parse_durations("1s,10s,60s") == [1.0, 10.0, 60.0]
    assert parse_durations(" 250ms , 5m ,1h") == pytest.approx([0.25, 300.0, 3600.0])
    assert parse_durations("2") == [2.0]
    assert parse_durations("1s,,2s,") == [1.0, 2.0]


@pytest.mark.parametrize("text", ["", " ", ",", " , "])
def test_parse_durations_needs_at_least_one(text: str) -> None:
    with pytest.raises(ValueError, match="at least one duration"):
        parse_durations(text)


def test_parse_durations_rejects_a_bad_item() -> None:
    with pytest.raises(ValueError, match="'abc' is not a duration"):
        parse_durations("1s,abc,10s")


def _utc_ms(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp()) * 1000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-31T12:00:00Z", _utc_ms(2026, 1, 31, 12)),
        ("2026-01-31T12:00:00+00:00", _utc_ms(2026, 1, 31, 12)),
        ("2026-01-31T12:00:00", _utc_ms(2026, 1, 31, 12)),  # naive means UTC
        ("2026-01-31 12:00:00", _utc_ms(2026, 1, 31, 12)),
        ("2026-01-31", _utc_ms(2026, 1, 31)),
        ("2026-01-31T13:00:00+01:00", _utc_ms(2026, 1, 31, 12)),
        ("2026-01-31T12:00:00.123Z", _utc_ms(2026, 1, 31, 12) + 123),
        ("2026-01-31T12:00:00.999Z", _utc_ms(2026, 1, 31, 12) + 999),
        (" 2026-01-31T12:00:00Z ", _utc_ms(2026, 1, 31, 12)),
    ],
)
def test_parse_time_ms_iso(text: str, expected: int) -> None:
    assert parse_time_ms(text, now_ms=NOW_MS) == expected


def test_naive_iso_is_utc_whatever_the_local_timezone(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert parse_time_ms("2026-01-31T12:00:00") == _utc_ms(2026, 1, 31, 12)
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize("text", ["1700000000000", "0", " 1700000000123 "])
def test_parse_time_ms_epoch_milliseconds(text: str) -> None:
    assert parse_time_ms(text, now_ms=NOW_MS) == int(text)


@pytest.mark.parametrize(
    ("text", "ago_ms"),
    [
        ("-15m", 15 * 60_000),
        ("-1h", 3_600_000),
        ("-30s", 30_000),
        ("-250ms", 250),
        ("-2d", 2 * 86_400_000),
        ("-1.5s", 1500),
        ("-32.3s", 32_300),
    ],
)
def test_parse_time_ms_relative(text: str, ago_ms: int) -> None:
    assert parse_time_ms(text, now_ms=NOW_MS) == NOW_MS - ago_ms


def test_parse_time_ms_relative_defaults_to_the_current_time() -> None:
    import time

    before = int(time.time() * 1000)
    value = parse_time_ms("-15m")
    after = int(time.time() * 1000)
    assert before - 900_000 <= value <= after - 900_000


def test_relative_time_matches_datetime_arithmetic() -> None:
    now = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
    now_ms = int(now.timestamp()) * 1000
    expected = int((now - timedelta(minutes=15)).timestamp()) * 1000
    assert parse_time_ms("-15m", now_ms=now_ms) == expected


@pytest.mark.parametrize("text", ["yesterday", "", "2026-13-45", "12:00 tomorrow", "now-5"])
def test_parse_time_ms_garbage_has_a_helpful_message(text: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        parse_time_ms(text, now_ms=NOW_MS)
    message = str(excinfo.value)
    assert repr(text) in message
    assert "ISO-8601" in message
    assert "epoch milliseconds" in message
    assert "-15m" in message


def test_parse_time_ms_bad_relative_duration() -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_time_ms("-soon", now_ms=NOW_MS)


@pytest.mark.parametrize("text", ["1" * 400, "1" * 400 + "ms", "9" * 310 + "h"])
def test_parse_duration_rejects_overflow_to_infinity(text: str) -> None:
    with pytest.raises(ValueError, match="not a finite duration"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["nan", "inf", "1e400s", "-5s", "\u0665s", "+1s"])
def test_parse_duration_rejects_non_numbers(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_parse_time_ms_rejects_epochs_past_int64() -> None:
    with pytest.raises(ValueError, match="int64"):
        parse_time_ms(str(2**63))
    assert parse_time_ms(str(2**63 - 1)) == 2**63 - 1


def test_bytes_that_were_not_utf8_are_found_and_shown_as_hex() -> None:
    raw = b"caf\xe9 ok".decode("utf-8", "surrogateescape")  # how Python hands over argv/env
    assert not_utf8(raw)
    assert printable(raw) == "caf\\xe9 ok"
    assert not not_utf8("café ok")
    assert printable("plain") == "plain"


@pytest.mark.parametrize(
    ("text", "when"),
    [
        ("1960-01-01T00:00:00Z", "before 1970"),
        ("0001-01-01", "before 1970"),
        ("-30000d", "before 1970"),
        ("-99999999999999999d", "before 1970"),
        (str(2**63), "past Kafka's last timestamp"),
    ],
)
def test_times_out_of_range_say_so_and_give_the_range(text: str, when: str) -> None:
    with pytest.raises(TimeOutOfRange) as excinfo:
        parse_time_ms(text, now_ms=NOW_MS)
    assert f"{text!r} is {when}" in str(excinfo.value)
    assert "1970-01-01T00:00:00Z" in str(excinfo.value)


@pytest.mark.parametrize(
    "text", ["\u0661\u0662", "-\u0661s", "\uff12\uff10\uff12\uff16-01-01", "1\u0665"]
)
def test_times_take_ascii_digits_only(text: str) -> None:
    with pytest.raises(ValueError, match="ASCII digits"):
        parse_time_ms(text, now_ms=NOW_MS)


def test_ascii_digits() -> None:
    assert ascii_digits("0123456789")
    assert not ascii_digits("١٢") and not ascii_digits("²") and not ascii_digits("")
