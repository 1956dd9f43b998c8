"""The exec handler runs real processes: exit codes, timeouts, process groups, environment."""

from __future__ import annotations

import json
import os
import shlex
import sys
import threading
import time
from pathlib import Path

import pytest

from kafkactl.errors import UsageError
from kafkactl.handlers import (
    ExecHandler,
)
from kafkactl.headers import Failure
from kafkactl.message import HandlerFailure
from tests.unit.handler_helpers import failure_of, make_message


def group_alive(pgid: int) -> bool:
    """True if a process of the group is still running (zombies awaiting init don't count)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        state, pgrp = fields[0], int(fields[2])
        if pgrp == pgid and state not in ("Z", "X"):
            return True
    return False


def wait_group_gone(pgid: int, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not group_alive(pgid):
            return True
        time.sleep(0.05)
    return not group_alive(pgid)


# --- exec --------------------------------------------------------------------------------------


def exec_handler(command: str, timeout: float = 10.0, fatal: set[int] | None = None, **kw):
    return ExecHandler(command, timeout, {100} if fatal is None else fatal, **kw)


def test_exec_exit_zero_is_success(tmp_path: Path) -> None:
    ran = tmp_path / "ran"
    handler = exec_handler(f"cat >/dev/null; touch {shlex.quote(str(ran))}; exit 0")
    assert handler.handle(make_message()) is None  # no HandlerFailure raised
    assert ran.exists()  # the command did run


def test_exec_nonzero_exit_is_retryable_with_last_stderr_line() -> None:
    handler = exec_handler("echo first >&2; echo >&2; echo '  last line  ' >&2; echo >&2; exit 3")
    failure = failure_of(handler)
    assert failure.kind == "retryable"
    assert failure.error_class == "exit:3"
    assert failure.message == "last line"
    assert failure.trace is not None and "first" in failure.trace and "last line" in failure.trace


def test_exec_nonzero_exit_without_stderr() -> None:
    failure = failure_of(exec_handler("exit 3"))
    assert failure == Failure("retryable", "exit:3", "exit code 3", None)


def test_exec_missing_command_is_retryable_127() -> None:
    failure = failure_of(exec_handler("definitely-not-a-command-kafkactl"))
    assert failure.kind == "retryable"
    assert failure.error_class == "exit:127"
    assert "not found" in failure.message


def test_exec_default_fatal_code_100() -> None:
    failure = failure_of(exec_handler("echo 'cannot parse' >&2; exit 100"))
    assert (failure.kind, failure.error_class, failure.message) == (
        "fatal",
        "exit:100",
        "cannot parse",
    )


def test_exec_custom_fatal_codes() -> None:
    assert failure_of(exec_handler("exit 7", fatal={7, 8})).kind == "fatal"
    assert failure_of(exec_handler("exit 8", fatal={7, 8})).kind == "fatal"
    assert failure_of(exec_handler("exit 100", fatal={7, 8})).kind == "retryable"
    assert failure_of(exec_handler("exit 100", fatal=set())).kind == "retryable"


def test_exec_killed_by_signal_counts_as_128_plus_n() -> None:
    failure = failure_of(exec_handler("kill -9 $$"))
    assert failure.kind == "retryable"
    assert failure.error_class == "exit:137"
    assert failure.message == "exit code 137 (killed by SIGKILL)"


def test_exec_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "pgid"
    handler = exec_handler(f"echo $$ > {pidfile}; echo started >&2; sleep 30 & sleep 30", 0.5)
    started = time.monotonic()
    failure = failure_of(handler)
    elapsed = time.monotonic() - started
    assert failure.kind == "timeout"
    assert failure.error_class == "timeout"
    assert failure.message == "timed out after 0.5s"
    assert failure.trace is not None and "started" in failure.trace
    assert elapsed < 10
    pgid = int(pidfile.read_text())
    assert wait_group_gone(pgid), "a process of the command's group survived the timeout"


def test_exec_success_leaves_no_background_process(tmp_path: Path) -> None:
    pidfile = tmp_path / "pgid"
    started = time.monotonic()
    exec_handler(f"echo $$ > {pidfile}; sleep 30 & exit 0").handle(make_message())
    assert time.monotonic() - started < 10
    assert wait_group_gone(int(pidfile.read_text()))


def running(marker: str) -> list[str]:
    """Command lines of live processes holding `marker` (a unique `sleep` duration)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                raw = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
                # Other tests run commands with arguments that are not UTF-8.
                cmdline = raw.decode("utf-8", "replace")
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if marker in cmdline and state not in ("Z", "X"):
                found.append(cmdline)
    return found


