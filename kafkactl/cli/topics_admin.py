"""`kafkactl topics delete|alter-config|add-partitions|delete-records`: changing topics."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from kafkactl.cli.completion import complete_topics
from kafkactl.cli.context import settings_for
from kafkactl.cli.options import ExecuteOpt, JsonOpt, PartitionsOpt, QuietOpt, naming_flags
from kafkactl.errors import EXIT_FAILED

if TYPE_CHECKING:
    from collections.abc import Callable

    from kafkactl.admin.topic_changes import ConfigPlan, DeleteRow, PartitionPlan, RecordsPlan
    from kafkactl.kafka.admin_port import AdminPort

TopicArg = Annotated[
    str, typer.Argument(help="Topic.", show_default=False, autocompletion=complete_topics)
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
INT32_MAX = 2_147_483_647


def delete_cmd(
    ctx: typer.Context,
    topics: Annotated[
        list[str],
        typer.Argument(
            help="Topics to delete.", show_default=False, autocompletion=complete_topics
        ),
    ],
    yes: YesOpt = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Delete topics and every record in them.

    On a terminal it shows the topics with their sizes and asks; elsewhere it needs --yes
    (exit 2 without). Topics internal to Kafka (__consumer_offsets, any __ name) are refused;
    a missing topic is exit 2 before anything is deleted; exit 1 if the broker refused one.

    Examples:

      kafkactl topics delete orders.retry-1 orders.dlq

      kafkactl topics delete scratch --yes --json
    """
    from kafkactl import render
    from kafkactl.admin.topic_changes import delete_topics, plan_topic_delete, refuse_internal
    from kafkactl.cli.confirm import confirm, require_yes_off_terminal
    from kafkactl.cli.streams import require_stdout
    from kafkactl.kafka import with_admin
    from kafkactl.names import check_topic
    from kafkactl.render.admin_ops import topic_deletes

    for topic in topics:
        check_topic(topic)
    refuse_internal(topics, "delete")
    require_yes_off_terminal(yes, "delete topics")
    if json_out:
        require_stdout()
    settings = settings_for(ctx)

    def work(admin: AdminPort) -> list[DeleteRow]:
        rows = plan_topic_delete(admin, settings, topics)
        if not yes:
            topic_deletes(rows, "Topics to delete")
            total = sum(r.messages for r in rows)
            if not confirm(
                f"delete {len(rows)} topic(s) and their {total:,} record(s)?",
                "nothing was deleted",
            ):
                render.info("nothing was deleted")
                return []
        return delete_topics(admin, rows)

    rows = with_admin(settings, work)
    failed = any(r.status == "failed" for r in rows)
    render.emit(
        {"topics": [vars(r) for r in rows]},
        json_out,
        (quiet and not failed) or not rows,
        lambda: topic_deletes(rows),
    )
    if failed:
        raise typer.Exit(EXIT_FAILED)


