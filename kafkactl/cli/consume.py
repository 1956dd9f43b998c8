"""`kafkactl consume`: a worker-pool consumer with retry tiers, a DLQ and at-least-once commits."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Annotated

import typer

from kafkactl.cli.completion import complete_topics
from kafkactl.cli.context import settings_with_flags
from kafkactl.cli.options import (
    GroupOpt,
    IsolationOpt,
    JsonOpt,
    QuietOpt,
    duration_flag,
    int_flag,
    isolation_flag,
    naming_flags,
)
from kafkactl.cli.schemas import DecodeOpt
from kafkactl.errors import KafkactlError, UsageError

if TYPE_CHECKING:
    from kafkactl.config import Settings
    from kafkactl.consumer.dispatch import Ordering
    from kafkactl.consumer.operation import MakeRun
    from kafkactl.consumer.options import AfterDeadLetter, OnFailure


def consume(
    ctx: typer.Context,
    topics: Annotated[
        list[str],
        typer.Argument(
            help="Main topic(s) to consume.", show_default=False, autocompletion=complete_topics
        ),
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
        str,
        typer.Option(
            help="key: one at a time per key; partition; none: fully parallel; key-strict: as "
            "key, and a key's later records wait behind one in the retry tiers."
        ),
    ] = "key",
    after_dead_letter: Annotated[
        str,
        typer.Option(
            help="--ordering key-strict: when a record is dead-lettered, its key's waiting "
            "records go to the DLQ behind it (dlq) or run (continue)."
        ),
    ] = "dlq",
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
        str,
        typer.Option(
            help="Skip records this group already handled, known by their message-id, else by "
            "topic/partition/offset of the first read: memory, sqlite:PATH (survives "
            "restarts), or none."
        ),
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
    from_: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Where to start: beginning (default), end, an offset, -N (the last N per "
            "partition), or a time (ISO-8601, -15m, @EPOCH_MS). With a group: beginning or end, "
            "for partitions the group has no offset for.",
        ),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            help="Without a group: stop each partition before this offset or time, or at its "
            "end (exit 0 when all are done).",
        ),
    ] = None,
    partition: Annotated[
        list[int] | None,
        typer.Option("--partition", "-p", help="Without a group: read only this partition."),
    ] = None,
    key: Annotated[str | None, typer.Option("--key", help="Only records with this key.")] = None,
    header: Annotated[
        list[str] | None,
        typer.Option("--header", help="Only records with header NAME, or NAME=VALUE (repeatable)."),
    ] = None,
    grep: Annotated[
        str | None, typer.Option("--grep", help="Only records whose value matches this RE2 regex.")
    ] = None,
    output_format: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="Print handler output: envelope (JSON line), value, key-value, or a template "
            "like '{key}\\t{value}\\n' ({topic} {partition} {offset} {ts} {key} {value} "
            "{headers} {header:NAME}).",
        ),
    ] = "envelope",
    key_delimiter: Annotated[
        str | None,
        typer.Option("--key-delimiter", "-K", help="Delimiter of --format key-value (tab)."),
    ] = None,
    on_failure: Annotated[
        str | None,
        typer.Option(
            "--on-failure",
            help="When --exec/--handler fails: dlq (group default: retry tiers, then the DLQ), "
            "stop (default without a group: exit 1 naming the record), skip (count, go on).",
        ),
    ] = None,
    breaker: Annotated[
        str,
        typer.Option(
            help="Group mode: hold records and pause while failures look like an outage, not bad "
            "records: on, off, or rules like share=80%,min=20,window=10s,consecutive=10."
        ),
    ] = "on",
    decode: DecodeOpt = "auto",
    isolation_level: IsolationOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Read a topic like kcat, or run a group's pipeline with retry tiers and a DLQ.

    Without a group (no -g, no KAFKA_CONSUMER_GROUP_ID) it reads without joining a group and
    commits nothing: run it again and it prints the same. With a group it is a worker-pool
    consumer whose failures go through retry tiers into a DLQ; offsets are committed only
    past messages that are handled or safely in a retry tier / the DLQ.

    Examples:

      kafkactl consume orders -e                       # the whole topic, then exit

      kafkactl consume orders --from -10 -e -f value   # the last 10 values per partition

      kafkactl consume orders --from -1h --to -5m --grep 'status":"failed'

      kafkactl consume orders -g billing --exec './bill.sh' --workers 8

      kafkactl consume orders -g billing --handler app.handlers:process --dedupe sqlite:billing.db

      KAFKA_SCHEMA_REGISTRY_URL=http://localhost:8081 kafkactl consume orders -e   # Avro as JSON
    """
    from kafkactl.cli.schemas import decode_mode, decoder_for
    from kafkactl.cli.streams import require_stdout
    from kafkactl.consumer.breaker import parse_breaker
    from kafkactl.consumer.filters import build_filter
    from kafkactl.consumer.operation import ConsumeRequest, plan_consume
    from kafkactl.consumer.options import ConsumeOptions
    from kafkactl.handlers import build_handler, parse_exit_codes
    from kafkactl.names import check_group, check_topic
    from kafkactl.print_formats import print_format
    from kafkactl.watchdog import watch_stop_within

    for topic in topics:
        check_topic(topic)
    if group is not None:
        check_group(group)
    if count is not None and count < 1:
        raise UsageError(f"--count must be 1 or more, got {count}")
    for p in partition or []:
        int_flag("--partition", p, 0, 2**31 - 1, "Kafka's partition ids are int32")
    int_flag("--metrics-port", metrics_port, 1, 65535, "a TCP port")
    if on_failure is not None and on_failure not in ("dlq", "stop", "skip"):
        raise UsageError(f"--on-failure must be dlq, stop or skip, got {on_failure!r}")
    mode = decode_mode(decode)
    printer = print_format(output_format, key_delimiter)
    breaker_rules = parse_breaker(breaker)
    record_filter = build_filter(key, header or [], grep)
    settings = settings_with_flags(
        ctx,
        {
            "consumer_group_id": group,
            "consumer_workers": workers,
            "retry_delays": retry_delays,
            "metrics_port": metrics_port,
            **isolation_flag(isolation_level),
        },
        {
            "consumer_group_id": "--group",
            "consumer_workers": "--workers",
            "retry_delays": "--retry-delays",
            "metrics_port": "--metrics-port",
        },
    )
    if exec_cmd is None and handler is None:
        require_stdout(
            "the default handler prints each message there; redirect it, or use --exec or --handler"
        )
    elif printer is not None:
        raise UsageError("--format shapes the print handler's output; not with --exec/--handler")
    decoder, registry = decoder_for(settings, mode)
    handler_impl = build_handler(
        exec_cmd,
        handler,
        duration_flag("--exec-timeout", exec_timeout),
        parse_exit_codes(fatal_exit_codes),
        print_format=printer,
        decoder=decoder,
        decoded_stdin=mode == "json",
    )
    shutdown = duration_flag("--shutdown-timeout", shutdown_timeout)
    watch_stop_within(shutdown)
    interval = duration_flag("--metrics-interval", metrics_interval)
    # Fields in order: topics, --from, --to, --partition, -e, --count, --on-failure, --no-retry.
    request = ConsumeRequest(
        list(topics), from_, to, partition, exit_at_end, count, on_failure, no_retry
    )
    run = plan_consume(
        settings,
        request,
        handler_impl,
        record_filter,
        dedupe,
        lambda group: ConsumeOptions(
            topics=list(topics),
            group=group,
            workers=settings.consumer_workers,
            ordering=_ordering(ordering),
            no_retry=no_retry,
            count=count,
            exit_at_end=exit_at_end,
            shutdown_timeout=shutdown,
            metrics_interval=interval,
            on_failure=None if on_failure is None else _on_failure(on_failure),
            record_filter=record_filter,
            breaker=breaker_rules,
            after_dead_letter=_after_dead_letter(after_dead_letter),
        ),
    )
    try:
        _run_and_report(settings, run, quiet, json_out, _progress_label(list(topics)))
    finally:
        if registry is not None:
            registry.close()


