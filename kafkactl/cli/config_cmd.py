"""`kafkactl config`: the effective configuration and where each value came from."""

from __future__ import annotations

import typer

from kafkactl.cli.app import settings_for
from kafkactl.cli.options import JsonOpt


def config(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Show the effective configuration with the source of each value (secrets masked).

    Examples:

      kafkactl config
      KAFKA_PRODUCER_ACKS=1 kafkactl --context prod config --json
    """
    from kafkactl import render

    settings = settings_for(ctx)
    if json_out:
        render.print_json(
            {
                "config_file": settings.config_file,
                "context": settings.context,
                "settings": settings.as_dict(),
            }
        )
    else:
        render.settings_table(settings.rows(), settings.context, settings.config_file)


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("config")(config)
