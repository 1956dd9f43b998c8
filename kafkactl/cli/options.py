"""Option types shared by several commands."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated

import typer

from kafkactl.cli.completion import complete_groups, complete_topics
from kafkactl.cli.context import QUIET_KEY
from kafkactl.errors import OptionError, UsageError

JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print the result as one JSON document on stdout.")
]
DlqTopicArg = Annotated[
    str,
    typer.Argument(
        help="With --group: the main topic (its DLQ is taken from KAFKA_DLQ_TOPIC_TEMPLATE). "
        "Without --group, or with --dlq: the DLQ topic itself.",
        show_default=False,
        autocompletion=complete_topics,
    ),
]

# The admin changes (groups reset-offsets/delete-offsets, topics alter-config/...): dry runs.
ExecuteOpt = Annotated[
    bool, typer.Option("--execute", help="Apply the plan (without it: dry run).")
]
PartitionsOpt = Annotated[
    list[int] | None,
    typer.Option("--partition", "-p", help="Only this partition (repeatable)."),
]

# dlq summary's and replay-dlq's window over when records were dead-lettered (time_window).
SinceOpt = Annotated[
    str | None,
    typer.Option(
        help="Only dead letters written to the DLQ at or after this time (ISO-8601, epoch "
        "ms, or relative like -2h).",
    ),
]
UntilOpt = Annotated[
    str | None, typer.Option(help="Only dead letters written to the DLQ before this time.")
]


class IsolationLevel(StrEnum):
    """--isolation-level: whether records of open and aborted transactions are read."""

    read_uncommitted = "read_uncommitted"
    read_committed = "read_committed"


IsolationOpt = Annotated[
    IsolationLevel | None,
    typer.Option(
        "--isolation-level",
        help="read_committed: skip records of aborted (and not yet committed) transactions; "
        "read_uncommitted reads them all. Default: KAFKA_CONSUMER_ISOLATION_LEVEL, else "
        "read_uncommitted (replay-dlq: read_committed).",
        show_default=False,
    ),
]


def isolation_flag(level: IsolationLevel | None) -> dict[str, str | None]:
    """The settings flag of --isolation-level (for settings_for)."""
    return {"consumer_isolation_level": level.value if level is not None else None}


def _note_quiet(ctx: typer.Context, value: bool) -> bool:
    """Remember -q where settings_for finds it: logging then starts at WARNING."""
    if value:
        ctx.meta[QUIET_KEY] = True
    return value


QuietOpt = Annotated[
    bool,
    typer.Option(
        "--quiet",
        "-q",
        callback=_note_quiet,
        help="Nothing on stderr but warnings and errors (no progress, tables or info lines).",
    ),
]
GroupOpt = Annotated[
    str | None,
    typer.Option(
        "--group",
        "-g",
        help="Consumer group (default KAFKA_CONSUMER_GROUP_ID).",
        autocompletion=complete_groups,
    ),
]
NoRetryOpt = Annotated[
    bool,
    typer.Option(
        "--no-retry", help="Leave out the group's retry tiers (its DLQ stays: failures go there)."
    ),
]


def duration_flag(flag: str, text: str, longest: float = 86400.0) -> float:
    """Seconds in a duration flag value: finite, at least 1ms, at most `longest` (a day);
    anything else is a usage error naming the flag."""
    from kafkactl.config import check_duration
    from kafkactl.units import parse_duration

    try:
        return check_duration(parse_duration(text), text, longest)
    except ValueError as exc:
        raise UsageError(f"{flag}: {exc}") from None


def int_flag(flag: str, value: int | None, low: int, high: int, limit: str = "") -> int | None:
    """`value` when it is within [low, high]; else a usage error naming the flag and the limit."""
    if value is not None and not low <= value <= high:
        why = f" ({limit})" if limit else ""
        raise UsageError(f"{flag} {value} is out of range: use {low} to {high}{why}")
    return value


def positive_float_flag(flag: str, value: float | None, high: float) -> float | None:
    """`value` when it is a finite number above 0 and at most `high`; else a usage error."""
    import math

    if value is not None and not (math.isfinite(value) and 0 < value <= high):
        raise UsageError(f"{flag} {value:g} is not allowed: use a number above 0, at most {high:g}")
    return value


@contextmanager
def naming_flags(flags: Mapping[str, str]) -> Iterator[None]:
    """Core errors name an options field (OptionError); reword them with the flag the user
    typed, e.g. {"partitions": "--partition"}."""
    try:
        yield
    except OptionError as exc:
        raise exc.worded(flags.get(exc.option, exc.option)) from None


def time_window(since: str | None, until: str | None) -> tuple[int | None, int | None]:
    """--since/--until as epoch ms (dlq summary and replay-dlq read them alike); a bad time
    or an empty window is a usage error."""
    from kafkactl.units import parse_time_ms

    times: dict[str, int | None] = {}
    for flag, text in (("--since", since), ("--until", until)):
        try:
            times[flag] = None if text is None else parse_time_ms(text)
        except ValueError as exc:
            raise UsageError(f"{flag}: {exc}") from None
    since_ms, until_ms = times["--since"], times["--until"]
    if since_ms is not None and until_ms is not None and since_ms >= until_ms:
        raise UsageError("--since must be before --until")
    return since_ms, until_ms
