"""The Typer app: global options, one module per command, errors turned into exit codes."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Annotated, Any

import typer

from kafkactl import __version__
from kafkactl.errors import EXIT_FAILED, KafkactlError

app = typer.Typer(
    name="kafkactl",
    help=(
        "Kafka from the shell: pipe JSON lines into topics, consume with retry tiers and a "
        "dead-letter topic, replay dead letters, check cluster health.\n\n"
        "Global options (--brokers, --engine, --config, --context, --connect-timeout, "
        "--log-level, --log-format) may be given before or after the command."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

# Options that belong to every command; main() moves them in front of the command name so
# `kafkactl health -b host:9092` works like `kafkactl -b host:9092 health`.
GLOBAL_VALUE_OPTIONS = {
    "-b",
    "--brokers",
    "--engine",
    "--config",
    "--context",
    "--connect-timeout",
    "--log-level",
    "--log-format",
}


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
    settings = load_settings(merged, config_path=opts.config, context=opts.context)
    register_secrets(settings.secrets())
    setup_logging(settings.log_level, settings.log_format)
    engine_name(settings)  # an engine that is not installed is a usage error, before connecting
    return settings


def _register_commands() -> None:
    from kafkactl.cli import config_cmd, consume, health, produce, replay, topics

    for module in (produce, consume, config_cmd, topics, health, replay):
        module.register(app)


def hoist_global_options(argv: list[str]) -> list[str]:
    """Move global options given after the command name in front of it."""
    hoisted: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(argv):
        token = argv[i]
        if token == "--":
            rest.extend(argv[i:])
            break
        name = token.split("=", 1)[0]
        if token.startswith("-b") and len(token) > 2 and not token.startswith("--"):
            hoisted.append(token)  # -bHOST:PORT
            i += 1
            continue
        if name in GLOBAL_VALUE_OPTIONS:
            if "=" in token or i + 1 >= len(argv):
                hoisted.append(token)
                i += 1
            else:
                hoisted.extend(argv[i : i + 2])
                i += 2
            continue
        rest.append(token)
        i += 1
    return hoisted + rest


def main() -> None:
    """Console entry point: run the app; expected failures become one line and an exit code."""
    from kafkactl import render
    from kafkactl.cli.streams import guard_closed_streams

    guard_closed_streams()
    _register_commands()
    debug = os.environ.get("KAFKA_LOG_LEVEL", "").upper() in ("DEBUG", "TRACE")
    try:
        app(args=hoist_global_options(sys.argv[1:]), prog_name="kafkactl")
    except KafkactlError as exc:
        render.error(str(exc))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        render.error("interrupted")
        sys.exit(130)
    except Exception as exc:
        if debug:
            raise
        render.error(
            f"unexpected {type(exc).__name__}: {exc} "
            "(rerun with KAFKA_LOG_LEVEL=DEBUG for the traceback, and please report it)"
        )
        sys.exit(EXIT_FAILED)
