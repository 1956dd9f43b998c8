"""Option types shared by several commands."""

from __future__ import annotations

from typing import Annotated

import typer

from kafkactl.errors import UsageError

JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print the result as one JSON document on stdout.")
]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress display, tables or info lines.")
]
GroupOpt = Annotated[
    str | None,
    typer.Option("--group", "-g", help="Consumer group (default KAFKA_CONSUMER_GROUP_ID)."),
]
NoRetryOpt = Annotated[
    bool, typer.Option("--no-retry", help="Leave out the group's retry tiers and DLQ.")
]


def duration_flag(flag: str, text: str) -> float:
    """Seconds in a duration flag value; a bad or non-positive value is a usage error."""
    from kafkactl.units import parse_duration

    try:
        value = parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"{flag}: {exc}") from None
    if value <= 0:
        raise UsageError(f"{flag} must be longer than zero")
    return value
