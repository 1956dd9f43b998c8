"""The Typer app: global options, one module per command, errors turned into exit codes."""

from __future__ import annotations

import copy
import errno
import os
import sys
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

import typer
import typer.main
from typer import _click as click  # typer 0.29 vendors the core of Click
from typer.core import TyperArgument, TyperGroup, TyperOption
from typer.exceptions import Abort

from kafkactl import __version__
from kafkactl.errors import EXIT_FAILED, EXIT_USAGE, KafkactlError

app = typer.Typer(
    name="kafkactl",
    help=(
        "Kafka from the shell: pipe JSON lines into topics, consume with retry tiers and a "
        "dead-letter topic, replay dead letters, check cluster health.\n\n"
        "Global options (--brokers, --engine, --config, --context, --connect-timeout, "
        "--log-level, --log-format) may be given before or after the command (a command's "
        "own option of the same name wins: create-topics --config k=v)."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

# Options that belong to every command. They are declared on the app's callback and, by
# `cli_command()`, on every command too, so Click's own parser decides what is an option and
# what is a value: `kafkactl health -b host:9092` works like `kafkactl -b host:9092 health`, and
# `replay-dlq T --error-contains '-b x'` keeps `-b x` as the value it is. The flag each global
# option sets a setting with, for messages that name the flag.
GLOBAL_FLAGS = {
    "brokers": "--brokers",
    "engine": "--engine",
    "config": "--config",
    "context": "--context",
    "connect_timeout": "--connect-timeout",
    "log_level": "--log-level",
    "log_format": "--log-format",
}
GLOBAL_PANEL = "Global options (before or after the command)"


@dataclass
class GlobalOptions:
    """What the global flags said; None means "not given on the command line"."""

    brokers: str | None = None
    engine: str | None = None
    config: str | None = None
    context: str | None = None
    connect_timeout: str | None = None
    log_level: str | None = None
    log_format: str | None = None


def _version(value: bool) -> None:
    if value:
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
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Kafka from the shell."""
    ctx.obj = GlobalOptions(
        brokers, engine, config, context, connect_timeout, log_level, log_format
    )


def settings_for(ctx: typer.Context, **flags: Any) -> Any:
    """Load and validate settings with the global and command flags, and set up logging."""
    return settings_with_flags(ctx, flags)


def settings_with_flags(
    ctx: typer.Context, flags: dict[str, Any], flag_names: dict[str, str] | None = None
) -> Any:
    """Like settings_for; `flag_names` maps a command flag's setting to the flag's name, so a
    bad value is reported under the flag (`--timeout (from flag): ...`)."""
    from kafkactl.config import load_settings
    from kafkactl.kafka import engine_name
    from kafkactl.log import register_secrets, setup_logging

    opts: GlobalOptions = ctx.find_root().obj or GlobalOptions()
    merged = {
        "brokers": opts.brokers,
        "engine": opts.engine,
        "connect_timeout": opts.connect_timeout,
        "log_level": opts.log_level,
        "log_format": opts.log_format,
        **flags,
    }
    names = {k: v for k, v in GLOBAL_FLAGS.items() if k not in ("config", "context")}
    names.update(flag_names or {})
    settings = load_settings(
        merged, config_path=opts.config, context=opts.context, flag_names=names
    )
    register_secrets(settings.secrets())
    level = settings.log_level
    from kafkactl.cli.options import QUIET_KEY

    if ctx.meta.get(QUIET_KEY) and settings.sources.get("log_level") == "default":
        level = "WARNING"  # -q: warnings and errors only, unless a log level was asked for
    setup_logging(level, settings.log_format)
    engine_name(settings)  # an engine that is not installed is a usage error, before connecting
    return settings


def _register_commands() -> None:
    from kafkactl.cli import (
        config_cmd,
        consume,
        groups,
        health,
        produce,
        replay,
        topics,
        topics_view,
    )

    if app.registered_commands:
        return
    for module in (produce, consume, topics_view, groups, config_cmd, topics, health, replay):
        module.register(app)


def _store_global(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """Callback of a global option given after the command: record it like the root does."""
    if value is None or param.name is None:
        return
    root = ctx.find_root()
    if root.obj is None:
        root.obj = GlobalOptions()
    setattr(root.obj, param.name, value)


def add_global_options(group: TyperGroup) -> TyperGroup:
    """Declare the app's global options on every command too (the command's own flags win).

    Copies of the root's options record their value on the root's GlobalOptions, so both
    spellings set the same thing and --help of a command lists them in their own panel.
    """
    globals_ = [p for p in group.params if p.name in GLOBAL_FLAGS]
    for command in _leaf_commands(group):
        taken = {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)}
        for param in globals_:
            if taken & set(param.opts):
                continue  # e.g. create-topics --config k=v: the command's own option
            option = copy.copy(param)
            option.expose_value = False
            option.callback = _store_global
            option.rich_help_panel = GLOBAL_PANEL  # type: ignore[attr-defined]
            command.params.append(option)
    return group


def _leaf_commands(group: TyperGroup) -> list[click.Command]:
    """Every command that runs, inside command groups too (`topics list`, `groups describe`)."""
    out: list[click.Command] = []
    for command in group.commands.values():
        if isinstance(command, TyperGroup):
            out.extend(_leaf_commands(command))
        else:
            out.append(command)
    return out


class _CarriedOSError(Exception):
    """An OSError on its way out of Click, which would swallow a broken pipe with no word."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


def cli_command() -> TyperGroup:
    """The Click command of the app with every command registered and the global options."""
    _register_commands()
    command = typer.main.get_command(app)
    assert isinstance(command, TyperGroup)
    invoke = command.invoke

    def invoke_carrying_oserrors(ctx: click.Context) -> Any:
        try:
            return invoke(ctx)
        except OSError as exc:
            raise _CarriedOSError(exc) from exc

    command.invoke = invoke_carrying_oserrors  # type: ignore[method-assign]
    return add_global_options(command)


def _printable(text: str) -> str:
    return text.encode("utf-8", "surrogateescape").decode("ascii", "backslashreplace")


def _not_utf8(text: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def _takes_value(param: click.Parameter) -> bool:
    return isinstance(param, TyperOption) and not param.is_flag and not param.count


def non_utf8_argument(group: TyperGroup, argv: list[str]) -> str | None:
    """A line naming the first command-line word that is not valid UTF-8, or None.

    Python hands such bytes over as surrogate escapes; the line names the flag whose value it
    is (or the argument), with the bytes shown as \\xNN.
    """
    command: click.Command = group
    positional = 0
    i = 0
    only_args = False
    while i < len(argv):
        token = argv[i]
        options = {o: p for p in command.params for o in (*p.opts, *p.secondary_opts)}
        if not only_args and token == "--":
            only_args = True
        elif not only_args and token.startswith("-") and len(token) > 1:
            name, eq, value = token.partition("=")
            param = options.get(name) if token.startswith("--") else options.get(token[:2])
            if token.startswith("--") and eq:
                if _not_utf8(name):
                    return f"option '{_printable(name)}' is not valid UTF-8"
                if _not_utf8(value):
                    return f"{name}: value '{_printable(value)}' is not valid UTF-8"
            elif param is not None and _takes_value(param):
                attached = token[2:] if not token.startswith("--") else ""
                if attached:
                    if _not_utf8(attached):
                        return f"{token[:2]}: value '{_printable(attached)}' is not valid UTF-8"
                elif i + 1 < len(argv):
                    i += 1
                    if _not_utf8(argv[i]):
                        return f"{token}: value '{_printable(argv[i])}' is not valid UTF-8"
            elif _not_utf8(token):
                return f"option '{_printable(token)}' is not valid UTF-8"
        elif isinstance(command, TyperGroup) and not only_args:
            sub = command.commands.get(token)
            if sub is None:
                if _not_utf8(token):
                    return f"command '{_printable(token)}' is not valid UTF-8"
                return None  # Click reports the unknown command
            command = sub
        else:
            arguments = [p for p in command.params if isinstance(p, TyperArgument)]
            positional += 1
            if _not_utf8(token):
                label = f"argument {positional}"
                taken = 0
                for arg in arguments:
                    taken += arg.nargs if arg.nargs > 0 else 10**9
                    if positional <= taken:
                        label = f"{(arg.name or '').upper()} (argument {positional})"
                        break
                return f"{label} '{_printable(token)}' is not valid UTF-8"
        i += 1
    return None


class _WatchedStream:
    """sys.stdout (or its .buffer) that records an OSError raised while writing to it, so
    main() can tell a failed stdout from any other OSError. Everything else is delegated."""

    failures: ClassVar[list[OSError]] = []

    def __init__(self, target: Any) -> None:
        self._target = target
        self._buffer: _WatchedStream | None = None

    def write(self, data: Any) -> Any:
        """Write, remembering a failure."""
        try:
            return self._target.write(data)
        except OSError as exc:
            self.failures.append(exc)
            raise

    def writelines(self, lines: Any) -> None:
        """Write each line, remembering a failure."""
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        """Flush, remembering a failure."""
        try:
            self._target.flush()
        except OSError as exc:
            self.failures.append(exc)
            raise

    @property
    def buffer(self) -> Any:
        """The binary layer, watched too."""
        if self._buffer is None:
            self._buffer = _WatchedStream(self._target.buffer)
        return self._buffer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)


def _stdout_failed(exc: OSError) -> bool:
    """True when the OSError came from writing to stdout."""
    return any(exc is failure for failure in _WatchedStream.failures) or (
        exc.errno == errno.EPIPE and bool(_WatchedStream.failures)
    )


def _silence_stdout() -> None:
    """Point fd 1 at /dev/null so the interpreter's last flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
    except OSError:
        pass


def main() -> None:
    """Console entry point: run the app; expected failures become one line and an exit code."""
    from kafkactl import render
    from kafkactl.cli.streams import guard_closed_streams
    from kafkactl.kafka import count_from_process_start
    from kafkactl.signals import interrupt_on_signals, interrupted_by

    count_from_process_start()
    guard_closed_streams()
    sys.stdout = _WatchedStream(sys.stdout)
    command = cli_command()
    debug = os.environ.get("KAFKA_LOG_LEVEL", "").upper() in ("DEBUG", "TRACE")
    argv = sys.argv[1:]
    problem = non_utf8_argument(command, argv)
    if problem:
        render.error(f"{problem}; command-line arguments must be UTF-8 text")
        sys.exit(EXIT_USAGE)
    interrupt_on_signals()
    try:
        code = _run(command, argv)
        if code == 130 and interrupted_by():
            render.error(f"interrupted by {interrupted_by()} before the command finished")
        sys.stdout.flush()
    except KafkactlError as exc:
        render.error(str(exc))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        render.error(f"interrupted by {interrupted_by() or 'SIGINT'}")
        sys.exit(130)
    except OSError as exc:
        if not _stdout_failed(exc):
            _unexpected(exc, debug)
        _silence_stdout()
        if exc.errno == errno.EPIPE:
            render.error("stdout closed (broken pipe) before all output was written")
        else:
            render.error(f"cannot write to stdout: {exc.strerror or exc}")
        sys.exit(EXIT_FAILED)
    except Exception as exc:
        _unexpected(exc, debug)
    sys.exit(code)


def _run(command: TyperGroup, argv: list[str]) -> int:
    """Parse and run; Click's usage errors are printed here, the rest propagates."""
    from typer import rich_utils

    try:
        result = command.main(args=argv, prog_name="kafkactl", standalone_mode=False)
    except _CarriedOSError as exc:
        raise exc.error from None
    except click.ClickException as exc:
        rich_utils.rich_format_error(exc)
        return exc.exit_code
    except Abort:
        sys.stderr.write("Aborted.\n")
        return EXIT_FAILED
    return result if isinstance(result, int) else 0


def _unexpected(exc: BaseException, debug: bool) -> None:
    from kafkactl import render

    if debug:
        raise exc
    render.error(
        f"unexpected {type(exc).__name__}: {exc} "
        "(rerun with KAFKA_LOG_LEVEL=DEBUG for the traceback, and please report it)"
    )
    sys.exit(EXIT_FAILED)
