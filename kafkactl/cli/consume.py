"""`kafkactl consume`: a worker-pool consumer with retry tiers, a DLQ and at-least-once commits."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from kafkactl.cli.app import settings_with_flags
from kafkactl.cli.options import GroupOpt, JsonOpt, QuietOpt, duration_flag, int_flag
from kafkactl.errors import KafkactlError, UsageError
from kafkactl.names import check_group, check_topic


def consume(
    ctx: typer.Context,
    topics: Annotated[
        list[str], typer.Argument(help="Main topic(s) to consume.", show_default=False)
    ],
    group: GroupOpt = None,
    exec_cmd: Annotated[
        str | None,
        typer.Option("--exec", help="Shell command run per message (value on stdin)."),
    ] = None,
    handler: Annotated[
        str | None,
        typer.Option("--handler", help="Python handler package.module:function (sync or async)."),
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", "-w", help="Worker threads (KAFKA_CONSUMER_WORKERS).")
    ] = None,
    ordering: Annotated[
        str, typer.Option(help="key: one at a time per key; partition; none: fully parallel.")
    ] = "key",
    exec_timeout: Annotated[
        str, typer.Option(help="Kill an --exec command (its process group) after this long.")
    ] = "30s",
    fatal_exit_codes: Annotated[
        str, typer.Option(help="--exec exit codes that send the message straight to the DLQ.")
    ] = "100",
    retry_delays: Annotated[
        str | None, typer.Option(help="Delay per retry tier, e.g. 1s,10s,60s (KAFKA_RETRY_DELAYS).")
    ] = None,
    no_retry: Annotated[
        bool, typer.Option("--no-retry", help="Send failures straight to the DLQ.")
    ] = False,
    dedupe: Annotated[
        str, typer.Option(help="memory, sqlite:PATH (survives restarts), or none.")
    ] = "memory",
    count: Annotated[
        int | None, typer.Option("--count", "-c", help="Stop after N messages were handled.")
    ] = None,
    exit_at_end: Annotated[
        bool,
        typer.Option("--exit-at-end", "-e", help="Stop once the topic and its tiers are drained."),
    ] = False,
    shutdown_timeout: Annotated[
        str, typer.Option(help="How long in-flight work may take to finish when stopping.")
    ] = "30s",
    metrics_interval: Annotated[
        str, typer.Option(help="How often the metrics table refreshes.")
    ] = "10s",
    metrics_port: Annotated[
        int | None,
        typer.Option(help="Serve Prometheus /metrics on this port (KAFKA_METRICS_PORT)."),
    ] = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Consume in a group with a worker pool; failures go through retry tiers into a DLQ.

    The default handler prints each message as one JSON line (kcat -J fields). Offsets are
    committed only past messages that are handled or safely in a retry tier / the DLQ.

    Examples:

      kafkactl consume orders -g billing -e > orders.jsonl

      kafkactl consume orders -g billing --exec './bill.sh' --workers 8

      kafkactl consume orders -g billing --handler app.handlers:process --dedupe sqlite:billing.db

      kafkactl consume orders -g billing --no-retry --count 100
    """
    from kafkactl import render
    from kafkactl.cli.streams import require_stdout
    from kafkactl.consumer import ConsumeOptions, ConsumerPipeline
    from kafkactl.dedupe import open_store
    from kafkactl.dispatch import ORDERINGS
    from kafkactl.handlers import build_handler, parse_exit_codes
    from kafkactl.metrics import Metrics, serve_prometheus
    from kafkactl.render.consume import MetricsView, final_summary
    from kafkactl.signals import stop_on_signals

    for topic in topics:
        check_topic(topic)
    if group is not None:
        check_group(group)
    if ordering not in ORDERINGS:
        raise UsageError(f"--ordering must be one of {', '.join(ORDERINGS)}, got {ordering!r}")
    if count is not None and count < 1:
        raise UsageError(f"--count must be 1 or more, got {count}")
    int_flag("--metrics-port", metrics_port, 1, 65535, "a TCP port")
    settings = settings_with_flags(
        ctx,
        {
            "consumer_group_id": group,
            "consumer_workers": workers,
            "retry_delays": retry_delays,
            "metrics_port": metrics_port,
        },
        {
            "consumer_group_id": "--group",
            "consumer_workers": "--workers",
            "retry_delays": "--retry-delays",
            "metrics_port": "--metrics-port",
        },
    )
    _check_pipeline_names(settings, list(topics), no_retry)
    if exec_cmd is None and handler is None:
        require_stdout(
            "the default handler prints each message there; redirect it, or use --exec or --handler"
        )
    handler_impl = build_handler(
        exec_cmd,
        handler,
        duration_flag("--exec-timeout", exec_timeout),
        parse_exit_codes(fatal_exit_codes),
    )
    options = ConsumeOptions(
        topics=list(topics),
        group=settings.consumer_group_id,
        workers=settings.consumer_workers,
        ordering=ordering,
        no_retry=no_retry,
        count=count,
        exit_at_end=exit_at_end,
        shutdown_timeout=duration_flag("--shutdown-timeout", shutdown_timeout),
        metrics_interval=duration_flag("--metrics-interval", metrics_interval),
    )
    store = open_store(dedupe)
    metrics = Metrics()
    if settings.metrics_port is not None:
        serve_prometheus(metrics, settings.metrics_port)
    with MetricsView(enabled=not quiet and not json_out) as view:
        pipeline = ConsumerPipeline(settings, options, handler_impl, store, metrics, view.update)
        stop_on_signals(pipeline.request_stop)
        summary = pipeline.run()
    if json_out:
        render.print_json(
            {
                "stopped_by": summary.stopped_by,
                "metrics": summary.metrics,
                "final_commit": summary.committed,
                **({"error": summary.failure} if summary.failure else {}),
            }
        )
    elif not quiet:
        final_summary(summary.metrics, summary.stopped_by)
    if summary.failure:
        raise KafkactlError(summary.failure)


def _check_pipeline_names(settings: Any, topics: list[str], no_retry: bool) -> None:
    """The group and every topic consume will use are legal Kafka names (exit 2 otherwise).

    The group and the templates may come from a config file or the environment: checked here,
    before any client sees a name it could hang on.
    """
    group = settings.consumer_group_id
    source = settings.sources.get("consumer_group_id", "")
    try:
        check_group(group)
    except UsageError as exc:
        raise UsageError(f"{exc} [from {source}]" if source else str(exc)) from None
    for topic in topics:
        names = [
            ("dlq_topic_template", "KAFKA_DLQ_TOPIC_TEMPLATE", settings.dlq_topic(topic, group))
        ]
        if not no_retry:
            names += [
                (
                    "retry_topic_template",
                    "KAFKA_RETRY_TOPIC_TEMPLATE",
                    settings.retry_topic(topic, n, group),
                )
                for n in range(1, len(settings.retry_delays) + 1)
            ]
        for setting, variable, name in names:
            try:
                check_topic(name)
            except UsageError as exc:
                where = settings.sources.get(setting, "")
                origin = f" (from {where})" if where else ""
                raise UsageError(f"{variable}{origin} makes a bad topic name: {exc}") from None


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("consume")(consume)
