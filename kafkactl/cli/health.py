"""`kafkactl health`: is the cluster up, are the topics whole, how far behind is the group."""

# No `from __future__ import annotations`: Typer reads these commands' signatures at every
# start, and string annotations would be compiled each time (start-up time, as cli/completion.py).

from typing import Annotated

import typer

from kafkactl.cli.completion import complete_topics
from kafkactl.cli.context import settings_with_flags
from kafkactl.cli.options import (
    GroupOpt,
    JsonOpt,
    NoRetryOpt,
    QuietOpt,
    duration_flag,
    int_flag,
)
from kafkactl.errors import EXIT_FAILED


def health(
    ctx: typer.Context,
    topic: Annotated[
        list[str] | None,
        typer.Option(
            "--topic",
            "-t",
            help="Topic to check, with its retry tiers and DLQ (repeatable).",
            autocompletion=complete_topics,
        ),
    ] = None,
    group: GroupOpt = None,
    max_lag: Annotated[
        int | None, typer.Option(help="Degraded when the group's total lag is over this.")
    ] = None,
    no_retry: NoRetryOpt = False,
    expect_brokers: Annotated[
        int | None,
        typer.Option(
            help="Degraded when fewer brokers than this answer (default: every broker the "
            "checked topics' replicas name)."
        ),
    ] = None,
    timeout: Annotated[
        str | None, typer.Option(help="Give up reaching the cluster after this long (exit 3).")
    ] = None,
    watch: Annotated[
        bool, typer.Option("--watch", "-w", help="Refresh until interrupted.")
    ] = False,
    interval: Annotated[str, typer.Option(help="Refresh period with --watch.")] = "5s",
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Check the cluster, topics (with retry tiers and DLQ) and a group's lag; give a verdict.

    Unhealthy: a missing topic, an offline partition (no leader), a partition with fewer
    in-sync replicas than min.insync.replicas (acks=all writes refused). Degraded: brokers
    missing, partitions under-replicated or down to min.insync.replicas, lag over --max-lag,
    dead letters waiting, an unknown group.

    Exit 0 healthy, 1 degraded or unhealthy, 2 bad flags, 3 unreachable, 130 when a
    signal stopped the check before it finished. A group with no committed offsets and no
    members is an unknown group (a typo?): degraded, exit 1. With --watch, Ctrl-C or
    SIGTERM is how it ends: the exit code is the last verdict's.

    Examples:

      kafkactl health

      kafkactl health -t orders -g billing --max-lag 1000

      kafkactl health -t orders --expect-brokers 3     # a cluster: brokers, ISR, min.insync

      kafkactl health -t orders -g billing --watch --interval 5s
    """
    from kafkactl import render
    from kafkactl.admin.health import HealthQuery
    from kafkactl.admin.health_run import run_health
    from kafkactl.cli.streams import require_stdout
    from kafkactl.names import check_group, check_topic
    from kafkactl.render.health_watch import LiveView
    from kafkactl.units import INT32_MAX, INT64_MAX

    for name in topic or ():
        check_topic(name)
    if group is not None:
        check_group(group)
    int_flag("--max-lag", max_lag, 0, INT64_MAX, "a number of records")
    int_flag("--expect-brokers", expect_brokers, 1, INT32_MAX, "a number of brokers")
    period = duration_flag("--interval", interval)
    if json_out:
        require_stdout()
    flags = {"connect_timeout": timeout} if timeout else {}
    settings = settings_with_flags(ctx, flags, {"connect_timeout": "--timeout"} if timeout else {})
    query = HealthQuery(list(topic or []), group, no_retry, max_lag, expect_brokers)
    if watch:
        with LiveView(enabled=not json_out and not quiet) as view:
            show = (lambda r: render.print_json(r.as_dict())) if json_out else view.update_health
            report = run_health(settings, query, None if quiet and not json_out else show, period)
    else:
        report = run_health(settings, query)
        if report is not None and json_out:
            render.print_json(report.as_dict())
        elif report is not None and not quiet:
            render.health_report(report)
    if report is None:
        render.error("interrupted before the first check finished")
        raise typer.Exit(130)
    if report.verdict != "healthy":
        raise typer.Exit(EXIT_FAILED)


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("health")(health)
