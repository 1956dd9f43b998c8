"""Commands built when used (DESIGN §2.1): `kafkactl --help` lists each command by its summary
line, and only the command that runs, or whose help or completions are asked for, has its
module imported and its options built (start-up time: ~130 options in all)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping, MutableMapping

from typer import _click as click  # typer 0.29 vendors the core of Click
from typer.core import TyperCommand, TyperGroup


class LazyCommands(MutableMapping[str, click.Command]):
    """Commands by name, in listing order; each is built by `build(name)` on first access."""

    def __init__(self, summaries: Mapping[str, str], build: Callable[[str], click.Command]):
        self.summaries = dict(summaries)
        self._build = build
        self._built: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        command = self._built.get(name)
        if command is None:
            if name not in self.summaries:
                raise KeyError(name)
            command = self._built[name] = self._build(name)
        return command

    def __setitem__(self, name: str, command: click.Command) -> None:
        self.summaries[name] = command.short_help or command.help or ""
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        del self.summaries[name]
        self._built.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self.summaries)

    def __len__(self) -> int:
        return len(self.summaries)

    def built(self) -> list[str]:
        """The names of the commands built so far."""
        return list(self._built)


class LazyGroup(TyperGroup):
    """A TyperGroup whose commands may be a LazyCommands: listed, and its help printed, with
    none of them built."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """The command names in the order they were declared (TyperGroup's order)."""
        return list(self.commands)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The group's help, listing each command by its summary line."""
        commands = self.commands
        if not isinstance(commands, LazyCommands):
            return super().format_help(ctx, formatter)
        listing = copy.copy(self)
        listing.commands = {
            name: TyperCommand(name=name, help=summary)
            for name, summary in commands.summaries.items()
        }
        return TyperGroup.format_help(listing, ctx, formatter)
