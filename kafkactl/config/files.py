"""Files named by settings (the config file, the SASL password file, certificates): checked by
kind and size before anything reads them, so a FIFO, a device or a huge file cannot hang or
exhaust a run."""

from __future__ import annotations

import os
import stat
from pathlib import Path

# A config file, a password, a certificate chain or key: kilobytes; a CA bundle some hundreds.
MAX_FILE_BYTES = 1024 * 1024
BOM = b"\xef\xbb\xbf"


def size_text(size: int) -> str:
    """`size` bytes in the unit a person reads: `3 MiB`, `1.5 MiB`, `512 KiB`, `12 bytes`."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= scale:
            return f"{size / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"


def file_problem(path: str | Path, kind: str = "config files") -> str | None:
    """What makes `path` unfit to read as a small file of `kind` (does not exist, a directory,
    a FIFO, a device, over 1 MiB), or None when it is a regular file of at most 1 MiB, or
    the null device (`--config /dev/null`: no config file)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return "does not exist"
    except OSError as exc:
        return f"cannot be read: {exc.strerror}"
    mode = info.st_mode
    if stat.S_ISDIR(mode):
        return "is a directory"
    if stat.S_ISFIFO(mode):
        return "is a FIFO (a named pipe), not a file"
    if stat.S_ISCHR(mode) and info.st_rdev == os.stat(os.devnull).st_rdev:
        return None
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a file"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a file"
    if not stat.S_ISREG(mode):
        return "is not a regular file"
    if info.st_size > MAX_FILE_BYTES:
        return f"is {size_text(info.st_size)}; {kind} are at most {size_text(MAX_FILE_BYTES)}"
    return None


def read_small_file(path: str | Path, kind: str = "config files") -> bytes:
    """The bytes of a regular file of at most 1 MiB; ValueError saying what it is otherwise
    (OSError when it cannot be opened). Reads at most 1 MiB + 1 byte whatever the file does."""
    problem = file_problem(path, kind)
    if problem is not None:
        raise ValueError(problem)
    # O_NONBLOCK: a path swapped for a FIFO after the check still cannot block the open.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as file:
        data = file.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise ValueError(f"is over {size_text(MAX_FILE_BYTES)}; {kind} are at most that")
    return data
