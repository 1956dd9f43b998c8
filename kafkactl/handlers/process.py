"""Running one shell command to its exit and leaving nothing of it behind (`--exec`,
`--transform`).

- The command's end is its own exit, seen through a pidfd: a background child that keeps the
  command's stdout or stderr open does not make it look like it is still running. What the
  command wrote is read while it runs and drained (only what is already in the pipes) after.
- After the command exits, its process group is killed (background jobs die with it).
- A child that left the group and session (`setsid`) is found because kafkactl is a child
  subreaper (Linux PR_SET_CHILD_SUBREAPER): orphans of the command are re-parented to kafkactl,
  not to init. Each run marks its environment with `KAFKACTL_RUN=<token>`; every child of
  kafkactl that carries the token of a finished run, or belongs to a process group or session
  already being ended, is killed and reaped. Only a process that both leaves the session and
  clears its environment (`setsid env -i ...`) can outlive its command.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

RUN_VAR = b"KAFKACTL_RUN"
PR_SET_CHILD_SUBREAPER = 36
# Read after the command exited: what is already in a pipe (its capacity is 64 KiB by default;
# the bound only stops a background writer that was not killed from feeding us for ever).
DRAIN_LIMIT_BYTES = 4 * 1024 * 1024
CHUNK = 65536

_subreaper: bool | None = None


def become_subreaper() -> bool:
    """Make orphaned descendants of this process its children (Linux); False elsewhere."""
    global _subreaper
    if _subreaper is None:
        _subreaper = False
        if sys.platform.startswith("linux"):
            with contextlib.suppress(OSError, AttributeError):
                libc = ctypes.CDLL(None, use_errno=True)
                _subreaper = libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    return _subreaper


def kill_group(pgid: int) -> bool:
    """SIGKILL every process of a group; False if the group was already gone."""
    try:
        os.killpg(pgid, signal.SIGKILL)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def exchange(
    proc: subprocess.Popen[bytes],
    data: bytes,
    timeout_s: float,
    on_stdout: Callable[[bytes], None],
    on_stderr: Callable[[bytes], None],
) -> bool:
    """Feed `data` to the command's stdin and pass what it writes on, until it exits (True) or
    `timeout_s` passes (False). Reads stop at the exit, not at EOF."""
    deadline = time.monotonic() + timeout_s
    sel = selectors.DefaultSelector()
    pidfd = _pidfd(proc.pid)
    if pidfd is not None:
        sel.register(pidfd, selectors.EVENT_READ)
    handlers = _readers(proc, on_stdout, on_stderr)
    for fd in handlers:
        os.set_blocking(fd, False)
        sel.register(fd, selectors.EVENT_READ)
    stdin = proc.stdin.fileno() if proc.stdin else None
    sent = 0
    if stdin is not None:
        if data:
            os.set_blocking(stdin, False)
            sel.register(stdin, selectors.EVENT_WRITE)
        else:
            _close(proc.stdin)
    try:
        while True:
            if pidfd is None and proc.poll() is not None:
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            events = sel.select(left if pidfd is not None else min(left, 0.02))
            for key, _ in events:
                fd = int(key.fd)
                if fd == pidfd:
                    return True
                if fd == stdin:
                    try:
                        sent += os.write(fd, data[sent : sent + CHUNK])
                    except BlockingIOError:
                        continue
                    except OSError:  # the command closed its stdin: it has what it wanted
                        sent = len(data)
                    if sent >= len(data):
                        sel.unregister(fd)
                        _close(proc.stdin)
                elif not _read(fd, handlers[fd]):
                    sel.unregister(fd)
    finally:
        sel.close()
        if pidfd is not None:
            os.close(pidfd)


def drain(
    proc: subprocess.Popen[bytes],
    on_stdout: Callable[[bytes], None],
    on_stderr: Callable[[bytes], None],
) -> None:
    """Read what is already in the command's pipes, without waiting for more, and close them."""
    for fd, handler in _readers(proc, on_stdout, on_stderr).items():
        taken = 0
        with contextlib.suppress(OSError):
            os.set_blocking(fd, False)
            while taken < DRAIN_LIMIT_BYTES:
                chunk = os.read(fd, CHUNK)
                if not chunk:
                    break
                taken += len(chunk)
                handler(chunk)
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        _close(stream)


def end_leftovers(pgid: int, token: bytes) -> int:
    """Kill and reap kafkactl's children left by the finished run `token` whose group is
    `pgid`: what the kernel re-parented to us (see the module docstring). Returns how many."""
    if not become_subreaper():
        return 0
    ending = {pgid}
    marker = RUN_VAR + b"=" + token + b"\0"
    ended = 0
    while True:
        found = 0
        for pid in _children():
            stat = _stat(pid)
            if stat is None:
                continue
            state, pgrp, sid = stat
            mark = _marker(pid)
            if mark != marker and (mark is not None or (pgrp not in ending and sid not in ending)):
                continue  # another run's (a pid reused as a group id), or not ours at all
            ending.update((pgrp, sid, pid))
            if state != "Z":
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(pid, 0)
            found += 1
        if not found:
            return ended
        ended += found


def _readers(
    proc: subprocess.Popen[bytes],
    on_stdout: Callable[[bytes], None],
    on_stderr: Callable[[bytes], None],
) -> dict[int, Callable[[bytes], None]]:
    out: dict[int, Callable[[bytes], None]] = {}
    for stream, handler in ((proc.stdout, on_stdout), (proc.stderr, on_stderr)):
        if stream is not None and not stream.closed:
            out[stream.fileno()] = handler
    return out


def _read(fd: int, handler: Callable[[bytes], None]) -> bool:
    """One read; False at EOF (or a read error)."""
    try:
        chunk = os.read(fd, CHUNK)
    except BlockingIOError:
        return True
    except OSError:
        return False
    if chunk:
        handler(chunk)
    return bool(chunk)


def _close(stream: object) -> None:
    with contextlib.suppress(OSError, AttributeError):
        stream.close()  # type: ignore[attr-defined]


def _pidfd(pid: int) -> int | None:
    """A descriptor readable when `pid` exits (Linux 5.3+); None: poll instead."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def _children() -> list[int]:
    """The children of this process's main thread: the kernel re-parents orphans to the first
    live thread of a subreaper, its main thread (commands started by other threads are their
    children and never ours to end here)."""
    pid = os.getpid()
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, process group, session) of `pid`, None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2 :].split()  # after the command name, which may hold ")"
    return fields[0], int(fields[2]), int(fields[3])


def _marker(pid: int) -> bytes | None:
    """The `KAFKACTL_RUN=token` entry of a process's environment (None: none, or a zombie)."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return None
    for entry in environ.split(b"\0"):
        if entry.startswith(RUN_VAR + b"="):
            return entry + b"\0"
    return None
