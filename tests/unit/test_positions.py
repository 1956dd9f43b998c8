"""Position flags: words, offsets, last N, times; forms a flag does not take are usage errors."""

from __future__ import annotations

import pytest

from kafkactl.errors import UsageError
from kafkactl.positions import Position, parse_position

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
