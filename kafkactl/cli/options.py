"""Option types shared by several commands."""

from __future__ import annotations

from typing import Annotated

import typer

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
