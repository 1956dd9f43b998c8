"""`kafkactl produce TOPIC`: publish lines from stdin or a file, one record per line (DESIGN §5)."""

from __future__ import annotations

import errno
from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING, Annotated

import typer

from kafkactl.cli.completion import complete_topics
from kafkactl.cli.context import settings_for
from kafkactl.cli.options import JsonOpt, QuietOpt, naming_flags
from kafkactl.cli.schemas import (
    KeyMessageOpt,
    KeySchemaOpt,
    KeySubjectOpt,
    NoRegisterOpt,
    ValueMessageOpt,
    ValueSchemaOpt,
    ValueSubjectOpt,
)
from kafkactl.errors import ConfigError, KafkactlError, UsageError

if TYPE_CHECKING:
    from kafkactl.ingest import ProduceSummary

# Settings a produce flag sets, so a bad value is reported under the flag's name.
FLAG_SETTINGS = {
    "producer_acks": "--acks",
    "producer_idempotent": "--idempotent/--no-idempotent",
    "producer_compression": "--compression",
    "producer_linger_ms": "--linger-ms",
    "producer_batch_size": "--batch-size",
}


def produce(
    ctx: typer.Context,
    topic: Annotated[
        str,
        typer.Argument(help="Topic to publish to (it must exist).", autocompletion=complete_topics),
    ],
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="Input format: json (default), envelope or raw.",
            show_default=False,
        ),
    ] = "json",
    key_field: Annotated[
        str | None,
        typer.Option("--key-field", "-k", help="Key from this JSON field (a.b when nested)."),
    ] = None,
    key: Annotated[str | None, typer.Option("--key", help="Fixed key for every record.")] = None,
    key_delimiter: Annotated[
        str | None,
        typer.Option(
            "--key-delimiter",
            "-K",
            help="raw: key and value split at the first DELIM (like kcat -K; \\t: tab).",
        ),
    ] = None,
    message_id_field: Annotated[
        str | None,
        typer.Option(
            "--message-id-field",
            help="Add a message-id header taken from this JSON field (a line without it is "
            "invalid). Default: no message-id (one in an envelope's headers is kept).",
        ),
    ] = None,
    message_id: Annotated[
        str | None,
        typer.Option(
            "--message-id",
            metavar="uuid",
            help="--message-id uuid: add a new UUID4 message-id header to each record without "
            "one. Default: none (consume identifies a record by topic/partition/offset).",
        ),
    ] = None,
    header: Annotated[
        list[str] | None,
        typer.Option("--header", "-H", help="Add header k=v to every record (repeatable)."),
    ] = None,
    partition: Annotated[
        int | None, typer.Option("--partition", "-p", help="Send every record to this partition.")
    ] = None,
    acks: Annotated[
        str | None, typer.Option("--acks", help="0, 1 or all (default KAFKA_PRODUCER_ACKS: all).")
    ] = None,
    idempotent: Annotated[
        bool | None,
        typer.Option(
            "--idempotent/--no-idempotent",
            help="Idempotent producer: no duplicates on retry (needs acks=all; default on).",
            show_default=False,
        ),
    ] = None,
    compression: Annotated[
        str | None, typer.Option("--compression", help="none, gzip, snappy, lz4 or zstd.")
    ] = None,
    linger_ms: Annotated[
        str | None, typer.Option("--linger-ms", help="Wait this long to fill a batch.")
    ] = None,
    batch_size: Annotated[
        str | None, typer.Option("--batch-size", help="Batch size in bytes per partition.")
    ] = None,
    input_file: Annotated[
        str | None, typer.Option("--input", "-i", help="Read this file instead of stdin.")
    ] = None,
    reject_file: Annotated[
        str | None,
        typer.Option(
            "--reject-file",
            help="Write each invalid or undelivered line here as JSON {line, input, error}.",
        ),
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Stop at the first invalid line (exit 1).")
    ] = False,
    trace: Annotated[
        bool,
        typer.Option(
            "--trace",
            help="Start a W3C trace per record: a new traceparent header unless the record "
            "has one (envelope headers, --header traceparent=...).",
        ),
    ] = False,
    value_schema: ValueSchemaOpt = None,
    value_subject: ValueSubjectOpt = None,
    value_message: ValueMessageOpt = None,
    key_schema: KeySchemaOpt = None,
    key_subject: KeySubjectOpt = None,
    key_message: KeyMessageOpt = None,
    no_register: NoRegisterOpt = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Publish records from stdin (or --input FILE), one per line.

    A message-id header is added only when asked (--message-id-field F, --message-id uuid);
    one an envelope carries is kept. An invalid line is reported with its line number,
    skipped and counted (--strict stops instead); a record the broker does not acknowledge
    after retries is reported too. Exit 0 when every line was delivered, 1 if any line was
    invalid or undelivered, 2 for bad flags, 3 when Kafka cannot be reached, 130 when
    interrupted (SIGINT/SIGTERM: what was read gets up to 10 s to be acknowledged).

    JSON and envelope lines are UTF-8 (no byte order mark, no UTF-16/32). A key or message-id
    taken from a number is the number as written (1.50, 1e400). An envelope's ts is epoch
    milliseconds 0 to 2^63-1 (-1: none, the time of sending) and its partition 0 to 2^31-1;
    a record over the producer's max request size is an invalid line. Records not
    acknowledged within 135 s of the end of input (the delivery timeout, -X delivery.timeout.ms,
    plus 15 s), or when the client fails, are reported
    as not delivered (exit 1).

    Examples:

      jq -c '.[]' orders.json | kafkactl produce orders --key-field id

      kafkactl consume src -e | kafkactl produce dst --format envelope

      printf 'k1\\tvalue one\\n' | kafkactl produce events --format raw -K '\\t'

      kafkactl produce orders -i orders.jsonl --reject-file rejects.jsonl -H source=import

      jq -r .input rejects.jsonl | kafkactl produce orders --key-field id

      kafkactl produce orders --trace -i orders.jsonl    # traceparent on every record

      kafkactl produce orders --value-schema order.avsc -k id   # Avro through the registry
    """
    from kafkactl import render
    from kafkactl.cli.schemas import (
        SchemaFlags,
        build_stage,
        check_produce_flags,
        check_schema_settings,
    )
    from kafkactl.cli.streams import require_stdin, require_stdout
    from kafkactl.formats import FORMATS, MAX_PARTITION, parse_key_delimiter
    from kafkactl.ingest import ProduceOptions, parse_header_flag
    from kafkactl.ingest.operation import ProduceRequest, produce_records
    from kafkactl.names import check_topic
    from kafkactl.render.produce import ProduceProgress, summary_table

    check_topic(topic)
    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt!r} is not allowed; use one of {', '.join(FORMATS)}")
    if key_field is not None and key is not None:
        raise UsageError("--key-field and --key exclude each other; use one")
    if message_id is not None and message_id != "uuid":
        raise UsageError(
            f"--message-id {message_id!r} is not allowed; use --message-id uuid, or "
            "--message-id-field F to take it from a JSON field"
        )
    if message_id is not None and message_id_field is not None:
        raise UsageError("--message-id and --message-id-field exclude each other; use one")
    if fmt == "raw" and (key_field or message_id_field):
        flag = "--key-field" if key_field else "--message-id-field"
        raise UsageError(f"{flag} needs JSON input; with --format raw use --key-delimiter/-K")
    if key_delimiter is not None and fmt != "raw":
        raise UsageError("--key-delimiter/-K applies to --format raw only")
    if partition is not None and not 0 <= partition <= MAX_PARTITION:
        raise UsageError(
            f"--partition must be a partition number 0 to {MAX_PARTITION}, got {partition}"
        )
    try:
        headers = [parse_header_flag(h) for h in header or []]
    except ValueError as exc:
        raise UsageError(f"--header {exc}") from None
    _check_trace_headers(headers)
    try:
        delimiter = parse_key_delimiter(key_delimiter) if key_delimiter is not None else None
    except ValueError as exc:
        raise UsageError(f"--key-delimiter {exc}") from None
    schema_flags = [
        SchemaFlags("value", value_schema, value_subject, value_message),
        SchemaFlags("key", key_schema, key_subject, key_message),
    ]
    check_produce_flags(
        schema_flags, fmt, has_key=bool(key_field or key is not None or fmt == "envelope")
    )
    if no_register and value_schema is None and key_schema is None:
        raise UsageError("--no-register goes with --value-schema/--key-schema FILE")
    if input_file is None or input_file == "-":
        require_stdin()
    if json_out:
        require_stdout("--json prints the summary there; redirect it to a file or a pipe")

    flags = {
        "producer_acks": acks,
        "producer_idempotent": idempotent,
        "producer_compression": compression,
        "producer_linger_ms": linger_ms,
        "producer_batch_size": batch_size,
    }
    try:
        settings = settings_for(ctx, **flags)
    except ConfigError as exc:
        raise _flag_error(exc, flags) from None
    check_schema_settings(settings, schema_flags)

    options = ProduceOptions(
        topic=topic,
        format=fmt,
        key_field=key_field,
        key=key,
        key_delimiter=delimiter,
        message_id_field=message_id_field,
        message_id=message_id,
        headers=headers,
        partition=partition,
        strict=strict,
        trace=trace,
    )
    with naming_flags({"partition": "--partition"}):
        summary = produce_records(
            settings,
            ProduceRequest(options, input_path=input_file, reject_path=reject_file),
            partial(ProduceProgress, not quiet),
            build_stage=partial(
                build_stage,
                settings,
                topic,
                fmt,
                schema_flags,
                not no_register,
                key_field,
                key,
                not quiet,
            ),
            on_reading_terminal=None if quiet else _say_reading_terminal,
        )

    if summary.stopped_at_line is not None:
        render.error(
            f"--strict: stopped at invalid line {summary.stopped_at_line}; "
            f"{summary.published} records before it were published"
        )
    if summary.error is not None:
        render.error(summary.error)
    if json_out:
        _print_summary_json(summary)
    elif not quiet:
        summary_table(summary)
    if summary.exit_code:
        raise typer.Exit(summary.exit_code)


def _check_trace_headers(headers: list[tuple[str, bytes]]) -> None:
    """A `--header traceparent=...` must be a valid W3C traceparent (it is every record's)."""
    from kafkactl.tracing import TRACEPARENT, parse_traceparent

    for name, value in headers:
        if name == TRACEPARENT and parse_traceparent(value) is None:
            raise UsageError(
                f"--header traceparent={value.decode('utf-8', 'replace')!r} is not a W3C "
                "traceparent (00-<32 hex trace id>-<16 hex span id>-<2 hex flags>)"
            )


def _say_reading_terminal() -> None:
    """Tell the user typed input is awaited (stdin is a terminal)."""
    from kafkactl import render

    render.info("reading records from the terminal, one per line; end with Ctrl-D")


def _print_summary_json(summary: ProduceSummary) -> None:
    """The summary on stdout; a closed stdout is one line and exit 1 (the records went out)."""
    from kafkactl import render
    from kafkactl.cli.streams import silence_stdout as _silence_stdout

    try:
        render.print_json(summary.as_dict())
    except OSError as exc:
        _silence_stdout()  # the interpreter's last flush must not fail again
        reason = "broken pipe" if exc.errno == errno.EPIPE else exc.strerror or str(exc)
        raise KafkactlError(
            f"stdout closed ({reason}) before the JSON summary was written; "
            f"{summary.published} of {summary.read} records were published"
        ) from None


def _flag_error(exc: ConfigError, flags: Mapping[str, object]) -> ConfigError | UsageError:
    """A bad produce flag named as the flag (`--compression 'x' is not allowed; ...`)."""
    from kafkactl.config import SPEC_BY_NAME

    if exc.source == "flag":
        for name, flag in FLAG_SETTINGS.items():
            if flags.get(name) is not None and exc.setting == SPEC_BY_NAME[name].env:
                return UsageError(f"{flag}: {exc.problem}")
    return exc


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("produce")(produce)
