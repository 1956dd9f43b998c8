"""Standard streams a parent process closed (`<&-`, `>&-`, `2>&-`) turned into one clear line.

Python sets `sys.stdin`/`sys.stdout`/`sys.stderr` to None when the descriptor was closed at
start. `guard_closed_streams` runs first in `main()`: a closed stderr is replaced by /dev/null
(diagnostics are lost, the work still runs and the exit code still tells), and the commands that
need stdin or stdout call `require_stdin` / `require_stdout`, which fail with exit 2.

`WatchedStream` wraps sys.stdout so that main() can tell a failed stdout (a closed pipe) from
any other OSError, and `silence_stdout` keeps the interpreter's last flush from failing again.
"""

from __future__ import annotations

import errno
import os
import sys
from typing import Any, BinaryIO, ClassVar, TextIO

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


class WatchedStream:
    """sys.stdout (or its .buffer) that records an OSError raised while writing to it, so
    main() can tell a failed stdout from any other OSError. Everything else is delegated."""

    failures: ClassVar[list[OSError]] = []

    def __init__(self, target: Any) -> None:
        self._target = target
        self._buffer: WatchedStream | None = None

    def write(self, data: Any) -> Any:
        """Write, remembering a failure."""
        try:
            return self._target.write(data)
        except OSError as exc:
            self.failures.append(exc)
            raise

    def writelines(self, lines: Any) -> None:
        """Write each line, remembering a failure."""
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        """Flush, remembering a failure."""
        try:
            self._target.flush()
        except OSError as exc:
            self.failures.append(exc)
            raise

    @property
    def buffer(self) -> Any:
        """The binary layer, watched too."""
        if self._buffer is None:
            self._buffer = WatchedStream(self._target.buffer)
        return self._buffer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)


def stdout_failed(exc: OSError) -> bool:
    """True when the OSError came from writing to stdout."""
    return any(exc is failure for failure in WatchedStream.failures) or (
        exc.errno == errno.EPIPE and bool(WatchedStream.failures)
    )


def silence_stdout() -> None:
    """Point fd 1 at /dev/null so the interpreter's last flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
    except OSError:
        pass
