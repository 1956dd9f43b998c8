"""`kafkactl replay-dlq`: send dead letters back for processing once the cause is fixed."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from kafkactl.cli.context import settings_for
from kafkactl.cli.options import (
    DlqTopicArg,
    GroupOpt,
    IsolationOpt,
    JsonOpt,
    QuietOpt,
    SinceOpt,
    UntilOpt,
    duration_flag,
    int_flag,
    isolation_flag,
    naming_flags,
    positive_float_flag,
)
from kafkactl.errors import EXIT_FAILED, KafkactlError, UsageError

if TYPE_CHECKING:
    from kafkactl.render.replay import ReplayProgress
    from kafkactl.replay import Filters, ReplaySummary
    from kafkactl.replay.operation import ReplayOutcome

INT32_MAX = 2_147_483_647
INT64_MAX = 2**63 - 1
MAX_RATE = 1_000_000.0  # records/s; above it the limit is meaningless
EXIT_INTERRUPTED = 130


def replay_dlq(
    ctx: typer.Context,
    topic: DlqTopicArg,
    group: GroupOpt = None,
    dlq_flag: Annotated[
        bool,
        typer.Option(
            "--dlq",
            help="TOPIC is the DLQ even though --group is given (--group then only names the "
            "group for records without a kafkactl.group header).",
        ),
    ] = False,
    to: Annotated[
        str,
        typer.Option(
            "--to",
            help="retry: tier 1 of the group that failed each record, due now; original: the "
            "topic it first failed on; anything else: that topic.",
        ),
    ] = "retry",
    since: SinceOpt = None,
    until: UntilOpt = None,
    key: Annotated[
        list[str] | None, typer.Option("--key", "-k", help="Only this key (repeatable: any).")
    ] = None,
    error_contains: Annotated[
        list[str] | None,
        typer.Option(
            "--error-contains",
            help="Only errors whose message contains TEXT, any case (repeatable: any).",
        ),
    ] = None,
    error_class: Annotated[
        list[str] | None,
        typer.Option(
            "--error-class",
            help="Only this error class, full or short name, e.g. TimeoutError or exit:100 "
            "(repeatable: any).",
        ),
    ] = None,
    partition: Annotated[
        list[int] | None,
        typer.Option("--partition", "-p", help="Only this DLQ partition (repeatable)."),
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", help="Replay at most N records, then stop.")
    ] = None,
    max_replays: Annotated[
        int,
        typer.Option(help="Park (do not send) records already replayed this many times."),
    ] = 3,
    rate: Annotated[
        float | None, typer.Option("--rate", help="At most N records per second.")
    ] = None,
    replay_group: Annotated[
        str | None,
        typer.Option(help="Consumer group keeping the progress (default kafkactl-replay.<dlq>)."),
    ] = None,
    from_beginning: Annotated[
        bool,
        typer.Option(
            "--from-beginning",
            help="Ignore the progress kept so far and read the DLQ from its first record "
            "(already replayed records are sent again, up to --max-replays).",
        ),
    ] = False,
    transform: Annotated[
        str | None,
        typer.Option(
            "--transform",
            metavar="CMD",
            help="Repair each value on the way back: a shell command with the value on stdin "
            "and the new value on stdout (one trailing newline dropped), with consume --exec's "
            "KAFKA_* variables. Non-zero exit, a timeout or no output: the record is counted "
            "unrepaired and stays in the DLQ.",
        ),
    ] = None,
    transform_handler: Annotated[
        str | None,
        typer.Option(
            "--transform-handler",
            metavar="MODULE:FUNCTION",
            help="Repair each value with a Python function taking a Message and returning "
            "bytes, str or dict (JSON); raising means unrepaired.",
        ),
    ] = None,
    transform_timeout: Annotated[
        str,
        typer.Option(
            "--transform-timeout",
            help="Kill a --transform command running longer (its process group); the record "
            "is unrepaired.",
        ),
    ] = "30s",
    show: Annotated[
        int | None,
        typer.Option(
            "--show",
            help="With --dry-run and a transform: show before -> after for the first N "
            "selected records (default 5).",
        ),
    ] = None,
    keep_foreign_headers: Annotated[
        bool,
        typer.Option(
            "--keep-foreign-headers",
            help="Copies keep the frameworks' error-context headers (__connect.errors.*, "
            "kafka_dlt-*, retry_topic-*, Karafka's source_*), left out by default.",
        ),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Show what would be replayed (running the transform, if any); send and "
            "commit nothing.",
        ),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    isolation_level: IsolationOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Send dead letters back for processing once the cause is fixed.

    Which DLQ: with --group G, TOPIC is the main topic and the DLQ is the
    group's (orders -> orders.G.dlq); without --group (or with --dlq), TOPIC
    is the DLQ itself. Each record's origin is read from kafkactl's headers,
    Kafka Connect's (__connect.errors.*), Spring Kafka's (kafka_dlt-*) or
    Karafka's (source_*); a header that repeats is read from its last
    occurrence (the framework's newest), and --dry-run says so.

    Targets: --to retry (default) sends a record to tier 1 of the group that
    failed it, due at once, so only that group sees it again; --to original
    sends it to the topic it first failed on; --to TOPIC to any topic.

    Filters combine with AND; a repeated flag matches any of its values.
    --since/--until compare with the time a record was written to the DLQ.

    Progress is kept in --replay-group: a DLQ record counts as done once its
    copy is acknowledged (or it is parked), so an interrupted replay - even
    kill -9 - resumes with no duplicates and no gaps, and the same replay run
    twice sends nothing new. Records the filters leave out, or that fail,
    stay available to a later replay with other filters.

    Copies keep key, value, message-id and business headers; the retry state
    (kafkactl.attempt, .not-before, .error.*) and the frameworks' error context
    (the framework writes its own again) are removed; kafkactl.original.* and
    kafkactl.replay.count/at/from are set once. A record replayed
    --max-replays times already is parked: counted, not sent.

    Repair: --transform CMD or --transform-handler MODULE:FUNCTION rewrites
    each selected value before it is sent; the copy carries the new value and
    kafkactl.replay.transformed: true. A record the transform cannot repair
    is counted unrepaired, is not sent and stays in the DLQ (the next run
    tries it again). --dry-run runs the transform on every selected record
    and shows before -> after for the first --show N.

    One replay at a time per DLQ and replay group: another one, from any
    host, exits 1 naming it. A record whose target or original topic is
    internal (__...) or illegal is refused: counted failed, left in the DLQ.

    Without --yes it shows the counts per target and asks; when stdin is not
    a terminal it refuses (exit 2). Exit 0 when all selected records were
    replayed or parked, 1 when one could not be (refused, unrepaired) or
    another replay runs, 2 bad flags, 3 unreachable,
    130 when SIGINT/SIGTERM/SIGHUP stopped it first (the summary still prints, and
    the next run resumes where it stopped).

    Examples:

      kafkactl replay-dlq orders -g billing --dry-run

      kafkactl replay-dlq orders -g billing --error-class TimeoutError -y

      kafkactl replay-dlq orders -g billing --since -2h --to original -y

      kafkactl replay-dlq orders.billing.dlq --rate 50 --limit 1000 -y

      kafkactl replay-dlq connect-dlq --dlq -g billing --json -y

      kafkactl replay-dlq orders -g billing --dry-run --show 5 \\
        --transform "jq -c '.currency = \\"EUR\\"'"

      kafkactl replay-dlq orders -g billing --transform-handler fixes:currency -y
    """
    from kafkactl import render
    from kafkactl.cli.streams import require_stdout
    from kafkactl.names import check_group, check_topic
    from kafkactl.render.replay import plan_table, previews_table, summary_table
    from kafkactl.replay import ReplayOptions
    from kafkactl.replay.operation import replay_dlq as run_replay
    from kafkactl.replay.transform import build_transform
    from kafkactl.topology import dlq_topic

    check_topic(topic)
    if group is not None:
        check_group(group, "--group")
    if replay_group is not None:
        check_topic(replay_group, "--replay-group")
    filters = _filters(since, until, key, error_contains, error_class)
    int_flag("--limit", limit, 1, INT64_MAX)
    int_flag("--max-replays", max_replays, 1, INT32_MAX)
    positive_float_flag("--rate", rate, MAX_RATE)
    for p in partition or ():
        int_flag("--partition", p, 0, INT32_MAX - 1, "a Kafka partition number")
    if not to.strip():
        raise UsageError("--to needs retry, original or a topic name")
    if to.strip() not in ("retry", "original"):
        check_topic(to.strip(), "--to")
    timeout_s = duration_flag("--transform-timeout", transform_timeout)
    if show is not None:
        int_flag("--show", show, 0, INT32_MAX)
        if transform is None and transform_handler is None:
            raise UsageError("--show needs --transform or --transform-handler (and --dry-run)")
    if transform is not None and transform_handler is not None:
        raise UsageError("--transform and --transform-handler cannot be combined; choose one")
    if json_out:
        require_stdout()
    settings = settings_for(ctx, **isolation_flag(isolation_level))
    if not dry_run and not yes and not sys.stdin.isatty():
        raise UsageError(
            "refusing to replay without confirmation: stdin is not a terminal; add --yes "
            "(or --dry-run to see what would be replayed)"
        )
    dlq = dlq_topic(settings, topic, group) if group and not dlq_flag else topic
    check_topic(dlq, "DLQ topic")
    repair = build_transform(transform, transform_handler, timeout_s)
    options = ReplayOptions(
        dlq=dlq,
        to=to.strip(),
        group=group,
        replay_group=replay_group,
        filters=filters,
        partitions=tuple(partition or ()),
        limit=limit,
        max_replays=max_replays,
        rate=rate,
        from_beginning=from_beginning,
        transform=repair,
        show=5 if show is None else show,
        keep_foreign_headers=keep_foreign_headers,
    )
    view = _TerminalView(show_progress=not quiet and not json_out)
    outcome = _blaming_flags(
        lambda: run_replay(settings, options, view, dry_run=dry_run, confirm=not yes)
    )
    summary = outcome.summary
    if outcome.ending == "dry-run":
        if json_out:
            render.print_json(summary.as_dict())
        elif not quiet:
            plan_table(summary)
            previews_table(summary)
            summary_table(summary)
        if summary.interrupted:
            render.error(f"{summary.stopped_by}: the dry run stopped before the end")
            raise typer.Exit(EXIT_INTERRUPTED)
        return
    if outcome.ending == "interrupted":
        render.error("interrupted before anything was replayed")
        raise typer.Exit(EXIT_INTERRUPTED)
    if outcome.ending == "declined":
        render.info("nothing was replayed")
        raise typer.Exit(0)
    _report(summary, json_out, quiet)
    if summary.interrupted:
        render.error(
            f"{summary.stopped_by}: replay stopped before the end; run it again to resume "
            "(what was replayed is remembered)"
        )
        raise typer.Exit(EXIT_INTERRUPTED)
    if summary.stopped_by == "lease lost":
        render.error("replay stopped: it lost its lease (another may run); run it again to resume")
    if summary.failed or summary.unrepaired or summary.stopped_by == "lease lost":
        raise typer.Exit(EXIT_FAILED)


