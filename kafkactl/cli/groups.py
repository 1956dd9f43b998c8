"""`kafkactl groups list|describe|reset-offsets`: what an operator does around a DLQ replay
(delete and delete-offsets: cli/groups_admin.py)."""

# No `from __future__ import annotations`: Typer reads these commands' signatures at every
# start, and string annotations would be compiled each time (start-up time, as cli/completion.py).

from typing import Annotated

import typer

from kafkactl.cli.completion import complete_groups, complete_topics
from kafkactl.cli.context import settings_for
from kafkactl.cli.options import ExecuteOpt, JsonOpt, PartitionsOpt, QuietOpt, naming_flags
from kafkactl.errors import EXIT_FAILED, UsageError

groups_app = typer.Typer(
    help="List consumer groups, describe one with its lag, reset or delete its offsets, delete "
    "groups.",
    no_args_is_help=True,
)


@groups_app.command("list")
def list_cmd(ctx: typer.Context, json_out: JsonOpt = False, quiet: QuietOpt = False) -> None:
    """List every consumer group: state, members, topics, total lag.

    Examples:

      kafkactl groups list

      kafkactl groups list --json | jq -r '.[] | select(.lag > 0) | .group'
    """
    from kafkactl import render
    from kafkactl.admin.groups import list_groups
    from kafkactl.cli.streams import require_stdout
    from kafkactl.kafka import with_admin
    from kafkactl.render.inventory import group_list

    if json_out:
        require_stdout()
    rows = with_admin(settings_for(ctx), list_groups)
    render.emit([vars(r) for r in rows], json_out, quiet, lambda: group_list(rows))


@groups_app.command("describe")
def describe_cmd(
    ctx: typer.Context,
    group: Annotated[
        str,
        typer.Argument(help="Consumer group.", show_default=False, autocompletion=complete_groups),
    ],
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Describe a group: members and their partitions, lag per partition, tiers and DLQ depth
    with the DLQ's top error class (from its last 1,000 records; `dlq summary` has the rest).

    Exit 1 when the cluster knows nothing of the group.

    Examples:

      kafkactl groups describe billing

      kafkactl groups describe billing --json | jq .total_lag
    """
    from kafkactl import render
    from kafkactl.admin.groups import describe_group
    from kafkactl.cli.streams import require_stdout
    from kafkactl.dlq.scan import dlq_top_error
    from kafkactl.kafka import with_admin
    from kafkactl.names import check_group
    from kafkactl.render.inventory import group_detail

    if json_out:
        require_stdout()
    check_group(group)
    settings = settings_for(ctx)
    detail = with_admin(
        settings,
        lambda admin: describe_group(
            admin, settings, group, lambda dlq: dlq_top_error(settings, admin, dlq)
        ),
    )
    render.emit(
        detail.as_dict(), json_out, quiet or not detail.exists, lambda: group_detail(detail)
    )
    if not detail.exists:
        render.error(f"group {group} is unknown: no members and no committed offsets")
        raise typer.Exit(EXIT_FAILED)


@groups_app.command("reset-offsets")
def reset_offsets_cmd(
    ctx: typer.Context,
    group: Annotated[
        str,
        typer.Argument(help="Consumer group.", show_default=False, autocompletion=complete_groups),
    ],
    topic: Annotated[
        str | None,
        typer.Option(
            "--topic", "-t", help="Topic whose offsets move.", autocompletion=complete_topics
        ),
    ] = None,
    all_topics: Annotated[
        bool,
        typer.Option("--all-topics", help="Every topic the group has committed offsets on."),
    ] = False,
    partition: PartitionsOpt = None,
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            help="earliest, latest, an offset (42), or a time: ISO-8601, -15m, @EPOCH_MS.",
        ),
    ] = None,
    shift_by: Annotated[
        int | None, typer.Option("--shift-by", help="Move by N (negative: back).")
    ] = None,
    execute: ExecuteOpt = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Reset a group's committed offsets on a topic (or --all-topics); a dry run unless --execute.

    Prints the plan (current → new per partition, clamped to the retained range). With
    --execute it commits the new offsets for the group; it refuses (exit 1, naming them) while
    the group has members, who would overwrite the change. --all-topics: every topic the group
    has committed offsets on (exit 1 when it has none).

    Examples:

      kafkactl groups reset-offsets billing -t orders --to earliest

      kafkactl groups reset-offsets billing -t orders --to -1h --execute

      kafkactl groups reset-offsets billing -t orders -p 0 --shift-by -100 --execute

      kafkactl groups reset-offsets billing --all-topics --to latest --execute
    """
    from kafkactl import render
    from kafkactl.admin.groups import reset_offsets, reset_target
    from kafkactl.cli.streams import require_stdout
    from kafkactl.kafka import with_admin
    from kafkactl.names import check_group, check_topic
    from kafkactl.render.inventory import reset_plan

    if json_out:
        require_stdout()
    check_group(group)
    if (topic is None) == (not all_topics):
        raise UsageError("give exactly one of --topic and --all-topics")
    if topic is not None:
        check_topic(topic)
    target = reset_target(to, shift_by)
    settings = settings_for(ctx)
    with naming_flags({"partitions": "--partition"}):
        plan = with_admin(
            settings, lambda admin: reset_offsets(admin, group, topic, partition, target, execute)
        )
    render.emit(plan.as_dict(), json_out, quiet and not plan.failed, lambda: reset_plan(plan))
    if plan.failed:
        raise typer.Exit(EXIT_FAILED)


def register(app: typer.Typer) -> None:
    """Add the `groups` command group to the app."""
    app.add_typer(groups_app, name="groups")
