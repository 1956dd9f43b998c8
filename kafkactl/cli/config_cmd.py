"""`kafkactl config`: the effective configuration and where each value came from."""

# No `from __future__ import annotations`: Typer reads these commands' signatures at every
# start, and string annotations would be compiled each time (start-up time, as cli/completion.py).

import typer

from kafkactl.cli.context import settings_for
from kafkactl.cli.options import JsonOpt


def config(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Show the effective configuration with the source of each value (secrets masked).

    Examples:

      kafkactl config
      KAFKA_PRODUCER_ACKS=1 kafkactl --context prod config --json
    """
    from kafkactl import render
    from kafkactl.kafka import engine_name, versions
    from kafkactl.tracing import config_from_env, otel_installed

    if json_out:
        from kafkactl.cli.streams import require_stdout

        require_stdout()
    settings = settings_for(ctx)
    libraries = versions()
    engine = {"name": engine_name(settings), "libraries": libraries}
    tracing = {**config_from_env().as_dict(), "opentelemetry": otel_installed()}
    schemas = _schemas_state(settings.schema_registry_url)
    if json_out:
        render.print_json(
            {
                "config_file": settings.config_file,
                "context": settings.context,
                "engine": engine,
                "tracing": tracing,
                "schemas": schemas,
                "settings": settings.as_dict(),
            }
        )
    else:
        render.settings_table(settings.rows(), settings.context, settings.config_file)
        found = ", ".join(f"{k} {v or 'not installed'}" for k, v in libraries.items())
        render.info(f"engine: {engine['name']} ({found})")
        render.info(_tracing_line(tracing))
        render.info(_schemas_line(schemas))


def _schemas_state(url: str | None) -> dict[str, object]:
    """The schema registry setting and whether the schemas extra can serve it."""
    from kafkactl.kafka.schemas import INSTALL_HINT, schemas_installed

    missing = schemas_installed()
    return {
        "registry_url": url,
        "installed": missing is None,
        **({"missing": f"{missing}: {INSTALL_HINT}"} if missing else {}),
    }


def _schemas_line(state: dict[str, object]) -> str:
    """One line: where schemas come from, and whether they can be used."""
    extra = "installed" if state["installed"] else f"not usable ({state.get('missing')})"
    if state["registry_url"] is None:
        return (
            "schemas: no registry (KAFKA_SCHEMA_REGISTRY_URL turns on produce --value-schema "
            f"and decoding in consume); schemas extra {extra}"
        )
    return f"schemas: registry {state['registry_url']}; schemas extra {extra}"


def _tracing_line(tracing: dict[str, object]) -> str:
    """One line: the tracing state the OTEL_* variables ask for."""
    installed = tracing["opentelemetry"] or "not installed"
    if not tracing["enabled"]:
        return (
            f"tracing: off (OTEL_TRACES_EXPORTER=otlp|console turns spans on; "
            f"opentelemetry {installed}); traceparent headers are always kept"
        )
    endpoint = f", endpoint {tracing['endpoint']}" if "otlp" in str(tracing["exporter"]) else ""
    return (
        f"tracing: on, exporter {tracing['exporter']}{endpoint}, service "
        f"{tracing['service_name']} (opentelemetry {installed})"
    )


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("config")(config)
