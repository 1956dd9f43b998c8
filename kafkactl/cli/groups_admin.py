"""`kafkactl groups delete|delete-offsets`: removing groups and their committed offsets."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from kafkactl.cli.completion import complete_groups, complete_topics
from kafkactl.cli.context import settings_for
from kafkactl.cli.options import ExecuteOpt, JsonOpt, PartitionsOpt, QuietOpt, naming_flags
from kafkactl.errors import EXIT_FAILED

if TYPE_CHECKING:
    from kafkactl.admin.group_changes import GroupDeleteRow, OffsetsDeletePlan
    from kafkactl.kafka.admin_port import AdminPort


def delete_cmd(
    ctx: typer.Context,
    groups: Annotated[
        list[str],
        typer.Argument(
            help="Consumer groups to delete.", show_default=False, autocompletion=complete_groups
        ),
    ],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Delete consumer groups with their committed offsets.

    On a terminal it shows the groups and asks; elsewhere it needs --yes (exit 2 without).
    Refused (exit 1, naming them, nothing deleted) while a group has members; an unknown group
    (no members, no offsets) is exit 1 too.

    Examples:

      kafkactl groups delete old-billing

      kafkactl groups delete test-1 test-2 --yes --json
    """
    from kafkactl import render
    from kafkactl.admin.group_changes import delete_groups, plan_group_delete
    from kafkactl.cli.confirm import confirm, require_yes_off_terminal
    from kafkactl.cli.streams import require_stdout
    from kafkactl.kafka import with_admin
    from kafkactl.names import check_group
    from kafkactl.render.admin_ops import group_deletes

    for group in groups:
        check_group(group)
    require_yes_off_terminal(yes, "delete groups")
    if json_out:
        require_stdout()
    settings = settings_for(ctx)

    def work(admin: AdminPort) -> list[GroupDeleteRow]:
        rows = plan_group_delete(admin, groups)
        if not yes:
            group_deletes(rows, "Groups to delete")
            if not confirm(
                f"delete {len(rows)} group(s) and their committed offsets?", "nothing was deleted"
            ):
                render.info("nothing was deleted")
                return []
        return delete_groups(admin, rows)

    rows = with_admin(settings, work)
    failed = any(r.status == "failed" for r in rows)
    render.emit(
        {"groups": [vars(r) for r in rows]},
        json_out,
        (quiet and not failed) or not rows,
        lambda: group_deletes(rows),
    )
    if failed:
        raise typer.Exit(EXIT_FAILED)


def delete_offsets_cmd(
    ctx: typer.Context,
    group: Annotated[
        str,
        typer.Argument(help="Consumer group.", show_default=False, autocompletion=complete_groups),
    ],
    topic: Annotated[
        str,
        typer.Option(
            "--topic", "-t", help="Topic whose offsets go.", autocompletion=complete_topics
        ),
    ],
    partition: PartitionsOpt = None,
    execute: ExecuteOpt = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Delete a group's committed offsets on a topic; a dry run unless --execute.

    The group then starts that topic where KAFKA_CONSUMER_AUTO_OFFSET_RESET says (earliest).
    Refused (exit 1, naming them) while the group has members; exit 2 when the group has no
    offsets on the topic.

    Examples:

      kafkactl groups delete-offsets billing -t orders

      kafkactl groups delete-offsets billing -t orders --execute
    """
    from kafkactl import render
    from kafkactl.admin.group_changes import delete_offsets, plan_offsets_delete
    from kafkactl.cli.streams import require_stdout
    from kafkactl.kafka import with_admin
    from kafkactl.names import check_group, check_topic
    from kafkactl.render.admin_ops import offsets_delete_plan

    check_group(group)
    check_topic(topic)
    if json_out:
        require_stdout()
    settings = settings_for(ctx)

    def work(admin: AdminPort) -> OffsetsDeletePlan:
        plan = plan_offsets_delete(admin, group, topic, partition)
        return delete_offsets(admin, plan) if execute else plan

    with naming_flags({"partitions": "--partition"}):
        plan = with_admin(settings, work)
    render.emit(
        plan.as_dict(), json_out, quiet and not plan.failed, lambda: offsets_delete_plan(plan)
    )
    if plan.failed:
        raise typer.Exit(EXIT_FAILED)


def register(app: typer.Typer) -> None:
    """Add the removing commands to the `groups` group (cli/groups.py)."""
    from kafkactl.cli.groups import groups_app

    groups_app.command("delete")(delete_cmd)
    groups_app.command("delete-offsets")(delete_offsets_cmd)
