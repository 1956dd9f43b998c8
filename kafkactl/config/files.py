"""Files named by settings (the config file, the SASL password file, certificates): checked by
kind and size before anything reads them, so a FIFO, a device or a huge file cannot hang or
exhaust a run. And the open-file limit: too low a `ulimit -n` is one line before connecting."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path

from kafkactl.errors import KafkactlError, UsageError

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


# Open files a run needs at least: the standard streams, the watchdog's pipes, and per client
# (consume -g holds a consumer, a producer and an admin client) a socket per broker and
# wake-up pipes. Below this, a run fails part-way; say so before connecting.
MIN_OPEN_FILES = 64
RAISE_HINT = "raise it, e.g. ulimit -n 4096"


class TooManyOpenFiles(KafkactlError):
    """The process ran out of file descriptors (EMFILE): its limit, not the cluster (exit 1)."""


def open_file_limit() -> int | None:
    """The soft limit on open files (RLIMIT_NOFILE), raised towards the hard limit when it is
    below MIN_OPEN_FILES (as far as allowed); None where the platform has none."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Linux or macOS
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < MIN_OPEN_FILES and hard != soft:
        wanted = 1024 if hard == resource.RLIM_INFINITY else min(hard, 1024)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
    return None if soft == resource.RLIM_INFINITY else int(soft)


def check_open_file_limit() -> None:
    """A UsageError (exit 2) before any connection when the open-file limit is too low for a
    run (`ulimit -n 6`), instead of retries that cannot help and a failure part-way."""
    limit = open_file_limit()
    if limit is not None and limit < MIN_OPEN_FILES:
        raise UsageError(
            f"the open-file limit is {limit} (ulimit -n); kafkactl needs at least "
            f"{MIN_OPEN_FILES} (a socket and pipes per broker and client): {RAISE_HINT}"
        )


def out_of_files(error: BaseException | str) -> TooManyOpenFiles | None:
    """The one-line error when `error` says the process has no file descriptors left (EMFILE,
    ENFILE, librdkafka's "Too many open files"), else None."""
    exhausted = getattr(error, "errno", None) in (errno.EMFILE, errno.ENFILE)
    if not exhausted and "too many open files" not in str(error).lower():
        return None
    limit = open_file_limit()
    where = f" (the limit is {limit}, ulimit -n)" if limit is not None else ""
    return TooManyOpenFiles(f"too many open files{where}: {RAISE_HINT}")
