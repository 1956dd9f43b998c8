"""Global options on every command: `kafkactl health -b host:9092` works like
`kafkactl -b host:9092 health`.

The options are declared on the app's callback and, by `add_global_options`, on every command
too, so Click's own parser decides what is an option and what is a value:
`replay-dlq T --error-contains '-b x'` keeps `-b x` as the value it is.
"""

from __future__ import annotations

import copy
from typing import Any

from typer import _click as click  # typer 0.29 vendors the core of Click
from typer.core import TyperGroup

from kafkactl.cli.context import GLOBAL_FLAGS, GlobalOptions

GLOBAL_PANEL = "Global options (before or after the command)"


def _store_global(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """Callback of a global option given after the command: record it like the root does."""
    if value is None or param.name is None or (param.multiple and not value):
        return
    root = ctx.find_root()
    if root.obj is None:
        root.obj = GlobalOptions()
    if param.multiple:
        # -X before and after the command: all of them count, in the order given.
        value = [*(getattr(root.obj, param.name) or []), *value]
    setattr(root.obj, param.name, value)


def global_params(group: TyperGroup) -> list[click.Parameter]:
    """The app's global options, as declared on its callback."""
    return [p for p in group.params if p.name in GLOBAL_FLAGS]


def add_global_options(command: click.Command, globals_: list[click.Parameter]) -> click.Command:
    """Declare the app's global options on `command` (on each command of a group) too; the
    command's own flags win.

    Copies of the root's options record their value on the root's GlobalOptions, so both
    spellings set the same thing and --help of a command lists them in their own panel.
    """
    for leaf in _leaf_commands(command):
        taken = {opt for p in leaf.params for opt in (*p.opts, *p.secondary_opts)}
        for param in globals_:
            if taken & set(param.opts):
                continue  # e.g. create-topics --config k=v: the command's own option
            option = copy.copy(param)
            option.expose_value = False
            option.callback = _store_global
            option.rich_help_panel = GLOBAL_PANEL  # type: ignore[attr-defined]
            leaf.params.append(option)
    return command


def _leaf_commands(command: click.Command) -> list[click.Command]:
    """Every command that runs, inside command groups too (`topics list`, `groups describe`)."""
    if not isinstance(command, TyperGroup):
        return [command]
    out: list[click.Command] = []
    for sub in command.commands.values():
        out.extend(_leaf_commands(sub))
    return out
