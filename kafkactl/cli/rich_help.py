"""Typer's Rich help and error formatting (`typer.rich_utils`), loaded without the parts kafkactl
never uses, for start-up time.

`typer.rich_utils` imports `rich.markdown` (markdown-it) and `rich.traceback` (Pygments, attrs
through `rich.pretty`) at its top: over half of what `kafkactl --help` spent loading, for the
Markdown help mode and pretty tracebacks, neither of which kafkactl turns on. While it loads,
those two modules are stand-ins whose class imports the real module when first used; once it has
loaded, the stand-ins leave `sys.modules`, so any other import gets the real module.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from kafkactl.cli.completion import COMPLETE_VAR

# The modules typer.rich_utils imports at its top for what kafkactl does not use, and the one
# name it takes from each.
DEFERRED = {"rich.markdown": "Markdown", "rich.traceback": "Traceback"}


def typer_rich_utils() -> ModuleType:
    """`typer.rich_utils`, loaded (once) with rich.markdown and rich.traceback deferred."""
    loaded = sys.modules.get("typer.rich_utils")
    if loaded is not None:
        return loaded
    stand_ins = {
        name: _stand_in_module(name, attr)
        for name, attr in DEFERRED.items()
        if name not in sys.modules
    }
    sys.modules.update(stand_ins)
    try:
        import typer.rich_utils as module
    finally:
        for name, stand_in in stand_ins.items():
            if sys.modules.get(name) is stand_in:
                del sys.modules[name]
    return module


def formats_help(argv: list[str], environ: Mapping[str, str]) -> bool:
    """True when this run will format help text with Rich: help asked (no arguments, or -h /
    --help anywhere), or completions for a shell that shows each one's help (zsh, fish; bash
    shows names only)."""
    completing = environ.get(COMPLETE_VAR, "")
    if completing:
        return not completing.endswith("_bash")
    return help_asked(argv)


def help_asked(argv: list[str]) -> bool:
    """True when the command line asks for help (no arguments, or -h / --help anywhere)."""
    return not argv or "--help" in argv or "-h" in argv


class _Forwarding(type):
    """The stand-in class's type: class attributes (Traceback.from_exception) are the real
    class's."""

    def __getattr__(cls, name: str) -> Any:
        return getattr(cls.real(), name)


def _stand_in_module(module_name: str, class_name: str) -> ModuleType:
    """A module holding one class that stands for `module_name.class_name` until used."""

    class StandIn(metaclass=_Forwarding):
        @staticmethod
        def real() -> Any:
            return getattr(importlib.import_module(module_name), class_name)

        def __new__(cls, *args: Any, **kwargs: Any) -> Any:
            return cls.real()(*args, **kwargs)

    StandIn.__name__ = StandIn.__qualname__ = class_name
    module = ModuleType(module_name, f"stands for {module_name} until {class_name} is used")
    setattr(module, class_name, StandIn)
    return module
