"""`kafkactl topics list|describe` (what is on the cluster, how big, what role it plays); the
changing commands are in cli/topics_admin.py."""

# No `from __future__ import annotations`: Typer reads these commands' signatures at every
# start, and string annotations would be compiled each time (start-up time, as cli/completion.py).

from typing import Annotated

import typer

from kafkactl.cli.completion import complete_topics
from kafkactl.cli.context import settings_for
from kafkactl.cli.options import JsonOpt, QuietOpt

topics_app = typer.Typer(
    help="List topics, describe one; delete topics, change configs, add partitions, delete "
    "records.",
    no_args_is_help=True,
)


@topics_app.command("list")
def list_cmd(
    ctx: typer.Context,
    all_topics: Annotated[
        bool, typer.Option("--all", help="Include internal topics (__consumer_offsets).")
    ] = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """List topics: partitions, replication, messages retained, retry/DLQ role.

    Examples:

      kafkactl topics list

      kafkactl topics list --json | jq -r '.[] | select(.role == "dlq") | .name'
    """
    from kafkactl import render
    from kafkactl.admin.topics import list_topics
    from kafkactl.cli.streams import require_stdout
    from kafkactl.kafka import with_admin
    from kafkactl.render.inventory import topic_list

    if json_out:
        require_stdout()
    settings = settings_for(ctx)
    rows = with_admin(settings, lambda admin: list_topics(admin, settings, all_topics))
    render.emit([vars(r) for r in rows], json_out, quiet, lambda: topic_list(rows))


@topics_app.command("describe")
def describe_cmd(
    ctx: typer.Context,
    topic: Annotated[
        str, typer.Argument(help="Topic.", show_default=False, autocompletion=complete_topics)
    ],
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Describe a topic: leader, replicas, ISR and watermarks per partition; non-default configs.

    Examples:

      kafkactl topics describe orders

      kafkactl topics describe orders --json | jq '.partitions[] | .high - .low'
    """
    from kafkactl import render
    from kafkactl.admin.topics import describe_topic
    from kafkactl.cli.streams import require_stdout
    from kafkactl.kafka import with_admin
    from kafkactl.names import check_topic
    from kafkactl.render.inventory import topic_detail

    if json_out:
        require_stdout()
    check_topic(topic)
    settings = settings_for(ctx)
    detail = with_admin(settings, lambda admin: describe_topic(admin, settings, topic))
    render.emit(detail.as_dict(), json_out, quiet, lambda: topic_detail(detail))


def register(app: typer.Typer) -> None:
    """Add the `topics` command group to the app."""
    app.add_typer(topics_app, name="topics")