def _ordering(value: str) -> Ordering:
    from kafkactl.consumer.dispatch import ORDERINGS

    for ordering in ORDERINGS:
        if value == ordering:
            return ordering
    raise UsageError(f"--ordering must be one of {', '.join(ORDERINGS)}, got {value!r}")


def _after_dead_letter(value: str) -> AfterDeadLetter:
    if value not in ("dlq", "continue"):
        raise UsageError(f"--after-dead-letter must be dlq or continue, got {value!r}")
    return "continue" if value == "continue" else "dlq"


def _on_failure(value: str) -> OnFailure:
    return "stop" if value == "stop" else "skip" if value == "skip" else "dlq"


def _progress_label(topics: list[str], width: int = 32) -> str:
    """The progress bar's description: the topics read, cut to `width`."""
    text = ", ".join(topics)
    return text if len(text) <= width else text[: width - 1] + "…"


def _run_and_report(
    settings: Settings, make: MakeRun, quiet: bool, json_out: bool, label: str
) -> None:
    """Run the reader or the pipeline under the live view (with a progress bar toward the end
    offsets when the run stops there); report it."""
    from kafkactl import render
    from kafkactl.consumer.operation import run_consume
    from kafkactl.render.consume import READER_OMITS, MetricsView, final_summary

    omit = READER_OMITS if settings.consumer_group_id is None else frozenset()
    shown = not quiet and not json_out
    with naming_flags({"partitions": "--partition"}):
        summary = run_consume(settings, make, partial(MetricsView, shown, omit=omit), label)
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
        final_summary(summary.metrics, summary.stopped_by, omit)
    if summary.failure:
        raise KafkactlError(summary.failure)


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("consume")(consume)