# The flag of each ReplayOptions field a core error can name.
FLAGS = {"to": "--to", "partitions": "--partition"}


def _blaming_flags(call: Callable[[], ReplayOutcome]) -> ReplayOutcome:
    """Run the operation; its errors about option fields name the flags instead."""
    from kafkactl.replay import DlqNotFound

    try:
        with naming_flags(FLAGS):
            return call()
    except DlqNotFound as exc:
        raise KafkactlError(
            f"{exc}; check the topic name and --group (with --group G, TOPIC is the main "
            "topic; without it, TOPIC is the DLQ)"
        ) from None


class _TerminalView:
    """The operation's view: a progress bar on stderr, the confirmation and its prompt."""

    def __init__(self, show_progress: bool) -> None:
        self.show_progress = show_progress

    def progress(self, description: str) -> ReplayProgress:
        from kafkactl.render.replay import ReplayProgress

        return ReplayProgress(self.show_progress, description)

    def confirm(self, plan: ReplaySummary) -> bool:
        from kafkactl.render.replay import confirm_prompt, confirmation

        confirmation(plan)
        return _confirm(confirm_prompt(plan))


def _report(summary: ReplaySummary, json_out: bool, quiet: bool) -> None:
    from kafkactl import render
    from kafkactl.render.replay import summary_table

    if json_out:
        render.print_json(summary.as_dict())
    elif not quiet:
        summary_table(summary)


def _confirm(question: str) -> bool:
    """Ask on the terminal; Ctrl-C or end of input there means no (exit 130)."""
    from kafkactl.cli.confirm import confirm

    return confirm(question, "nothing was replayed")


def _filters(
    since: str | None,
    until: str | None,
    keys: list[str] | None,
    error_contains: list[str] | None,
    error_class: list[str] | None,
) -> Filters:
    """The record filters from the flags; a bad time is a usage error."""
    from kafkactl.cli.options import time_window
    from kafkactl.replay import Filters

    since_ms, until_ms = time_window(since, until)
    if any(not text for text in error_contains or ()):
        raise UsageError("--error-contains needs some text")
    return Filters(
        since_ms=since_ms,
        until_ms=until_ms,
        keys=tuple(k.encode() for k in keys or ()),
        error_contains=tuple(error_contains or ()),
        error_classes=tuple(error_class or ()),
    )


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("replay-dlq")(replay_dlq)
