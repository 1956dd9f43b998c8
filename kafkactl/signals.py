"""Clean stops on SIGINT/SIGTERM/SIGHUP: the first asks the run to finish, a second one may
force exit.

One helper for every command that stops cleanly: `stop_on_signals` installs the handlers
(consume and replay-dlq keep them to the end of the process), `stopping_on_signals` does the
same for the length of a block (produce). What a command does on the first signal is its
`request_stop`; which second signals force exit 130 at once is `force_on`. SIGHUP (the terminal
or the session went away, or a supervisor's stop) is a stop like SIGTERM; SIGQUIT keeps
Python's default (quit at once with a core dump: the signal asks for exactly that).
`kafkactl.watchdog` makes sure a stop signal ends the process even when Python cannot run its
handler.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# The name of a STOP_SIGNALS signal: what a run stopped by one reports as its reason.
SignalName = Literal["SIGINT", "SIGTERM", "SIGHUP"]


def _say_finishing(name: str) -> None:
    sys.stderr.write(
        f"kafkactl: {name} received, finishing in-flight work (Ctrl-C again to force)\n"
    )


def stop_on_signals(
    request_stop: Callable[[SignalName], None],
    *,
    announce: Callable[[str], None] | None = None,
    force_on: tuple[signal.Signals, ...] = (signal.SIGINT,),
) -> Callable[[], None]:
    """Install handlers for STOP_SIGNALS: the first calls `announce(name)` (default: a
    "finishing in-flight work" line on stderr), then `request_stop(name)`; a later signal in
    `force_on` (default: a second SIGINT) exits 130 at once, a SIGHUP after the first signal
    is ignored, any other calls them again.
    Returns a function that puts the previous handlers back."""
    received: list[str] = []
    say = announce if announce is not None else _say_finishing
    word = "interrupt" if force_on == (signal.SIGINT,) else "signal"

    def handler(signum: int, _frame: Any) -> None:
        name = signal_name(signum)
        if received and signum == signal.SIGHUP:
            return  # a hang-up comes twice (from the shell, and from the kernel as it exits)
        if received and signum in force_on:
            with contextlib.suppress(OSError):
                os.write(2, f"kafkactl: second {word}, exiting now\n".encode())
            os._exit(130)
        received.append(name)
        say(name)
        request_stop(name)

    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore


@contextmanager
def stopping_on_signals(
    request_stop: Callable[[SignalName], None],
    *,
    announce: Callable[[str], None] | None = None,
    force_on: tuple[signal.Signals, ...] = (signal.SIGINT,),
) -> Iterator[None]:
    """`stop_on_signals` for the length of the block, the previous handlers again after it.
    Only in the main thread (where Python runs signal handlers); elsewhere a no-op."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    restore = stop_on_signals(request_stop, announce=announce, force_on=force_on)
    try:
        yield
    finally:
        restore()


_interrupted: list[str] = []


def signal_name(signum: int) -> SignalName:
    """The name of a STOP_SIGNALS signal, as a run stopped by it reports it."""
    if signum == signal.SIGINT:
        return "SIGINT"
    return "SIGHUP" if signum == signal.SIGHUP else "SIGTERM"


def interrupt_on_signals() -> None:
    """STOP_SIGNALS raise KeyboardInterrupt (the run stops, exit 130) and are remembered.

    The default for every command; produce, consume, replay-dlq and dlq summary install
    `stop_on_signals` over it for a clean stop of their own.
    """

    def handler(signum: int, _frame: Any) -> None:
        if _interrupted and signum == signal.SIGHUP:
            return  # a hang-up comes twice: the first one is being heeded
        _interrupted.append(signal_name(signum))
        raise KeyboardInterrupt

    for sig in STOP_SIGNALS:
        signal.signal(sig, handler)


def interrupted_by() -> str | None:
    """The signal that raised KeyboardInterrupt through `interrupt_on_signals`, if any."""
    return _interrupted[0] if _interrupted else None
