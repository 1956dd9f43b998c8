"""What the global flags said, and the settings a command runs with (global and command flags,
environment, config file), loaded and validated with logging set up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from kafkactl.config import Settings

# ctx.meta key set by -q/--quiet (cli/options.py), read when logging is set up.
QUIET_KEY = "kafkactl.quiet"

# The flag each global option sets a setting with, for messages that name the flag.
GLOBAL_FLAGS = {
    "brokers": "--brokers",
    "engine": "--engine",
    "config": "--config",
    "context": "--context",
    "connect_timeout": "--connect-timeout",
    "log_level": "--log-level",
    "log_format": "--log-format",
    "client_options": "-X",
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
    client_options: list[str] | None = None


def settings_for(ctx: typer.Context, **flags: Any) -> Settings:
    """Load and validate settings with the global and command flags, and set up logging."""
    return settings_with_flags(ctx, flags)


def settings_with_flags(
    ctx: typer.Context, flags: dict[str, Any], flag_names: dict[str, str] | None = None
) -> Settings:
    """Like settings_for; `flag_names` maps a command flag's setting to the flag's name, so a
    bad value is reported under the flag (`--timeout (from flag): ...`)."""
    from kafkactl.config import load_settings
    from kafkactl.config.files import check_open_file_limit
    from kafkactl.kafka import engine_name
    from kafkactl.kafka.client_options import check_client_options
    from kafkactl.log import register_secrets, setup_logging

    check_open_file_limit()
    opts: GlobalOptions = ctx.find_root().obj or GlobalOptions()
    merged = {
        "brokers": opts.brokers,
        "engine": opts.engine,
        "connect_timeout": opts.connect_timeout,
        "log_level": opts.log_level,
        "log_format": opts.log_format,
        "client_options": opts.client_options or None,
        **flags,
    }
    names = {k: v for k, v in GLOBAL_FLAGS.items() if k not in ("config", "context")}
    names.update(flag_names or {})
    settings = load_settings(
        merged, config_path=opts.config, context=opts.context, flag_names=names
    )
    register_secrets(settings.secrets())
    level = settings.log_level
    if ctx.meta.get(QUIET_KEY) and settings.sources.get("log_level") == "default":
        level = "WARNING"  # -q: warnings and errors only, unless a log level was asked for
    setup_logging(level, settings.log_format, _log_line)
    # An engine that is not installed, or a -X key it does not know: usage errors, before
    # connecting.
    check_client_options(settings, engine_name(settings))
    return settings


def _log_line(text: str) -> None:
    """A pretty log line above any live view (render is imported at the first line)."""
    from kafkactl.render import log_line

    log_line(text)
