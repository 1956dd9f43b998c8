"""Signals against the real broker (issue 22): SIGHUP stops every command the way SIGTERM does,
--grep cannot run away, and a stop signal ends kafkactl within --shutdown-timeout + 5 s even
when a handler holds the interpreter in one C call.

Exit codes after a stop signal (the same for SIGHUP as for SIGTERM and the first SIGINT):
produce and replay-dlq 130 (stopped before the end of their work), consume 0 (a signal is how
a consumer ends), health --watch its last verdict. A process the watchdog has to end is
killed by SIGKILL after one line on stderr (a shell sees 137).

Every process runs in its own session under a hard timeout (tests/integration/hostile_cases).
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import struct
import subprocess
import termios
import time
from pathlib import Path

from tests.integration.hostile_cases import (
    KAFKACTL,
    Ran,
    assert_clean,
    assert_one_error,
    error_lines,
    finish,
    kafkactl,
    kcat_count,
    kcat_produce,
    start,
)
from tests.integration.kafka_helpers import committed_and_end, fully_committed, track, wait_for
from tests.integration.kafka_helpers import produce as kp_produce
from tests.integration.terminal_screen import _controlling_terminal
from tests.integration.test_hostile_input import (
    _base_env,
    _dead_letter,
    _uid,
    admin_topic,
    create_topics,
)

WATCHDOG_GRACE_S = 5.0  # kafkactl.watchdog.GRACE_S: the time allowed past --shutdown-timeout


def _summary(out: str) -> dict:
    """The --json summary: the last JSON document on stdout (records may be printed before)."""
    text = "\n" + out
    return json.loads(text[text.rfind("\n{\n") + 1 :])


def _start_to_files(argv: list[str], env: dict, tmp_path: Path) -> tuple[subprocess.Popen, Path]:
    """Start argv in its own session with stdout in a file (read while it runs)."""
    out = tmp_path / f"out-{_uid()}"
    with out.open("wb") as sink:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,
        )
    return track(proc), out


def _end_offset(brokers: str, topic: str) -> int:
    """How many records partition 0 of `topic` holds (kcat -e would wait for a quiet moment)."""
    (offsets,) = committed_and_end(brokers, f"nobody-{_uid()}", [topic]).values()
    return int(offsets[1])


def _stop(proc: subprocess.Popen, signum: signal.Signals, what: str, out: Path | None) -> Ran:
    """Send `signum`, wait (hard timeout), and return what the run did."""
    t0 = time.monotonic()
    proc.send_signal(signum)
    ran = finish(proc, what, t0, 60)
    if out is not None:
        ran.stdout = out.read_bytes()
    return ran


def test_sighup_to_produce_waiting_in_linger_delivers_what_was_read(
    cli_env: dict, admin, brokers: str, topic_name: str
) -> None:
    admin_topic(admin, topic_name, 1)
    t0 = time.monotonic()
    proc = start([*KAFKACTL, "produce", topic_name, "--linger-ms", "5000", "--json"], cli_env)
    assert proc.stdin is not None
    proc.stdin.write(b"".join(b'{"n": %d}\n' % n for n in range(100)))
    proc.stdin.flush()  # stdin stays open: the 100 lines wait in the producer's linger
    time.sleep(2.5)
    proc.send_signal(signal.SIGHUP)
    ran = finish(proc, "produce --linger-ms 5000 with SIGHUP", t0, 60)
    assert_clean(ran)
    assert ran.returncode == 130, f"SIGHUP stops produce as SIGTERM does (exit 130)\n{ran}"
    summary = json.loads(ran.out)
    assert summary["interrupted"] is True and summary["failed"] == 0, summary
    assert summary["read"] == 100, f"the lines were not read before the signal\n{ran}"
    assert kcat_count(brokers, topic_name) == summary["published"] == 100, ran
    assert "SIGHUP received" in ran.err


def _unread(tty: int) -> int:
    """Bytes typed on the terminal that no process has read yet."""
    return struct.unpack("i", fcntl.ioctl(tty, termios.FIONREAD, b"\0\0\0\0"))[0]


def test_a_terminal_hang_up_during_produce_delivers_what_was_typed(
    cli_env: dict, admin, brokers: str, topic_name: str
) -> None:
    """The terminal goes away (ssh dropped, window closed): the kernel sends SIGHUP and reads
    from it fail with EIO. What was typed is delivered, with no "unexpected" line."""
    admin_topic(admin, topic_name, 1)
    master, slave = os.openpty()
    t0 = time.monotonic()
    proc = track(
        subprocess.Popen(
            [*KAFKACTL, "produce", topic_name, "--linger-ms", "5000", "--json"],
            stdin=slave,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=cli_env,
            start_new_session=True,
            preexec_fn=_controlling_terminal,
        )
    )
    try:
        os.write(master, b"".join(b'{"n": %d}\n' % n for n in range(20)))
        # Hang up once produce has read what was typed (on a loaded machine its start-up alone
        # can take seconds; a hang-up before it runs stops it with nothing accepted).
        deadline = time.monotonic() + 30
        seen = False  # the terminal passes what was typed on to the reader's queue a bit later
        while not (seen and _unread(slave) == 0) and time.monotonic() < deadline:
            seen = seen or _unread(slave) > 0
            time.sleep(0.05)
        time.sleep(0.5)
    finally:
        os.close(slave)
        os.close(master)  # the hang-up
    ran = finish(proc, "produce on a terminal that hangs up", t0, 60)
    assert_clean(ran)
    assert ran.returncode == 130, ran
    summary = json.loads(ran.out)
    assert summary["read"] == 20 and summary["failed"] == 0, summary
    assert kcat_count(brokers, topic_name) == summary["published"] == 20, ran


def test_sighup_to_consume_with_a_group_commits_what_was_handled(
    cli_env: dict, brokers: str, topic_name: str, tmp_path: Path
) -> None:
    group = f"g{_uid()}"
    create_topics(cli_env, topic_name, group)
    kp_produce(brokers, topic_name, [(b"k", b'{"n": %d}' % n, []) for n in range(50)])
    proc, out = _start_to_files(
        [*KAFKACTL, "consume", topic_name, "-g", group, "--json", "-f", "value"],
        cli_env,
        tmp_path,
    )
    wait_for(
        lambda: out.read_bytes().count(b"\n") >= 50 or proc.poll() is not None,
        60,
        "consume to print the 50 records",
    )
    ran = _stop(proc, signal.SIGHUP, "consume -g with SIGHUP", out)
    assert_clean(ran)
    assert ran.returncode == 0, f"SIGHUP stops consume cleanly as SIGTERM does\n{ran}"
    assert _summary(ran.out)["stopped_by"] == "SIGHUP", ran
    offsets = committed_and_end(brokers, group, [topic_name])
    assert fully_committed(offsets), f"what was handled was not committed: {offsets}\n{ran}"


def test_sighup_to_replay_dlq_stops_it_cleanly(
    cli_env: dict, brokers: str, topic_name: str, tmp_path: Path
) -> None:
    group = f"g{_uid()}"
    create_topics(cli_env, topic_name, group)
    dead = [_dead_letter(topic_name, group, b"", n) for n in range(30)]
    kp_produce(brokers, f"{topic_name}.{group}.dlq", dead)
    argv = [*KAFKACTL, "replay-dlq", topic_name, "-g", group, "--to", "original"]
    proc, out = _start_to_files([*argv, "--rate", "4", "--yes", "--json"], cli_env, tmp_path)
    wait_for(
        lambda: _end_offset(brokers, topic_name) >= 2 or proc.poll() is not None,
        60,
        "a replayed record",
    )
    ran = _stop(proc, signal.SIGHUP, "replay-dlq with SIGHUP", out)
    assert_clean(ran)
    assert ran.returncode == 130, f"SIGHUP stops replay-dlq as SIGTERM does (exit 130)\n{ran}"
    summary = _summary(ran.out)
    assert summary["stopped_by"] == "SIGHUP", summary
    sent = kcat_count(brokers, topic_name)
    assert summary["replayed"] == sent and 2 <= sent < 30, (summary, sent)
    # The progress it committed holds: a second run sends the rest, nothing twice.
    rest = kafkactl(*argv[3:], "--yes", "--json", env=cli_env, timeout=120)
    assert rest.returncode == 0, rest
    assert kcat_count(brokers, topic_name) == 30, rest


def test_sighup_to_health_watch_ends_it_with_its_verdict(cli_env: dict) -> None:
    t0 = time.monotonic()
    proc = start([*KAFKACTL, "health", "--watch", "--interval", "1s", "--json"], cli_env)
    time.sleep(3)
    proc.send_signal(signal.SIGHUP)
    ran = finish(proc, "health --watch with SIGHUP", t0, 60)
    assert_clean(ran)
    last = _summary(ran.out)
    assert ran.returncode == (0 if last["verdict"] == "healthy" else 1), ran


BOMB = "(a+)+$"  # on a*40 + b, Python's backtracking `re` takes about 2^40 steps


def test_a_backtracking_bomb_in_grep_ends_at_once_and_matches_right(
    cli_env: dict, brokers: str, topic_name: str, admin
) -> None:
    admin_topic(admin, topic_name, 1)
    values = [b"a" * 40 + b"b", b"b" + b"a" * 40, b"a" * 100_000 + b"!", b"aaaa"]
    kcat_produce(brokers, topic_name, b"\x1e".join(values))
    assert kcat_count(brokers, topic_name) == 4
    ran = kafkactl(
        "consume", topic_name, "-e", "--grep", BOMB, "-f", "{offset}\\n", env=cli_env, timeout=60
    )
    assert_clean(ran)
    assert ran.returncode == 0, ran
    assert ran.out.split() == ["1", "3"], ran


def test_what_grep_cannot_match_in_linear_time_is_refused(cli_env: dict, topic_name: str) -> None:
    ran = kafkactl("consume", topic_name, "-e", "--grep", r"(a+)\1$", env=cli_env, timeout=60)
    assert ran.returncode == 2, ran
    assert_one_error(ran, ["--grep", "backreference", "RE2"])


SPIN_HANDLER = """
import pathlib, re

