"""Clean stops on SIGINT/SIGTERM: the first asks the job to finish, a second SIGINT forces exit."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from typing import Any


def stop_on_signals(request_stop: Callable[[str], None]) -> None:
    """Install handlers: first SIGINT/SIGTERM calls `request_stop`; a second SIGINT exits 130."""
    received: list[str] = []

    def handler(signum: int, _frame: Any) -> None:
        name = signal.Signals(signum).name
        if received and signum == signal.SIGINT:
            sys.stderr.write("kafkactl: second interrupt, exiting now\n")
            os._exit(130)
        received.append(name)
        sys.stderr.write(
            f"kafkactl: {name} received, finishing in-flight work (Ctrl-C again to force)\n"
        )
        request_stop(name)

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


_interrupted: list[str] = []


def interrupt_on_signals() -> None:
    """SIGINT and SIGTERM raise KeyboardInterrupt (the run stops, exit 130) and are remembered.

    The default for every command; produce, consume and replay-dlq install `stop_on_signals`
    over it for a clean stop of their own.
    """

    def handler(signum: int, _frame: Any) -> None:
        _interrupted.append(signal.Signals(signum).name)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def interrupted_by() -> str | None:
    """The signal that raised KeyboardInterrupt through `interrupt_on_signals`, if any."""
    return _interrupted[0] if _interrupted else None
