"""`kafkactl dlq summary`: what is in a DLQ, at a glance, before replaying it."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Annotated

import typer

from kafkactl.cli.completion import complete_groups
from kafkactl.cli.context import settings_for
from kafkactl.cli.options import (
    DlqTopicArg,
    GroupOpt,
    IsolationOpt,
    JsonOpt,
    QuietOpt,
    SinceOpt,
    UntilOpt,
    int_flag,
    isolation_flag,
    time_window,
)
from kafkactl.errors import UsageError

if TYPE_CHECKING:
    from kafkactl.kafka.admin_port import AdminPort
    from kafkactl.replay.purge import PurgePlan

dlq_app = typer.Typer(
    help="Look into dead-letter topics (what broke, since when, how much); purge replayed ones.",
    no_args_is_help=True,
)

INT32_MAX = 2_147_483_647
DlqFlag = Annotated[
    bool, typer.Option("--dlq", help="TOPIC is the DLQ even though --group is given.")
]
EXIT_INTERRUPTED = 130


@dlq_app.command("summary")
def summary_cmd(
    ctx: typer.Context,
    topic: DlqTopicArg,
    group: GroupOpt = None,
    dlq_flag: DlqFlag = False,
    by: Annotated[
        str,
        typer.Option(
            "--by",
            help="Group by class (error kind and class), message (normalised), topic "
            "(original topic), key, or hour (when dead-lettered).",
        ),
    ] = "class",
    since: SinceOpt = None,
    until: UntilOpt = None,
    max_replays: Annotated[
        int,
        typer.Option(help="Count as parked the records replayed this many times (as replay-dlq)."),
    ] = 3,
    top: Annotated[int, typer.Option("--top", "-n", help="Show the N largest groups.")] = 20,
    isolation_level: IsolationOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """What is in a DLQ: what broke, since when, how much, in one pass.

    Groups dead letters (by error kind and class unless --by) with counts, first and last
    failure, the most frequent messages (numbers, ids and quoted values folded), original
    topics and groups, attempts, replay counts and parked records.

    Reads kafkactl, Kafka Connect, Spring Kafka and Karafka dead letters, without a consumer
    group (nothing is committed), in bounded memory. Exit 0, 1 when the DLQ is missing,
    2 bad flags, 3 unreachable, 130 when interrupted (the partial summary still prints).

    Examples:

      kafkactl dlq summary orders -g billing

      kafkactl dlq summary orders -g billing --by message --since -2h

      kafkactl dlq summary connect-dlq --by topic --json | jq '.groups[0]'
    """
    from kafkactl import render
    from kafkactl.cli.streams import require_stdout
    from kafkactl.dlq.scan import TriageOptions, summarize_dlq
    from kafkactl.dlq.triage import BY_CHOICES
    from kafkactl.names import check_group, check_topic
    from kafkactl.render.triage import SummaryProgress, summary_table
    from kafkactl.signals import stopping_on_signals
    from kafkactl.topology import dlq_topic

    check_topic(topic)
    if group is not None:
        check_group(group, "--group")
    if by not in BY_CHOICES:
        raise UsageError(f"--by {by!r} is not a grouping; use " + ", ".join(BY_CHOICES))
    since_ms, until_ms = time_window(since, until)
    int_flag("--max-replays", max_replays, 1, INT32_MAX)
    int_flag("--top", top, 1, 1000)
    if json_out:
        require_stdout()
    settings = settings_for(ctx, **isolation_flag(isolation_level))
    dlq = dlq_topic(settings, topic, group) if group and not dlq_flag else topic
    check_topic(dlq, "DLQ topic")
    options = TriageOptions(dlq, by, since_ms, until_ms, max_replays)
    stop = threading.Event()
    with (
        stopping_on_signals(lambda _name: stop.set(), announce=lambda _name: None),
        SummaryProgress(not quiet and not json_out, f"reading {dlq}") as bar,
    ):
        result = summarize_dlq(settings, options, bar.update, stop)
    render.emit(result.as_dict(top), json_out, quiet, lambda: summary_table(result, top))
    if result.interrupted:
        render.error("interrupted: the summary covers only what was read")
        raise typer.Exit(EXIT_INTERRUPTED)


@dlq_app.command("purge")
def purge_cmd(
    ctx: typer.Context,
    topic: DlqTopicArg,
    group: GroupOpt = None,
    dlq_flag: DlqFlag = False,
    replay_group: Annotated[
        str | None,
        typer.Option(
            "--replay-group",
            help="The group replay-dlq kept its progress in (default kafkactl-replay.<dlq>).",
            autocompletion=complete_groups,
        ),
    ] = None,
    max_replays: Annotated[
        int,
        typer.Option(
            help="The --max-replays the replay ran with: records replayed this many times were "
            "parked, not copied, and stay.",
        ),
    ] = 3,
    partition: Annotated[
        list[int] | None,
        typer.Option("--partition", "-p", help="Only this DLQ partition (repeatable)."),
    ] = None,
    execute: Annotated[
        bool, typer.Option("--execute", help="Delete (without it: dry run).")
    ] = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Delete from a DLQ exactly the dead letters replay-dlq has already copied; a dry run
    unless --execute.

    What was copied comes from the replay group's committed progress: below its committed
    offset every dead letter was copied (and acknowledged) or parked. Kafka deletes only a
    prefix of a partition, so each partition is deleted up to the committed offset or the first
    parked record (read from the DLQ), whichever comes first. The table says per partition what
    stays and why: not replayed yet (filtered out, failed), parked, or copied but above a record
    that stays. Refused (exit 1) while a replay of the DLQ runs.

    Examples:

      kafkactl dlq purge orders -g billing

      kafkactl dlq purge orders -g billing --execute

      kafkactl dlq purge orders.dlq --replay-group my-replay --json
    """
    from kafkactl import render
    from kafkactl.cli.options import naming_flags
    from kafkactl.cli.streams import require_stdout
    from kafkactl.kafka import with_admin
    from kafkactl.names import check_group, check_topic
    from kafkactl.render.admin_ops import purge_plan
    from kafkactl.replay.purge import execute_purge, plan_purge
    from kafkactl.topology import dlq_topic
    from kafkactl.topology import replay_group as default_replay_group

    check_topic(topic)
    if group is not None:
        check_group(group, "--group")
    if replay_group is not None:
        check_group(replay_group, "--replay-group")
    int_flag("--max-replays", max_replays, 1, INT32_MAX)
    if json_out:
        require_stdout()
    settings = settings_for(ctx)
    dlq = dlq_topic(settings, topic, group) if group and not dlq_flag else topic
    check_topic(dlq, "DLQ topic")
    progress_group = replay_group or default_replay_group(dlq)

    def work(admin: AdminPort) -> PurgePlan:
        plan = plan_purge(settings, admin, dlq, progress_group, max_replays, partition)
        return execute_purge(admin, plan) if execute else plan

    with naming_flags({"partitions": "--partition"}):
        plan = with_admin(settings, work)
    if plan.interrupted_replay:
        render.warning(
            f"an interrupted replay of {dlq} may have sent copies it never committed; they "
            "stay in the DLQ: run replay-dlq again (it finds them), then purge"
        )
    render.emit(plan.as_dict(), json_out, quiet, lambda: purge_plan(plan))


def register(app: typer.Typer) -> None:
    """Add the `dlq` command group to the app."""
    app.add_typer(dlq_app, name="dlq")
