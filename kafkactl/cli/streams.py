"""Standard streams a parent process closed (`<&-`, `>&-`, `2>&-`) turned into one clear line.

Python sets `sys.stdin`/`sys.stdout`/`sys.stderr` to None when the descriptor was closed at
start. `guard_closed_streams` runs first in `main()`: a closed stderr is replaced by /dev/null
(diagnostics are lost, the work still runs and the exit code still tells), and the commands that
need stdin or stdout call `require_stdin` / `require_stdout`, which fail with exit 2.
"""

from __future__ import annotations

import os
import sys
from typing import BinaryIO, TextIO

from kafkactl.errors import UsageError

_closed: set[str] = set()


def guard_closed_streams() -> None:
    """Replace closed standard streams with /dev/null and remember which ones were closed."""
    for name, mode in (("stdin", "r"), ("stdout", "w"), ("stderr", "w")):
        if getattr(sys, name) is None:
            _closed.add(name)
            setattr(sys, name, open(os.devnull, mode, encoding="utf-8"))  # noqa: SIM115


def is_closed(name: str) -> bool:
    """True when the parent process closed the standard stream `name` before kafkactl started."""
    return name in _closed


def require_stdin(hint: str = "pipe lines in, or give -i FILE") -> TextIO:
    """sys.stdin, or a usage error when the parent closed it."""
    if is_closed("stdin"):
        raise UsageError(f"stdin is closed: nothing to read; {hint}")
    return sys.stdin


def require_stdout(hint: str = "redirect it to a file or a pipe") -> TextIO:
    """sys.stdout, or a usage error when the parent closed it (the output would be lost)."""
    if is_closed("stdout"):
        raise UsageError(f"stdout is closed: the output would be lost; {hint}")
    return sys.stdout


def stdout_bytes() -> BinaryIO:
    """The binary stdout for record data; a usage error when the parent closed it."""
    return require_stdout().buffer
