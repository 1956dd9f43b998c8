"""Shell completion of TOPIC and GROUP values: Typer `autocompletion` callbacks that ask the
cluster the command line points at (kafkactl.admin.completion does the asking).

Click calls these only while the shell asks for completions (`_KAFKACTL_COMPLETE` set), with
the command line parsed leniently: the global options typed so far (`-b`, `--config`,
`--context`, `--connect-timeout`, before or after the command) choose the cluster, then the
environment and the config file, as for the command itself.
"""

# No `from __future__ import annotations` here: Typer reads the signatures of the callbacks
# below once for every parameter that completes with them, and string annotations would be
# compiled and evaluated each time (start-up time of every command).
import os
import sys
from typing import TYPE_CHECKING

import typer

from kafkactl.cli.context import GlobalOptions

if TYPE_CHECKING:
    from kafkactl.admin.completion import NameKind

COMPLETE_VAR = "_KAFKACTL_COMPLETE"


def complete_topics(ctx: typer.Context, incomplete: str) -> list[str]:
    """Topic names of the cluster starting with `incomplete` (internal ones after a `_`)."""
    return _cluster_names(ctx, "topics", incomplete)


def complete_groups(ctx: typer.Context, incomplete: str) -> list[str]:
    """Consumer group names of the cluster starting with `incomplete`."""
    return _cluster_names(ctx, "groups", incomplete)


def _cluster_names(ctx: typer.Context, kind: "NameKind", incomplete: str) -> list[str]:
    from kafkactl.admin.completion import cluster_names, completion_settings, completion_timeout

    if os.environ.get(COMPLETE_VAR):
        _silence_stderr()
    given = _global_options(ctx)
    flags = {"brokers": given.brokers, "connect_timeout": given.connect_timeout}
    budget = completion_timeout(os.environ)
    return cluster_names(
        kind,
        incomplete,
        lambda: completion_settings(flags, given.config, given.context, 0.75 * budget),
        timeout=budget,
    )


def _global_options(ctx: typer.Context) -> GlobalOptions:
    """The global options on the command line so far: the root's own params (before the
    command), overridden by the copies given after it (recorded on the root's obj)."""
    root = ctx.find_root()
    given = GlobalOptions(
        **{k: v for k, v in root.params.items() if k in GlobalOptions.__dataclass_fields__}
    )
    after = root.obj if isinstance(root.obj, GlobalOptions) else GlobalOptions()
    for name in GlobalOptions.__dataclass_fields__:
        value = getattr(after, name)
        if value is not None:
            setattr(given, name, value)
    return given


def _silence_stderr() -> None:
    """The shell reads candidates from stdout and lets stderr through to the terminal: for
    the rest of this short process (a lookup given up at the timeout included), nothing may
    reach it — not a log line of a failed connection, not a client library's warning."""
    sys.stderr.flush()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
