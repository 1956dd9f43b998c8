"""Positions in a partition as users write them: beginning, end, an offset, the last N, a time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from kafkactl.errors import UsageError

PositionKind = Literal["beginning", "end", "offset", "last", "time"]

_WORDS: dict[str, PositionKind] = {
    "beginning": "beginning",
    "earliest": "beginning",
    "end": "end",
    "latest": "end",
}


@dataclass(frozen=True)
class Position:
    """One position: `value` is the offset, the count N, or epoch milliseconds."""

    kind: PositionKind
    value: int = 0


def parse_position(
    flag: str, text: str, allowed: tuple[PositionKind, ...], now_ms: int | None = None
) -> Position:
    """Read a position flag; a form the flag does not take is a usage error naming it.

    A bare integer is an offset and `-N` the last N records; a time is ISO-8601, a relative
    `-15m`, or epoch milliseconds written `@1767225600000` (kcat's `s@` idea), so an offset
    and a time can never be confused.
    """
    from kafkactl.units import parse_time_ms

    raw = text.strip()
    position: Position
    if raw.lower() in _WORDS:
        position = Position(_WORDS[raw.lower()])
    elif raw.isdigit():
        position = Position("offset", _bounded(flag, int(raw)))
    elif raw.startswith("-") and raw[1:].isdigit():
        position = Position("last", _bounded(flag, int(raw[1:])))
    elif raw.startswith("@") and raw[1:].isdigit():
        position = Position("time", _bounded(flag, int(raw[1:])))
    else:
        try:
            position = Position("time", parse_time_ms(raw, now_ms))
        except ValueError:
            raise UsageError(f"{flag}: {_expected(text, allowed)}") from None
    if position.kind not in allowed:
        raise UsageError(f"{flag}: {_expected(text, allowed)}")
    return position


def _bounded(flag: str, value: int) -> int:
    if value > 2**63 - 1:
        raise UsageError(f"{flag}: {value} is past Kafka's largest offset/timestamp (2^63-1)")
    return value


_FORMS: dict[PositionKind, str] = {
    "beginning": "beginning",
    "end": "end",
    "offset": "an offset like 42",
    "last": "-N for the last N records",
    "time": "a time (ISO-8601, relative like -15m, or @EPOCH_MS)",
}


def _expected(text: str, allowed: tuple[PositionKind, ...]) -> str:
    return f"{text!r} is not a position; use " + ", ".join(_FORMS[k] for k in allowed)
