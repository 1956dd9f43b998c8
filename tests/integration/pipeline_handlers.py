"""Handlers used by the consume tests (loaded with --handler tests.integration.pipeline_handlers:X).

Each message value is JSON {"id": ..., "mode": ...}; successes are appended to the file named by
KAFKACTL_TEST_LOG as `id attempt epoch_ms` lines (O_APPEND writes of one line are atomic).
"""

from __future__ import annotations

import os
import threading
import time

from kafkactl import FatalError, Message


def _record(message: Message) -> None:
    line = f"{message.json()['id']} {message.attempt} {int(time.time() * 1000)}\n"
    fd = os.open(os.environ["KAFKACTL_TEST_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def handle(message: Message) -> None:
    """ok: succeed; always: fail every time; fatal: FatalError; once: fail the first attempt."""
    mode = message.json()["mode"]
    if mode == "always":
        raise RuntimeError(f"always fails (attempt {message.attempt})")
    if mode == "fatal":
        raise FatalError("cannot be processed")
    if mode == "once" and message.attempt == 1:
        raise ConnectionError("transient")
    _record(message)


def slow(message: Message) -> None:
    """Succeed after a few milliseconds (for kill and restart tests)."""
    time.sleep(float(os.environ.get("KAFKACTL_TEST_SLEEP", "0.005")))
    _record(message)


async def async_handle(message: Message) -> None:
    """The async flavour of `handle`."""
    handle(message)


class CustomBaseError(BaseException):
    """A BaseException subclass of a user's own."""


BASE_EXCEPTIONS: dict[str, type[BaseException]] = {
    "keyboard": KeyboardInterrupt,
    "systemexit": SystemExit,
    "generatorexit": GeneratorExit,
    "custom": CustomBaseError,
}


def base_exceptions(message: Message) -> None:
    """Raise the BaseException named by the mode (keyboard, systemexit, ...); `ok` succeeds."""
    mode = message.json()["mode"]
    if mode in BASE_EXCEPTIONS:
        raise BASE_EXCEPTIONS[mode](f"{mode} from the handler")
    _record(message)


def never_returns(message: Message) -> None:
    """`hang`: never return (a stuck call); anything else succeeds."""
    if message.json()["mode"] == "hang":
        threading.Event().wait()
    _record(message)


def gated(message: Message) -> None:
    """Wait (up to 120s) for the file named by KAFKACTL_TEST_GATE to exist, then succeed."""
    gate = os.environ["KAFKACTL_TEST_GATE"]
    deadline = time.monotonic() + 120
    while not os.path.exists(gate) and time.monotonic() < deadline:
        time.sleep(0.01)
    _record(message)


def flaky(message: Message) -> None:
    """Every fifth order (id divisible by 5) fails each attempt with a retryable error; the
    others succeed after a millisecond (the terminal test)."""
    order = message.json()["id"]
    time.sleep(0.001)
    if order % 5 == 0:
        raise RuntimeError(f"payment service timed out for order {order}")