def unique_sleep() -> str:
    return f"20.{os.getpid()}{time.monotonic_ns() % 100_000}"


@pytest.mark.parametrize("start", ["{s} &", "setsid {s} &", "(setsid sh -c '{s} & {s}' &);"])
def test_exec_background_children_holding_the_pipes_end_with_the_command(start: str) -> None:
    seconds = unique_sleep()
    handler = exec_handler(start.format(s=f"sleep {seconds}") + " cat >/dev/null; echo done >&2")
    started = time.monotonic()
    handler.handle(make_message())
    assert time.monotonic() - started < 2, "waited for a background child's end of stdout"
    assert running(seconds) == [], "a background child outlived its command"


def test_headers_too_large_for_the_environment_come_in_a_file(tmp_path: Path) -> None:
    out = tmp_path / "seen"
    headers = [(f"h{i}", b"x" * 1000) for i in range(200)]  # ~200 KB of JSON: over 128 KiB
    handler = exec_handler(
        f'printf "%s|%s|" "${{KAFKA_HEADERS-unset}}" "$KAFKA_HEADERS_FILE" > {out}; '
        f'cat "$KAFKA_HEADERS_FILE" >> {out}; printf "|%s" "$KAFKA_KEY" >> {out}'
    )
    handler.handle(make_message(headers=headers, key=b"k"))
    unset, path, body, key = out.read_text().split("|")
    assert unset == "unset" and path and key == "k"
    assert json.loads(body) == {name: value.decode() for name, value in headers}
    assert not Path(path).exists(), "the headers file outlived the command"


def test_a_key_too_large_comes_in_a_file_byte_exact(tmp_path: Path) -> None:
    out = tmp_path / "key"
    key = b"\0\xff" + os.urandom(200_000)
    handler = exec_handler(f'cat "$KAFKA_KEY_FILE" > {out}; test -z "${{KAFKA_KEY+set}}"')
    handler.handle(make_message(key=key))
    assert out.read_bytes() == key


def test_exec_timeout_does_not_block_on_unread_stdin() -> None:
    # The command never reads stdin and the value is larger than a pipe buffer.
    handler = exec_handler("sleep 30", 0.5)
    started = time.monotonic()
    failure = failure_of(handler, make_message(value=b"x" * (4 << 20)))
    assert failure.kind == "timeout"
    assert time.monotonic() - started < 10


def test_exec_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKACTL_TEST_INHERITED", "yes")
    out = tmp_path / "env.json"
    script = (
        "import json, os, sys; "
        "env = {k.decode(): v.hex() for k, v in os.environb.items()}; "
        "json.dump(env, open(sys.argv[1], 'w'))"
    )
    handler = exec_handler(f"{sys.executable} -c {shell_quote(script)} {out}")
    message = make_message(
        topic="orders.v1",
        partition=3,
        offset=12345,
        key=b"\xffkey\x01",
        timestamp=1_700_000_000_999,
        message_id="id-42",
        attempt=3,
        headers=[("a", b"1"), ("message-id", b"id-42"), ("a", b"2"), ("bin", b"\xff")],
    )
    handler.handle(message)
    env = {k: bytes.fromhex(v) for k, v in json.loads(out.read_text()).items()}
    assert env["KAFKA_TOPIC"] == b"orders.v1"
    assert env["KAFKA_PARTITION"] == b"3"
    assert env["KAFKA_OFFSET"] == b"12345"
    assert env["KAFKA_KEY"] == b"\xffkey\x01"  # byte-exact
    assert env["KAFKA_TIMESTAMP"] == b"1700000000999"
    assert env["KAFKA_MESSAGE_ID"] == b"id-42"
    assert env["KAFKA_ATTEMPT"] == b"3"
    assert json.loads(env["KAFKA_HEADERS"]) == {"a": "2", "message-id": "id-42", "bin": "\ufffd"}
    assert env["KAFKACTL_TEST_INHERITED"] == b"yes"