def handle(message):
    pathlib.Path({marker!r}).write_text("spinning")
    re.match("(a+)+$", "a" * 40 + "b")  # one C call holding the interpreter for hours
"""


def _spin(cli_env: dict, brokers: str, topic: str, tmp_path: Path) -> tuple[subprocess.Popen, str]:
    """consume -g with a handler stuck in C on the first record; returns once it spins."""
    group = f"g{_uid()}"
    create_topics(cli_env, topic, group)
    marker = tmp_path / "spinning"
    module = f"hostile_spin_{_uid()}"
    (tmp_path / f"{module}.py").write_text(SPIN_HANDLER.format(marker=str(marker)))
    kp_produce(brokers, topic, [(b"k", b'{"n": 1}', [])])
    proc = start(
        [*KAFKACTL, "consume", topic, "-g", group, "--handler", f"{module}:handle",
         "--shutdown-timeout", "1s"],
        {**cli_env, "PYTHONPATH": str(tmp_path)},
    )  # fmt: skip
    wait_for(lambda: marker.exists() or proc.poll() is not None, 60, "the handler to spin")
    assert proc.poll() is None, "consume ended before the handler started"
    return proc, group


def _assert_ended_by_the_watchdog(ran: Ran, signame: str, took: float) -> None:
    assert took < 1 + WATCHDOG_GRACE_S + 4, f"took {took:.1f}s with --shutdown-timeout 1s\n{ran}"
    assert ran.returncode == -signal.SIGKILL, ran
    assert "Traceback" not in ran.err, ran
    said = [line for line in ran.err.splitlines() if "did not stop" in line]
    assert said == [f"kafkactl: did not stop within 6s of {signame}, exiting"], ran
    assert error_lines(ran.err) == [], ran


def test_sigterm_ends_a_handler_stuck_in_c_within_shutdown_timeout(
    cli_env: dict, brokers: str, topic_name: str, tmp_path: Path
) -> None:
    proc, group = _spin(cli_env, brokers, topic_name, tmp_path)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    ran = finish(proc, "consume with a handler stuck in C, SIGTERM", t0, 60)
    _assert_ended_by_the_watchdog(ran, "SIGTERM", time.monotonic() - t0)
    committed = committed_and_end(brokers, group, [topic_name])
    assert all(c in (-1, 0, None) for c, _ in committed.values()), committed  # redelivered


def test_sigint_ends_a_handler_stuck_in_c_too(
    brokers: str, topic_name: str, tmp_path: Path
) -> None:
    """The watchdog does not depend on the engine: the default one is enough here (SIGHUP
    takes the same path: tests/unit/test_signals.py)."""
    env = _base_env(brokers, tmp_path)
    proc, _group = _spin(env, brokers, topic_name, tmp_path)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    ran = finish(proc, "consume with a handler stuck in C, SIGINT", t0, 60)
    _assert_ended_by_the_watchdog(ran, "SIGINT", time.monotonic() - t0)
