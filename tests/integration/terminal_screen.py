"""A command run under a pseudo-terminal whose output goes through a VT emulator (pyte): tests
read the screen an operator would see, not the raw byte stream."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable

import pyte

from tests.integration.kafka_helpers import track

# Box-drawing characters (U+2500..U+257F): Rich's table borders.
BOX = re.compile("[\u2500-\u257f]")


def _controlling_terminal() -> None:
    # Runs in the child after setsid(): stdin, the pty, becomes its controlling terminal, so
    # Ctrl-C typed there is a SIGINT to its (foreground) process group, as in a real terminal.
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class TerminalScreen:
    """`python -m kafkactl ARGS` on a pty of `columns` x `lines`, read through a terminal
    emulator that keeps what scrolls off the top."""

    def __init__(self, columns: int = 110, lines: int = 45) -> None:
        self.columns = columns
        self.lines = lines
        self.screen = pyte.HistoryScreen(columns, lines, history=100_000, ratio=0.5)
        self.stream = pyte.ByteStream(self.screen)
        self.proc: subprocess.Popen[bytes] | None = None
        self._master = -1

    def start(self, args: list[str], env: dict[str, str], cwd: str) -> None:
        """Start the command with the pty as its stdin, stdout, stderr and controlling tty."""
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", self.lines, self.columns, 0, 0))
        # On Ctrl-C a tty discards the output still queued unless NOFLSH is set: a redraw cut
        # in half there is the terminal's doing, not the command's, and would make the screen
        # depend on when the test's reads happened.
        attrs = termios.tcgetattr(slave)
        attrs[3] |= termios.NOFLSH
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        try:
            self.proc = track(
                subprocess.Popen(
                    [sys.executable, "-m", "kafkactl", *args],
                    stdin=slave,
                    stdout=slave,
                    stderr=slave,
                    env=env,
                    cwd=cwd,
                    start_new_session=True,
                    preexec_fn=_controlling_terminal,
                )
            )
        finally:
            os.close(slave)
        self._master = master

    def _read(self) -> bool:
        """Feed one chunk of output to the emulator; False once the pty is closed (the command
        and everything holding the terminal ended)."""
        try:
            data = os.read(self._master, 65536)
        except OSError:  # EIO: nothing holds the other side any more
            return False
        self.stream.feed(data)
        return bool(data)

    def pump(self, seconds: float) -> bool:
        """Feed what the command writes for `seconds`; False once the pty is closed."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if select.select([self._master], [], [], left)[0] and not self._read():
                return False
        return True

    def settle(self, quiet: float = 0.3, limit: float = 10.0) -> None:
        """Read until the command has written nothing for `quiet` seconds (a whole frame is on
        screen, not half of a redraw), at most `limit` seconds."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if not select.select([self._master], [], [], quiet)[0] or not self._read():
                return

    def display(self) -> list[str]:
        """The lines on screen now, trailing blanks removed."""
        return [line.rstrip() for line in self.screen.display]

    def scrolled_off(self) -> list[str]:
        """The lines that scrolled off the top of the screen, oldest first."""
        return [
            "".join(row[x].data for x in range(self.columns)).rstrip()
            for row in self.screen.history.top
        ]

    def transcript(self) -> list[str]:
        """Everything on the terminal, scrolled-off lines then the screen, trailing blanks cut."""
        lines = self.scrolled_off() + self.display()
        while lines and not lines[-1]:
            lines.pop()
        return lines

    def type(self, data: bytes) -> None:
        """Keys typed at the terminal (b"\\x03" is Ctrl-C)."""
        os.write(self._master, data)

    def wait_until(
        self, predicate: Callable[[], bool], timeout: float, what: str, each: Callable[[], None]
    ) -> None:
        """Read the screen until `predicate()` holds; `each()` checks every settled screen."""
        deadline = time.monotonic() + timeout
        while True:
            self.pump(0.5)
            self.settle()
            each()
            if predicate():
                return
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out after {timeout:g}s waiting for {what}; the screen:\n"
                    + "\n".join(self.display())
                )

    def wait_exit(self, timeout: float) -> int:
        """Read until the command exits; its exit code (killed, and the test failed, after
        `timeout`)."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(
                    f"still running {timeout:g}s later; the screen:\n" + "\n".join(self.display())
                )
            self.pump(0.2)
        self.settle(quiet=0.2, limit=5)
        return self.proc.returncode

    def kill(self) -> None:
        """Kill the command's process group (it leads its own session) and close the pty."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        if self._master >= 0:
            os.close(self._master)
            self._master = -1
