"""`kafkactl cluster describe`: the cluster's id, controller, brokers, versions, configs."""

# No `from __future__ import annotations`: Typer reads these commands' signatures at every
# start, and string annotations would be compiled each time (start-up time, as cli/completion.py).

from typing import Annotated

import typer

from kafkactl.cli.context import settings_for
from kafkactl.cli.options import JsonOpt, QuietOpt

cluster_app = typer.Typer(
    help="Describe the cluster: brokers, controller, configs.", no_args_is_help=True
)


@cluster_app.command("describe")
def describe_cmd(
    ctx: typer.Context,
    configs: Annotated[
        bool,
        typer.Option("--configs", help="Each broker's configs; * marks those set on it."),
    ] = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Describe the cluster: id, controller, brokers (id, host, port, rack) and the Kafka
    version each answers as (read from its ApiVersions: "≥" when newer than kafkactl's client
    knows), with the cluster's finalized feature levels (metadata.version on KRaft).

    --configs adds every broker's configs, those set on the broker (server.properties or a
    dynamic change) marked *; sensitive values are masked.

    Examples:

      kafkactl cluster describe

      kafkactl cluster describe --configs --json | jq '.brokers[0].configs[] | select(.non_default)'
    """
    from kafkactl import render
    from kafkactl.admin.cluster import describe_cluster
    from kafkactl.cli.streams import require_stdout
    from kafkactl.kafka import with_admin
    from kafkactl.render.admin_ops import cluster_info

    if json_out:
        require_stdout()
    settings = settings_for(ctx)
    info = with_admin(settings, lambda admin: describe_cluster(admin, configs))
    render.emit(info.as_dict(), json_out, quiet, lambda: cluster_info(info))


def register(app: typer.Typer) -> None:
    """Add the `cluster` command group to the app."""
    app.add_typer(cluster_app, name="cluster")
