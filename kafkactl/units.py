"""Durations (`250ms`, `10s`, `5m`, `1h`), points in time (ISO-8601, epoch ms, `-15m`), and
text from the operating system that was not UTF-8 (argv, environment)."""

from __future__ import annotations

import math
import re
import time
from datetime import UTC, datetime

_DURATION = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h|d)?\s*$", re.IGNORECASE)
INT64_MAX = 2**63 - 1
INT32_MAX = 2**31 - 1  # partitions, counts Kafka keeps as int32
# Times are epoch milliseconds 0 (1970-01-01T00:00:00Z) to Kafka's last timestamp (int64).
TIME_RANGE = "1970-01-01T00:00:00Z (epoch ms 0) to epoch ms 9223372036854775807"
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str) -> float:
    """Seconds in a duration like `250ms`, `10s`, `5m`, `1h` (a bare number means seconds)."""
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not a duration (use e.g. 250ms, 10s, 5m, 1h)")
    value, unit = match.groups()
    seconds = float(value) * _UNIT_SECONDS[(unit or "s").lower()]
    if not math.isfinite(seconds):
        raise ValueError(f"{text!r} is not a finite duration")
    return seconds


def format_duration(seconds: float) -> str:
    """The shortest exact spelling of a duration, as the user would write it."""
    ms = round(seconds * 1000)
    for unit, size in (("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms and ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


def parse_durations(text: str) -> list[float]:
    """A comma-separated list of durations, e.g. the retry tiers `1s,10s,60s`."""
    parts = [p for p in str(text).split(",") if p.strip()]
    if not parts:
        raise ValueError("expected at least one duration, e.g. 1s,10s,60s")
    return [parse_duration(p) for p in parts]


class TimeOutOfRange(ValueError):
    """A well-formed time outside what Kafka can store (before 1970, past int64 ms)."""


def ascii_digits(text: str) -> bool:
    """True when `text` is one or more ASCII digits (str.isdigit also takes `١٢` or `²`)."""
    return text.isascii() and text.isdigit()


def parse_time_ms(text: str, now_ms: int | None = None) -> int:
    """Epoch milliseconds from ISO-8601, epoch milliseconds, or a relative `-15m` (before now);
    TimeOutOfRange for a time before 1970 or past Kafka's last timestamp."""
    raw = str(text).strip()
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    if not raw.isascii():
        raise ValueError(
            f"{text!r} is not a time: use ASCII digits (ISO-8601 like 2026-01-31T12:00:00Z, "
            "epoch milliseconds, or a relative time like -15m)"
        )
    if raw.startswith("-") and not raw[1:].isdigit():
        value = now_ms - round(parse_duration(raw[1:]) * 1000)
    elif raw.isdigit():
        value = int(raw)
    else:
        value = _iso_time_ms(text, raw)
    if not 0 <= value <= INT64_MAX:
        when = "before 1970" if value < 0 else "past Kafka's last timestamp (epoch ms, int64)"
        raise TimeOutOfRange(f"{text!r} is {when}; times run from {TIME_RANGE}")
    return value


def _iso_time_ms(text: str, raw: str) -> int:
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{text!r} is not a time (use ISO-8601 like 2026-01-31T12:00:00Z, "
            "epoch milliseconds, or a relative time like -15m)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def not_utf8(text: str) -> bool:
    """True when `text` holds bytes that were not UTF-8 (Python's surrogate escapes)."""
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def printable(text: str) -> str:
    """`text` as one printable line: bytes that are not UTF-8 as \\xNN."""
    return text.encode("utf-8", "surrogateescape").decode("ascii", "backslashreplace")
