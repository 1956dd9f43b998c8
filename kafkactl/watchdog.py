"""A stop signal ends the process within its shutdown time, whatever the process is doing.

Python runs signal handlers in the main thread between bytecodes, and a thread that holds the
GIL in one long C call (a `re` match, a handler spinning in a C extension, reading /dev/zero)
lets neither the handler nor any other thread run. So the watch is a separate process, forked
at start-up while kafkactl is still one thread: the C-level handler writes every signal number
to the wake-up fd (`signal.set_wakeup_fd`) without needing the GIL, the watcher reads it, and
when a stop signal came and kafkactl is still running `timeout + grace` seconds later it
writes one line and kills it (SIGKILL: a stuck interpreter cannot exit by itself; a shell sees
exit 137). A second SIGINT gives it FORCE_GRACE_S. When kafkactl ends, the watcher reads
end-of-file and ends too.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import threading
import time
from typing import NoReturn

from kafkactl.signals import STOP_SIGNALS, signal_name

DEFAULT_TIMEOUT_S = 30.0  # commands without --shutdown-timeout: consume's default
GRACE_S = 5.0  # past the shutdown time: the final commit, the summary, closing the clients
FORCE_GRACE_S = 2.0  # after a second SIGINT, which the process's own handler obeys at once

_control: int | None = None  # the write end of the pipe that gives the watcher its timeout


def start_watchdog() -> None:
    """Fork the watcher and point the wake-up fd at it (once, from the main thread, before any
    other thread exists; otherwise nothing happens)."""
    global _control
    if (
        _control is not None
        or not hasattr(os, "fork")
        or threading.active_count() != 1
        or threading.current_thread() is not threading.main_thread()
    ):
        return
    pipes: list[int] = []
    try:
        pipes.extend(os.pipe())
        pipes.extend(os.pipe())
        wake_r, wake_w, control_r, control_w = pipes
        parent = os.getpid()
        child = os.fork()
    except OSError:  # no descriptor or process left (ulimit -n, -u): run without the watch
        for fd in pipes:
            os.close(fd)
        return
    if child == 0:  # the watcher
        try:
            os.close(wake_w)
            os.close(control_w)
            _watch(wake_r, control_r, parent)
        finally:
            os._exit(0)
    os.close(wake_r)
    os.close(control_r)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    _control = control_w


def watch_stop_within(timeout: float, grace: float = GRACE_S) -> None:
    """After a stop signal, allow the process `timeout` (its --shutdown-timeout) + `grace`
    seconds to end before the watcher ends it."""
    if _control is not None:
        with contextlib.suppress(OSError):
            os.write(_control, f"{timeout!r} {grace!r}\n".encode())


def _watch(wake: int, control: int, parent: int) -> None:
    """The watcher's loop: returns when kafkactl ended (end of file on the wake-up pipe)."""
    for sig in STOP_SIGNALS:  # a Ctrl-C or a hang-up reaches the whole process group
        signal.signal(sig, signal.SIG_IGN)
    _close_all_but(wake, control)
    timeout, grace = DEFAULT_TIMEOUT_S, GRACE_S
    stops = {int(sig) for sig in STOP_SIGNALS}
    first: str | None = None
    deadline: float | None = None
    pending = b""
    watched = [wake, control]
    while True:
        wait = None if deadline is None else max(0.0, deadline - time.monotonic())
        ready, _, _ = select.select(watched, [], [], wait)
        if not ready and first is not None:
            _end(parent, f"did not stop within {timeout + grace:g}s of {first}, exiting")
        if control in ready:
            data = os.read(control, 4096)
            if not data:
                watched.remove(control)
            pending += data
            *lines, pending = pending.split(b"\n")
            for line in lines:
                timeout, grace = (float(word) for word in line.split())
        if wake in ready:
            data = os.read(wake, 4096)
            if not data:
                return
            for number in data:
                if number not in stops:
                    continue
                now = time.monotonic()
                if first is None:
                    first = signal_name(number)
                    deadline = now + timeout + grace
                elif number == signal.SIGINT and deadline is not None:
                    deadline = min(deadline, now + FORCE_GRACE_S)


def _close_all_but(*keep: int) -> None:
    """Hold none of kafkactl's files (stdin, stdout, sockets) but stderr and the two pipes:
    a reader waiting for kafkactl's stdout to close must not wait for the watcher."""
    highest = max(keep)
    os.closerange(0, 2)
    os.closerange(3, min(keep))
    for low, high in zip(sorted(keep), sorted(keep)[1:], strict=False):
        os.closerange(low + 1, high)
    os.closerange(highest + 1, os.sysconf("SC_OPEN_MAX"))


def _end(parent: int, reason: str) -> NoReturn:
    """Kill kafkactl if it is still running (still this watcher's parent), saying why."""
    if os.getppid() == parent:
        with contextlib.suppress(OSError):
            os.write(2, f"kafkactl: {reason}\n".encode())
        with contextlib.suppress(OSError):
            os.kill(parent, signal.SIGKILL)
    os._exit(0)
