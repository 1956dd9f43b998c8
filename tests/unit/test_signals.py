"""The one signal helper: the first SIGINT/SIGTERM asks for a stop, a second one may force exit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading

import pytest

from kafkactl.signals import STOP_SIGNALS, stop_on_signals, stopping_on_signals


@pytest.mark.parametrize("signum", STOP_SIGNALS)
def test_first_signal_announces_then_requests_a_stop(signum: signal.Signals) -> None:
    calls: list[tuple[str, str]] = []
    with stopping_on_signals(
        lambda name: calls.append(("stop", name)), announce=lambda n: calls.append(("say", n))
    ):
        os.kill(os.getpid(), signum)
    assert calls == [("say", signum.name), ("stop", signum.name)]


def test_the_block_puts_the_previous_handlers_back() -> None:
    before = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    with stopping_on_signals(lambda _name: None):
        assert all(signal.getsignal(sig) is not before[sig] for sig in STOP_SIGNALS)
    assert {sig: signal.getsignal(sig) for sig in STOP_SIGNALS} == before


def test_outside_the_main_thread_the_block_is_a_no_op() -> None:
    before = signal.getsignal(signal.SIGINT)
    seen: list[object] = []

    def run() -> None:
        with stopping_on_signals(lambda _name: None):
            seen.append(signal.getsignal(signal.SIGINT))

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert seen == [before]


def test_a_second_sigterm_asks_again_unless_it_forces(capfd: pytest.CaptureFixture[str]) -> None:
    stops: list[str] = []
    restore = stop_on_signals(stops.append)  # consume and replay-dlq: a second SIGINT forces
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGTERM)
    finally:
        restore()
    assert stops == ["SIGTERM", "SIGTERM"]
    err = capfd.readouterr().err
    assert err.count("SIGTERM received, finishing in-flight work (Ctrl-C again to force)") == 2


SCRIPT = """
import os, signal, sys
from kafkactl.signals import stop_on_signals
stop_on_signals(lambda name: print("stop", name, flush=True), announce=lambda name: None,
                force_on={force})
os.kill(os.getpid(), signal.{first})
os.kill(os.getpid(), signal.{second})
print("still running", flush=True)
"""


@pytest.mark.parametrize(
    ("force", "first", "second", "code", "said"),
    [
        ("(signal.SIGINT,)", "SIGTERM", "SIGINT", 130, "second interrupt, exiting now"),
        ("(signal.SIGINT, signal.SIGTERM)", "SIGINT", "SIGTERM", 130, "second signal, exiting"),
        ("(signal.SIGINT,)", "SIGINT", "SIGTERM", 0, ""),
    ],
)
def test_a_second_signal_in_force_on_exits_130_at_once(
    force: str, first: str, second: str, code: int, said: str
) -> None:
    script = textwrap.dedent(SCRIPT).format(force=force, first=first, second=second)
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == code, proc.stderr
    assert proc.stdout.startswith(f"stop {first}\n")
    assert ("still running" in proc.stdout) == (code == 0)
    assert said in proc.stderr
