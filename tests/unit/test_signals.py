"""The one signal helper: the first SIGINT/SIGTERM asks for a stop, a second one may force exit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

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


def test_a_hang_up_comes_twice_and_is_heeded_once(capfd: pytest.CaptureFixture[str]) -> None:
    """The shell forwards one SIGHUP, the kernel sends another as the shell exits: produce
    (which forces exit on any second signal) must go on flushing what it read."""
    stops: list[str] = []
    restore = stop_on_signals(stops.append, force_on=STOP_SIGNALS)
    try:
        os.kill(os.getpid(), signal.SIGHUP)
        os.kill(os.getpid(), signal.SIGHUP)
    finally:
        restore()
    assert stops == ["SIGHUP"]
    assert capfd.readouterr().err.count("SIGHUP received") == 1


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
from kafkactl.signals import STOP_SIGNALS, stop_on_signals
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
        ("STOP_SIGNALS", "SIGHUP", "SIGINT", 130, "second signal, exiting"),
        ("STOP_SIGNALS", "SIGTERM", "SIGHUP", 0, ""),  # a hang-up after a stop: ignored
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


def test_sighup_stops_like_sigterm(capfd: pytest.CaptureFixture[str]) -> None:
    stops: list[str] = []
    with stopping_on_signals(stops.append):
        os.kill(os.getpid(), signal.SIGHUP)
    assert stops == ["SIGHUP"]
    assert "SIGHUP received, finishing in-flight work" in capfd.readouterr().err


def test_every_command_is_interrupted_by_sighup_too() -> None:
    script = (
        "import os, signal, time\n"
        "from kafkactl.signals import interrupt_on_signals, interrupted_by\n"
        "interrupt_on_signals()\n"
        "try:\n    os.kill(os.getpid(), signal.SIGHUP)\n    time.sleep(5)\n"
        "except KeyboardInterrupt:\n    print('interrupted by', interrupted_by())\n"
        "os.kill(os.getpid(), signal.SIGHUP)\nprint('a second hang-up is ignored')\n"
    )
    ran = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert ran.stdout == "interrupted by SIGHUP\na second hang-up is ignored\n", ran.stderr


# The watchdog: a process stuck where Python cannot run a signal handler (one C call holding
# the GIL: here a backtracking `re` match of about 2^40 steps) still ends after a stop signal.
STUCK = """
import os, re, signal, sys, threading, time
from kafkactl.signals import stop_on_signals
from kafkactl.watchdog import start_watchdog, watch_stop_within
start_watchdog()
stop = []
stop_on_signals(stop.append, announce=lambda name: None)
watch_stop_within({timeout}, {grace})
def stuck():
    re.match("(a+)+$", "a" * 40 + "b")
print("ready", flush=True)
{body}
"""


def _stuck(body: str, timeout: float = 0.5, grace: float = 0.5) -> subprocess.Popen[str]:
    script = textwrap.dedent(STUCK).format(timeout=timeout, grace=grace, body=body)
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    return proc


def _finish(proc: subprocess.Popen[str], within: float) -> tuple[float, str]:
    """Wait for `proc` (and for its stderr to close); how long it took, and stderr."""
    t0 = time.monotonic()
    try:
        _, err = proc.communicate(timeout=within + 30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    return time.monotonic() - t0, err


@pytest.mark.parametrize("signum", STOP_SIGNALS)
def test_a_stop_signal_ends_a_main_thread_stuck_in_c(signum: signal.Signals) -> None:
    proc = _stuck("time.sleep(0.2)\nstuck()\nprint('finished')", timeout=0.5, grace=0.3)
    time.sleep(0.4)
    os.kill(proc.pid, signum)
    took, err = _finish(proc, 0.8)
    assert proc.returncode == -signal.SIGKILL, err
    assert 0.7 < took < 4.0, took
    assert err == f"kafkactl: did not stop within 0.8s of {signum.name}, exiting\n"


def test_a_worker_thread_stuck_in_c_is_covered_too() -> None:
    proc = _stuck(
        "threading.Thread(target=stuck, daemon=True).start()\nwhile True:\n    sum(range(1000))"
    )
    time.sleep(0.5)
    os.kill(proc.pid, signal.SIGTERM)
    took, err = _finish(proc, 1.0)
    assert proc.returncode == -signal.SIGKILL and "of SIGTERM, exiting" in err
    assert took < 5.0


def test_a_second_sigint_ends_a_stuck_process_without_waiting_for_the_timeout() -> None:
    """A thread holding the GIL: not even the handler that forces exit 130 can run."""
    proc = _stuck(
        "threading.Thread(target=stuck, daemon=True).start()\nthreading.Event().wait()",
        timeout=60,
        grace=5,
    )
    time.sleep(0.3)
    os.kill(proc.pid, signal.SIGTERM)
    time.sleep(0.3)
    os.kill(proc.pid, signal.SIGINT)
    took, err = _finish(proc, 2.0)
    assert proc.returncode == -signal.SIGKILL, err
    assert took < 5.0 and "of SIGTERM, exiting" in err


def test_a_process_that_stops_in_time_is_left_alone_and_leaves_no_watcher() -> None:
    """Its own exit code, no watchdog line, and stderr closes with it: the watcher ended."""
    proc = _stuck(
        "while not stop:\n    time.sleep(0.01)\nsys.exit(7)",
        timeout=0.3,
        grace=0.3,
    )
    os.kill(proc.pid, signal.SIGTERM)
    took, err = _finish(proc, 0.6)
    assert proc.returncode == 7 and err == "" and took < 3.0


def test_no_signal_no_watchdog() -> None:
    """A long C call with no stop signal is not the watchdog's business."""
    proc = _stuck('re.match("(a+)+$", "a" * 21 + "b")\nprint("finished")', timeout=0, grace=0)
    _, err = _finish(proc, 1.0)
    assert proc.returncode == 0 and err == "" and proc.stdout is not None


def test_without_a_process_to_spare_the_command_runs_unwatched(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """fork() failing (ulimit -u) is no error: the pipes are closed and nothing is watched."""
    from kafkactl import watchdog

    def no_fork() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    before = len(os.listdir("/proc/self/fd"))
    watchdog.start_watchdog()
    assert watchdog._control is None and len(os.listdir("/proc/self/fd")) == before
    assert signal.set_wakeup_fd(-1) == -1  # the wake-up fd was left alone


def test_the_error_line_is_written_even_when_a_signal_broke_a_lazy_import(
    monkeypatch, capsys
) -> None:
    """A SIGHUP during start-up stops an import half-way (asyncio under loguru was seen): the
    interrupted line must still come out as one line, never a traceback."""
    import builtins

    from kafkactl.cli import app

    real_import = builtins.__import__

    def broken(name, *args, **kwargs):  # type: ignore[no-untyped-def]
        if name == "kafkactl" and args and args[2] and "render" in args[2]:
            raise NameError("name 'base_events' is not defined")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", broken)
    app._error("interrupted by SIGHUP")
    assert capsys.readouterr().err == "error: interrupted by SIGHUP\n"
