"""Command-line words that are not UTF-8, refused up front with a line that names the flag or
argument they belong to."""

from __future__ import annotations

from typer import _click as click  # typer 0.29 vendors the core of Click
from typer.core import TyperArgument, TyperGroup, TyperOption

from kafkactl.units import not_utf8, printable


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
                if not_utf8(name):
                    return f"option '{printable(name)}' is not valid UTF-8"
                if not_utf8(value):
                    return f"{name}: value '{printable(value)}' is not valid UTF-8"
            elif param is not None and _takes_value(param):
                attached = token[2:] if not token.startswith("--") else ""
                if attached:
                    if not_utf8(attached):
                        return f"{token[:2]}: value '{printable(attached)}' is not valid UTF-8"
                elif i + 1 < len(argv):
                    i += 1
                    if not_utf8(argv[i]):
                        return f"{token}: value '{printable(argv[i])}' is not valid UTF-8"
            elif not_utf8(token):
                return f"option '{printable(token)}' is not valid UTF-8"
        elif isinstance(command, TyperGroup) and not only_args:
            sub = command.commands.get(token)
            if sub is None:
                if not_utf8(token):
                    return f"command '{printable(token)}' is not valid UTF-8"
                return None  # Click reports the unknown command
            command = sub
        else:
            arguments = [p for p in command.params if isinstance(p, TyperArgument)]
            positional += 1
            if not_utf8(token):
                label = f"argument {positional}"
                taken = 0
                for arg in arguments:
                    taken += arg.nargs if arg.nargs > 0 else 10**9
                    if positional <= taken:
                        label = f"{(arg.name or '').upper()} (argument {positional})"
                        break
                return f"{label} '{printable(token)}' is not valid UTF-8"
        i += 1
    return None