def alter_config_cmd(
    ctx: typer.Context,
    topic: TopicArg,
    set_values: Annotated[
        list[str] | None,
        typer.Option("--set", help="KEY=VALUE to set on the topic (repeatable)."),
    ] = None,
    delete: Annotated[
        list[str] | None,
        typer.Option("--delete", help="KEY to remove from the topic: back to the default."),
    ] = None,
    execute: ExecuteOpt = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Change a topic's configs: each one's value now (and where it comes from) → after.

    A dry run unless --execute. Applied with one incremental request (IncrementalAlterConfigs):
    configs not named stay as they are. An unknown key is exit 2; the broker refusing a
    value, exit 1.

    Examples:

      kafkactl topics alter-config orders --set retention.ms=86400000

      kafkactl topics alter-config orders --delete retention.ms --execute
    """
    from kafkactl.admin.topic_changes import apply_config_change, plan_config_change
    from kafkactl.cli.create_topics import parse_pairs
    from kafkactl.cli.streams import require_stdout
    from kafkactl.kafka import with_admin
    from kafkactl.names import check_topic
    from kafkactl.render.admin_ops import config_plan

    check_topic(topic)
    changes = parse_pairs(set_values or [], "--set")
    if json_out:
        require_stdout()
    settings = settings_for(ctx)

    def work(admin: AdminPort) -> ConfigPlan:
        plan = plan_config_change(admin, topic, changes, list(delete or []))
        return apply_config_change(admin, plan) if execute else plan

    plan = with_admin(settings, work)
    _report_plan(plan, json_out, quiet, lambda: config_plan(plan), f"topic {topic}", "change")


def add_partitions_cmd(
    ctx: typer.Context,
    topic: TopicArg,
    count: Annotated[int, typer.Option("--count", help="The partition count after (total).")],
    execute: ExecuteOpt = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Add partitions to a topic, up to --count in total; a dry run unless --execute.

    Keys move: a key's partition is its hash modulo the partition count, so after this most
    keys land on another partition than their earlier records (per-key order across the
    change is lost). Kafka cannot remove partitions: a count at or below today's is exit 2.

    Examples:

      kafkactl topics add-partitions orders --count 12

      kafkactl topics add-partitions orders --count 12 --execute
    """
    from kafkactl import render
    from kafkactl.admin.topic_changes import add_partitions, plan_add_partitions
    from kafkactl.cli.options import int_flag
    from kafkactl.cli.streams import require_stdout
    from kafkactl.kafka import with_admin
    from kafkactl.names import check_topic
    from kafkactl.render.admin_ops import partition_plan

    check_topic(topic)
    int_flag("--count", count, 1, INT32_MAX, "Kafka's partition count is an int32")
    if json_out:
        require_stdout()
    settings = settings_for(ctx)

    def work(admin: AdminPort) -> PartitionPlan:
        plan = plan_add_partitions(admin, topic, count)
        return add_partitions(admin, plan) if execute else plan

    plan = with_admin(settings, work)
    render.warning(
        f"{topic}: keyed records move to other partitions ({plan.current} → {plan.count}: the "
        "partition is the key's hash modulo the count), so a key's new records no longer "
        "follow its old ones in order"
    )
    _report_plan(
        plan, json_out, quiet, lambda: partition_plan(plan), f"topic {topic}", "partitions"
    )


def delete_records_cmd(
    ctx: typer.Context,
    topic: TopicArg,
    before: Annotated[
        str,
        typer.Option(
            "--before",
            help="Delete records before this: an offset (42), a time (ISO-8601, -1h, "
            "@EPOCH_MS), or end (all).",
        ),
    ],
    partition: PartitionsOpt = None,
    execute: ExecuteOpt = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Delete the records of a topic before an offset or a time; a dry run unless --execute.

    Per partition: the low watermark now → after, and the records removed (clamped to what
    the partition holds). A time deletes every record before the first one at or after it.
    Kafka deletes only a prefix of a partition (DeleteRecords).

    Examples:

      kafkactl topics delete-records orders --before 1000 -p 0

      kafkactl topics delete-records orders --before -7d --execute
    """
    from kafkactl import render
    from kafkactl.admin.topic_changes import delete_records, plan_delete_records
    from kafkactl.cli.streams import require_stdout
    from kafkactl.kafka import with_admin
    from kafkactl.names import check_topic
    from kafkactl.positions import parse_position
    from kafkactl.render.admin_ops import records_plan

    check_topic(topic)
    position = parse_position("--before", before, ("end", "offset", "time"))
    if json_out:
        require_stdout()
    settings = settings_for(ctx)

    def work(admin: AdminPort) -> RecordsPlan:
        plan = plan_delete_records(admin, topic, position.kind, position.value, partition)
        return delete_records(admin, plan) if execute else plan

    with naming_flags({"partitions": "--partition"}):
        plan = with_admin(settings, work)
    render.emit(plan.as_dict(), json_out, quiet, lambda: records_plan(plan))


def _report_plan(
    plan: ConfigPlan | PartitionPlan,
    json_out: bool,
    quiet: bool,
    table: Callable[[], None],
    subject: str,
    what: str,
) -> None:
    """Show a plan or its outcome; one the broker refused is one error line and exit 1."""
    from kafkactl import render

    render.emit(plan.as_dict(), json_out, quiet, table)
    if plan.status == "failed":
        render.error(f"{subject}: the broker refused the {what}: {plan.error}")
        raise typer.Exit(EXIT_FAILED)


def register(app: typer.Typer) -> None:
    """Add the changing commands to the `topics` group (cli/topics_view.py)."""
    from kafkactl.cli.topics_view import topics_app

    topics_app.command("delete")(delete_cmd)
    topics_app.command("alter-config")(alter_config_cmd)
    topics_app.command("add-partitions")(add_partitions_cmd)
    topics_app.command("delete-records")(delete_records_cmd)
