"""Positions in a partition as users write them: beginning, end, an offset, the last N, a time."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, NamedTuple

from kafkactl.errors import UsageError
from kafkactl.kafka.ports import TopicPartition

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


class ReadProgress(NamedTuple):
    """Records read of the records to read (offsets passed, so gaps count as read)."""

    done: int
    total: int


@dataclass(frozen=True)
class ReadRange:
    """The offsets a bounded read resolved: each partition from `starts` up to (not including)
    `stops`."""

    starts: Mapping[TopicPartition, int]
    stops: Mapping[TopicPartition, int]

    @property
    def total(self) -> int:
        """Records to read: the sum of stop - start over the partitions."""
        return sum(max(0, stop - self.starts[tp]) for tp, stop in self.stops.items())

    def progress(self, positions: Mapping[TopicPartition, int]) -> ReadProgress:
        """How far a read at `positions` (next offset per partition) is through the range."""
        done = 0
        for tp, stop in self.stops.items():
            start = self.starts[tp]
            done += max(0, min(positions.get(tp, start), stop) - start)
        return ReadProgress(done, self.total)


def parse_position(
    flag: str, text: str, allowed: tuple[PositionKind, ...], now_ms: int | None = None
) -> Position:
    """Read a position flag; a form the flag does not take is a usage error naming it.

    A bare integer is an offset and `-N` the last N records; a time is ISO-8601, a relative
    `-15m`, or epoch milliseconds written `@1767225600000` (kcat's `s@` idea), so an offset
    and a time can never be confused.
    """
    from kafkactl.units import TimeOutOfRange, ascii_digits, parse_time_ms

    raw = text.strip()
    position: Position
    if raw.lower() in _WORDS:
        position = Position(_WORDS[raw.lower()])
    elif ascii_digits(raw):
        position = Position("offset", _bounded(flag, int(raw)))
    elif raw.startswith("-") and ascii_digits(raw[1:]):
        position = Position("last", _bounded(flag, int(raw[1:])))
    elif raw.startswith("@") and ascii_digits(raw[1:]):
        position = Position("time", _bounded(flag, int(raw[1:])))
    else:
        try:
            position = Position("time", parse_time_ms(raw, now_ms))
        except TimeOutOfRange as exc:
            raise UsageError(f"{flag}: {exc}") from None
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
    ascii_only = "" if text.isascii() else " (digits must be ASCII 0-9)"
    return f"{text!r} is not a position{ascii_only}; use " + ", ".join(_FORMS[k] for k in allowed)
