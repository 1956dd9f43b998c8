"""The Typer app: its global options, the commands registered, and main(): expected failures
turned into one line and an exit code."""

from __future__ import annotations

import errno
import importlib
import os
import sys
from functools import cache
from typing import Annotated, Any

import typer
import typer.main
from typer import _click as click  # typer 0.29 vendors the core of Click
from typer.core import TyperGroup
from typer.exceptions import Abort

from kafkactl import __version__
from kafkactl.cli.context import GlobalOptions
from kafkactl.cli.global_options import add_global_options, global_params
from kafkactl.cli.lazy import LazyCommands, LazyGroup
from kafkactl.errors import EXIT_FAILED, EXIT_USAGE, KafkactlError

app = typer.Typer(
    name="kafkactl",
    help=(
        "Kafka from the shell: pipe JSON lines into topics, consume with retry tiers and a "
        "dead-letter topic, replay dead letters, check cluster health.\n\n"
        "Global options (--brokers, --engine, --config, --context, --connect-timeout, "
        "--log-level, --log-format, -X) may be given before or after the command (a command's "
        "own option of the same name wins: create-topics --config k=v)."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
    cls=LazyGroup,
)


def _version(ctx: typer.Context, value: bool) -> None:
    if value and not ctx.resilient_parsing:  # not while the shell asks for completions
        from kafkactl.kafka import versions

        found = versions()
        libraries = ", ".join(
            f"{name} {version or 'not installed'}" for name, version in found.items()
        )
        engine = "librdkafka" if found.get("librdkafka") else "kafka-python"
        typer.echo(f"kafkactl {__version__} (engine auto: {engine}; {libraries})")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    brokers: Annotated[
        str | None, typer.Option("--brokers", "-b", help="Bootstrap servers host:port[,...].")
    ] = None,
    engine: Annotated[
        str | None,
        typer.Option(
            help="Kafka client: auto (librdkafka when installed), kafka-python, librdkafka."
        ),
    ] = None,
    config: Annotated[
        str | None, typer.Option(help="Config file (TOML); default ./kafkactl.toml.")
    ] = None,
    context: Annotated[str | None, typer.Option(help="Named context of the config file.")] = None,
    connect_timeout: Annotated[
        str | None, typer.Option(help="Give up connecting after this long (exit 3), e.g. 30s.")
    ] = None,
    log_level: Annotated[
        str | None, typer.Option(help="TRACE, DEBUG, INFO, WARNING, ERROR.")
    ] = None,
    log_format: Annotated[str | None, typer.Option(help="auto, json or pretty.")] = None,
    client_options: Annotated[
        list[str] | None,
        typer.Option(
            "-X",
            "--client-option",
            metavar="KEY=VALUE",
            help="A client setting key=value for the engine (repeatable), e.g. "
            "-X socket.keepalive.enable=true.",
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Kafka from the shell."""
    ctx.obj = GlobalOptions(
        brokers, engine, config, context, connect_timeout, log_level, log_format, client_options
    )
    if ctx.invoked_subcommand != "config":
        from kafkactl.tracing import tracer

        tracer()  # OTEL_TRACES_EXPORTER without OpenTelemetry installed: exit 2 before any work


# The commands in the order `kafkactl --help` lists them: the modules whose register() adds
# each (cli/<module>.py) and its summary line there, the first paragraph of its help
# (tests/unit/test_startup.py holds the two equal). A command's module is imported, and its
# options built, only when it runs or its help or completions are asked for (cli/lazy.py).
COMMANDS: dict[str, tuple[tuple[str, ...], str]] = {
    "produce": (("produce",), "Publish records from stdin (or --input FILE), one per line."),
    "consume": (
        ("consume",),
        "Read a topic like kcat, or run a group's pipeline with retry tiers and a DLQ.",
    ),
    "config": (
        ("config_cmd",),
        "Show the effective configuration with the source of each value (secrets masked).",
    ),
    "create-topics": (
        ("create_topics",),
        "Create topics and, with --group, the group's retry tiers (unless --no-retry) and DLQ.",
    ),
    "health": (
        ("health",),
        "Check the cluster, topics (with retry tiers and DLQ) and a group's lag; give a verdict.",
    ),
    "replay-dlq": (("replay",), "Send dead letters back for processing once the cause is fixed."),
    "topics": (
        ("topics_view", "topics_admin"),
        "List topics, describe one; delete topics, change configs, add partitions, delete records.",
    ),
    "groups": (
        ("groups", "groups_admin"),
        "List consumer groups, describe one with its lag, reset or delete its offsets, delete "
        "groups.",
    ),
    "dlq": (
        ("dlq",),
        "Look into dead-letter topics (what broke, since when, how much); purge replayed ones.",
    ),
    "cluster": (("cluster",), "Describe the cluster: brokers, controller, configs."),
}


@cache
def _registered(name: str) -> typer.Typer:
    """A Typer app holding the one command `name`, registered by its modules (once a process:
    the `topics` and `groups` modules add to a Typer app of their own)."""
    holder = typer.Typer()
    for module in COMMANDS[name][0]:
        importlib.import_module(f"kafkactl.cli.{module}").register(holder)
    return holder


def build_command(name: str) -> click.Command:
    """The Click command (or command group) `name`, built as Typer builds the whole app."""
    holder = _registered(name)
    if holder.registered_groups:
        (group,) = holder.registered_groups
        return typer.main.get_group_from_info(
            group,
            pretty_exceptions_short=app.pretty_exceptions_short,
            rich_markup_mode=app.rich_markup_mode,
            suggest_commands=app.suggest_commands,
        )
    (command,) = holder.registered_commands
    return typer.main.get_command_from_info(
        command,
        pretty_exceptions_short=app.pretty_exceptions_short,
        rich_markup_mode=app.rich_markup_mode,
    )


class _CarriedOSError(Exception):
    """An OSError on its way out of Click, which would swallow a broken pipe with no word."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


def cli_command() -> TyperGroup:
    """The Click command of the app: the global options, and every command, built when first
    asked for with the global options on it too."""
    command = typer.main.get_command(app)
    assert isinstance(command, LazyGroup)
    globals_ = global_params(command)
    command.commands = LazyCommands(
        {name: summary for name, (_, summary) in COMMANDS.items()},
        lambda name: add_global_options(build_command(name), globals_),
    )
    invoke = command.invoke

    def invoke_carrying_oserrors(ctx: click.Context) -> Any:
        try:
            return invoke(ctx)
        except OSError as exc:
            raise _CarriedOSError(exc) from exc

    command.invoke = invoke_carrying_oserrors  # type: ignore[method-assign]
    return command


def main() -> None:
    """Console entry point: run the app; expected failures become one line and an exit code."""
    from kafkactl.cli.argv import non_utf8_argument
    from kafkactl.cli.completion import COMPLETE_VAR
    from kafkactl.cli.rich_help import help_asked
    from kafkactl.cli.streams import (
        WatchedStream,
        guard_closed_streams,
        silence_stdout,
        stdout_failed,
    )
    from kafkactl.signals import interrupt_on_signals, interrupted_by
    from kafkactl.watchdog import start_watchdog

    guard_closed_streams()
    sys.stdout = WatchedStream(sys.stdout)
    command = cli_command()
    debug = os.environ.get("KAFKA_LOG_LEVEL", "").upper() in ("DEBUG", "TRACE")
    argv = sys.argv[1:]
    problem = non_utf8_argument(command, argv)
    if problem:
        _error(f"{problem}; command-line arguments must be UTF-8 text")
        sys.exit(EXIT_USAGE)
    if not help_asked(argv) or os.environ.get(COMPLETE_VAR):
        # Printing help connects to nothing and waits on nothing that could be stuck.
        from kafkactl.kafka.connect import count_from_process_start

        count_from_process_start()
        start_watchdog()
    interrupt_on_signals()
    try:
        code = _run(command, argv)
        if code == 130 and interrupted_by():
            _error(f"interrupted by {interrupted_by()} before the command finished")
        sys.stdout.flush()
    except KafkactlError as exc:
        _error(str(exc))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        _error(f"interrupted by {interrupted_by() or 'SIGINT'}")
        sys.exit(130)
    except OSError as exc:
        if not stdout_failed(exc):
            _unexpected(exc, debug)
        silence_stdout()
        if exc.errno == errno.EPIPE:
            _error("stdout closed (broken pipe) before all output was written")
        else:
            _error(f"cannot write to stdout: {exc.strerror or exc}")
        sys.exit(EXIT_FAILED)
    except Exception as exc:
        _unexpected(exc, debug)
    sys.exit(code)


def _run(command: TyperGroup, argv: list[str]) -> int:
    """Parse and run; Click's usage errors are printed here, the rest propagates.

    Typer's Rich formatting is loaded only for help and usage errors (a command that runs has
    no use for it), and then without what kafkactl never uses (cli/rich_help.py)."""
    from kafkactl.cli.rich_help import formats_help, typer_rich_utils

    if formats_help(argv, os.environ):
        typer_rich_utils()
    try:
        result = command.main(args=argv, prog_name="kafkactl", standalone_mode=False)
    except _CarriedOSError as exc:
        raise exc.error from None
    except click.ClickException as exc:
        typer_rich_utils().rich_format_error(exc)
        return exc.exit_code
    except Abort:
        sys.stderr.write("Aborted.\n")
        return EXIT_FAILED
    return result if isinstance(result, int) else 0


def _error(message: str) -> None:
    """render.error, imported when there is an error to print: kafkactl.render brings Rich
    tables, orjson and loguru, which parsing flags and --help do not need (start-up time)."""
    try:
        from kafkactl import render

        render.error(message)
    except Exception:
        # A signal that stopped a lazy import half-way leaves that module broken (asyncio
        # under loguru, for one): the line is written without them.
        sys.stderr.write(f"error: {message}\n")
        sys.stderr.flush()


def _unexpected(exc: BaseException, debug: bool) -> None:
    if debug:
        raise exc
    _error(
        f"unexpected {type(exc).__name__}: {exc} "
        "(rerun with KAFKA_LOG_LEVEL=DEBUG for the traceback, and please report it)"
    )
    sys.exit(EXIT_FAILED)
