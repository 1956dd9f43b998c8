"""`kafkactl create-topics`: topics with their group's retry tiers and DLQ, idempotently."""

# No `from __future__ import annotations`: Typer reads these commands' signatures at every
# start, and string annotations would be compiled each time (start-up time, as cli/completion.py).

from typing import Annotated

import typer

from kafkactl.cli.completion import complete_topics
from kafkactl.cli.context import settings_for
from kafkactl.cli.options import GroupOpt, JsonOpt, NoRetryOpt, QuietOpt, int_flag
from kafkactl.errors import EXIT_FAILED, UsageError

INT32_MAX = 2_147_483_647  # Kafka's partition count is an int32
INT16_MAX = 32_767  # and its replication factor an int16


def create_topics(
    ctx: typer.Context,
    topics: Annotated[
        list[str],
        typer.Argument(
            help="Topics to create.", show_default=False, autocompletion=complete_topics
        ),
    ],
    group: GroupOpt = None,
    partitions: Annotated[
        int, typer.Option("--partitions", "-p", help="Partitions per topic.")
    ] = 3,
    replication_factor: Annotated[
        int, typer.Option("--replication-factor", "-r", help="Replicas per partition.")
    ] = 1,
    config: Annotated[
        list[str] | None,
        typer.Option(
            "--config", "-c", help="Topic config k=v (repeatable), e.g. retention.ms=86400000."
        ),
    ] = None,
    no_retry: NoRetryOpt = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Create topics and, with --group, the group's retry tiers (unless --no-retry) and DLQ.

    A topic that already exists is reported as `exists`, not as an error, so this is safe to
    run again. --config applies to the named topics; retry tiers and the DLQ always get the
    delete policy, the main topic's retention and room for the failure headers (an existing
    one that is compacted or keeps less than its main topic is reported as a risk).

    Exit 1 if any topic could not be created, 2 for bad flags or names, 3 when Kafka cannot be
    reached, 130 when a signal stopped it.

    Examples:

      kafkactl create-topics orders --group billing --partitions 3

      kafkactl create-topics orders --group billing --no-retry   # orders and its DLQ

      kafkactl create-topics audit -c retention.ms=604800000 --json
    """
    from kafkactl import render
    from kafkactl.admin import queries as admin
    from kafkactl.cli.streams import require_stdout
    from kafkactl.kafka import connect_admin
    from kafkactl.names import check_group, check_topic
    from kafkactl.topology import pipeline_topics

    for topic in topics:
        check_topic(topic)
    if group is not None:
        check_group(group)
    int_flag("--partitions", partitions, 1, INT32_MAX, "Kafka's partition count is an int32")
    int_flag(
        "--replication-factor",
        replication_factor,
        1,
        INT16_MAX,
        "Kafka's replication factor is an int16",
    )
    topic_configs = parse_pairs(config or [], "--config")
    if json_out:
        require_stdout()
    settings = settings_for(ctx)
    group_id = group or settings.consumer_group_id
    plans = [
        plan
        for topic in topics
        for plan in pipeline_topics(settings, topic, group_id, not no_retry)
    ]
    for plan in plans:
        check_topic(plan.name, f"{plan.role} topic")
    client = connect_admin(settings)
    try:
        results = admin.create_topics(client, plans, partitions, replication_factor, topic_configs)
    finally:
        client.close()
    for result in results:
        if result.status == "exists":
            for note in ([result.detail] if result.detail else []) + result.risks:
                render.warning(f"topic {result.name} {note}")
    if json_out:
        render.print_json({"topics": [r.as_dict() for r in results]})
    elif not quiet or any(r.status == "failed" for r in results):
        render.topics_table(results)
    if any(r.status == "failed" for r in results):
        raise typer.Exit(EXIT_FAILED)


def parse_pairs(pairs: list[str], flag: str) -> dict[str, str]:
    """KEY=VALUE flag values as a dict; one without `=` or a key is a usage error."""
    result = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{flag} {pair!r} is not k=v (e.g. {flag} retention.ms=86400000)")
        result[key.strip()] = value
    return result


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("create-topics")(create_topics)