def test_exec_environment_without_key_and_headers(tmp_path: Path) -> None:
    out = tmp_path / "env"
    handler = exec_handler(f'printf "[%s][%s]" "$KAFKA_KEY" "$KAFKA_HEADERS" > {out}')
    handler.handle(make_message(key=None, headers=[]))
    assert out.read_text() == "[][{}]"


def test_exec_key_with_nul_does_not_break_the_call(tmp_path: Path) -> None:
    out = tmp_path / "key"
    exec_handler(f'printf "%s" "$KAFKA_KEY" > {out}').handle(make_message(key=b"a\0b"))
    assert out.read_bytes() == "a\ufffdb".encode()


@pytest.mark.parametrize(
    "value",
    [bytes(range(256)) * 4, b"", b"line1\nline2\n\n", os.urandom(1 << 20)],
    ids=["all-bytes", "empty", "newlines", "1MiB"],
)
def test_exec_value_arrives_on_stdin_byte_exact(tmp_path: Path, value: bytes) -> None:
    out = tmp_path / "stdin"
    exec_handler(f"cat > {out}").handle(make_message(value=value))
    assert out.read_bytes() == value


def test_exec_tombstone_is_empty_stdin(tmp_path: Path) -> None:
    out = tmp_path / "stdin"
    exec_handler(f"cat > {out}").handle(make_message(value=None))
    assert out.read_bytes() == b""


def test_exec_output_goes_to_the_output_fd_never_stdout(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with open(target, "wb") as sink:
        handler = exec_handler("echo to-stdout; echo to-stderr >&2", output_fd=sink.fileno())
        handler.handle(make_message())
    assert sorted(target.read_text().split()) == ["to-stderr", "to-stdout"]


def test_exec_default_output_is_our_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    exec_handler("echo to-stdout; echo to-stderr >&2").handle(make_message())
    captured = capfd.readouterr()
    assert captured.out == ""
    assert "to-stdout" in captured.err and "to-stderr" in captured.err


def test_exec_stderr_tail_is_bounded() -> None:
    command = (
        "i=0; while [ $i -lt 3000 ]; do echo 'noise noise noise noise noise' >&2; i=$((i+1)); "
        "done; echo 'the real reason' >&2; exit 5"
    )
    failure = failure_of(exec_handler(command, output_fd=None))
    assert failure.message == "the real reason"
    assert failure.trace is not None
    assert len(failure.trace.encode()) <= 4096
    assert failure.trace.rstrip().endswith("the real reason")


def test_exec_long_stderr_line_cut_to_1kib() -> None:
    failure = failure_of(exec_handler("printf '%03000d\\n' 0 >&2; exit 1", output_fd=None))
    assert len(failure.message.encode()) <= 1024


def test_exec_close_kills_running_commands() -> None:
    handler = exec_handler("sleep 30", timeout=60)
    errors: list[Failure] = []

    def run() -> None:
        try:
            handler.handle(make_message())
        except HandlerFailure as exc:
            errors.append(exc.failure)

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 5
    while not handler._active and time.monotonic() < deadline:
        time.sleep(0.01)
    handler.close()
    thread.join(10)
    assert not thread.is_alive()
    assert errors and errors[0].error_class == "exit:137"


def test_exec_runs_concurrently(tmp_path: Path) -> None:
    handler = exec_handler(f'cat > {tmp_path}/"$KAFKA_OFFSET"; sleep 0.3')
    threads = [
        threading.Thread(target=handler.handle, args=(make_message(offset=i, value=b"%d" % i),))
        for i in range(8)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert time.monotonic() - started < 2.0  # 8 x 0.3s in parallel, not in sequence
    for i in range(8):
        assert (tmp_path / str(i)).read_bytes() == b"%d" % i


@pytest.mark.parametrize("command", ["", "   "])
def test_exec_needs_a_command(command: str) -> None:
    with pytest.raises(UsageError, match="--exec needs a command"):
        ExecHandler(command, 1.0, {100})


def test_exec_timeout_must_be_positive() -> None:
    with pytest.raises(UsageError, match="--exec-timeout must be positive"):
        ExecHandler("true", 0, {100})


def shell_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"
