"""`kafkactl health`: is the cluster up, are the topics whole, how far behind is the group."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from kafkactl.cli.app import settings_for
from kafkactl.cli.options import GroupOpt, JsonOpt, NoRetryOpt, duration_flag
from kafkactl.errors import EXIT_FAILED


def health(
    ctx: typer.Context,
    topic: Annotated[
        list[str] | None,
        typer.Option(
            "--topic", "-t", help="Topic to check, with its retry tiers and DLQ (repeatable)."
        ),
    ] = None,
    group: GroupOpt = None,
    max_lag: Annotated[
        int | None, typer.Option(help="Degraded when the group's total lag is over this.")
    ] = None,
    no_retry: NoRetryOpt = False,
    timeout: Annotated[
        str | None, typer.Option(help="Give up reaching the cluster after this long (exit 3).")
    ] = None,
    watch: Annotated[
        bool, typer.Option("--watch", "-w", help="Refresh until interrupted.")
    ] = False,
    interval: Annotated[str, typer.Option(help="Refresh period with --watch.")] = "5s",
    json_out: JsonOpt = False,
) -> None:
    """Check the cluster, topics (with retry tiers and DLQ) and a group's lag; give a verdict.

    Exit 0 healthy, 1 degraded or unhealthy, 3 unreachable.

    Examples:

      kafkactl health

      kafkactl health -t orders -g billing --max-lag 1000

      kafkactl health -t orders -g billing --watch --interval 5s
    """
    from kafkactl import render
    from kafkactl.health import HealthQuery, check
    from kafkactl.kafka import connect_admin

    flags = {"connect_timeout": timeout} if timeout else {}
    settings = settings_for(ctx, **flags)
    period = duration_flag("--interval", interval)
    query = HealthQuery(list(topic or []), group, no_retry, max_lag)
    client = connect_admin(settings)
    try:
        if watch:
            with render.LiveView(enabled=not json_out) as view:
                try:
                    while True:
                        report = check(client, settings, query)
                        if json_out:
                            render.print_json(report.as_dict())
                        else:
                            view.update_health(report)
                        time.sleep(period)
                except KeyboardInterrupt:
                    pass
        else:
            report = check(client, settings, query)
            if json_out:
                render.print_json(report.as_dict())
            else:
                render.health_report(report)
    finally:
        client.close()
    if report.verdict != "healthy":
        raise typer.Exit(EXIT_FAILED)


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("health")(health)
