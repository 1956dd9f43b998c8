"""Handlers: exec runs real processes, python maps exceptions, print writes whole lines."""

from __future__ import annotations

import base64
import json
import os
import sys
import textwrap
import threading
import time
from pathlib import Path

import orjson
import pytest

from kafkactl.errors import UsageError
from kafkactl.handlers import (
    ExecHandler,
    NoopHandler,
    OutputClosed,
    PrintHandler,
    PythonHandler,
    build_handler,
    parse_exit_codes,
    tail,
)
from kafkactl.headers import Failure
from kafkactl.message import HandlerFailure, Message
from tests.fixtures import handlers_sample

SAMPLE = "tests.fixtures.handlers_sample"


def make_message(**overrides: object) -> Message:
    fields: dict[str, object] = {
        "topic": "orders",
        "partition": 2,
        "offset": 41,
        "key": b"k-1",
        "value": b'{"id": 1}',
        "headers": [("message-id", b"m-1")],
        "timestamp": 1_700_000_000_123,
        "timestamp_type": 0,
        "message_id": "m-1",
        "attempt": 1,
    }
    fields.update(overrides)
    return Message(**fields)  # type: ignore[arg-type]


def failure_of(handler: object, message: Message | None = None) -> Failure:
    with pytest.raises(HandlerFailure) as info:
        handler.handle(message or make_message())  # type: ignore[attr-defined]
    return info.value.failure


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


def test_exec_exit_zero_is_success() -> None:
    exec_handler("cat >/dev/null; exit 0").handle(make_message())


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


# --- python ------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _reset_sample() -> None:
    handlers_sample.CALLS.clear()
    handlers_sample.LOOPS.clear()


def test_python_sync_success() -> None:
    PythonHandler(f"{SAMPLE}:ok").handle(make_message(offset=7))
    assert handlers_sample.CALLS == [("orders", 7)]


def test_python_dotted_attribute() -> None:
    PythonHandler(f"{SAMPLE}:Handlers.nested").handle(make_message(offset=8))
    assert handlers_sample.CALLS == [("nested", 8)]


def test_python_async_reuses_one_loop_per_thread() -> None:
    handler = PythonHandler(f"{SAMPLE}:async_ok")
    handler.handle(make_message(offset=1))
    handler.handle(make_message(offset=2))
    other = threading.Thread(target=handler.handle, args=(make_message(offset=3),))
    other.start()
    other.join()
    assert handlers_sample.CALLS == [("orders", 1), ("orders", 2), ("orders", 3)]
    (t1, loop1), (t2, loop2), (t3, loop3) = handlers_sample.LOOPS
    assert t1 == t2 and loop1 == loop2  # same thread: the same loop
    assert t3 != t1 and loop3 != loop1  # another worker thread: its own loop
    loops = list(handler._loops)
    assert len(loops) == 2
    handler.close()
    assert all(loop.is_closed() for loop in loops)


def test_python_async_failure_is_retryable() -> None:
    failure = failure_of(PythonHandler(f"{SAMPLE}:async_fail"))
    assert (failure.kind, failure.error_class, failure.message) == (
        "retryable",
        "RuntimeError",
        "async boom",
    )


def test_python_fatal_error() -> None:
    failure = failure_of(PythonHandler(f"{SAMPLE}:fatal"), make_message(offset=9))
    assert failure.kind == "fatal"
    assert failure.error_class == "kafkactl.errors.FatalError"
    assert failure.message == "bad record at offset 9"
    assert failure.trace is not None
    assert "handlers_sample.py" in failure.trace and "FatalError" in failure.trace
    assert "kafkactl/handlers.py" not in failure.trace  # our own frame is left out


def test_python_value_error_is_retryable() -> None:
    failure = failure_of(PythonHandler(f"{SAMPLE}:value_error"))
    assert (failure.kind, failure.error_class, failure.message) == (
        "retryable",
        "ValueError",
        "not now",
    )
    assert failure.trace and failure.trace.rstrip().endswith("ValueError: not now")


def test_python_non_builtin_exception_is_qualified() -> None:
    failure = failure_of(PythonHandler(f"{SAMPLE}:custom_error"))
    assert failure.error_class == "tests.fixtures.handlers_sample.SampleError"
    assert failure.kind == "retryable"


def test_python_bad_json_is_decode() -> None:
    failure = failure_of(PythonHandler(f"{SAMPLE}:bad_json"), make_message(value=b"{not json"))
    assert failure.kind == "decode"
    assert failure.error_class == "orjson.JSONDecodeError"


def test_python_bad_utf8_is_decode() -> None:
    failure = failure_of(PythonHandler(f"{SAMPLE}:bad_text"), make_message(value=b"\xff\xfe"))
    assert failure.kind == "decode"
    assert failure.error_class == "UnicodeDecodeError"


def test_python_system_exit_does_not_escape() -> None:
    failure = failure_of(PythonHandler(f"{SAMPLE}:exits"))
    assert (failure.kind, failure.error_class) == ("retryable", "SystemExit")


def test_python_long_message_and_trace_are_cut(tmp_path: Path, monkeypatch) -> None:
    write_module(
        tmp_path,
        "kafkactl_t_long",
        """
        def deep(n):
            if n == 0:
                raise RuntimeError("x" * 5000)
            deep(n - 1)

        def handle(message):
            deep(60)
        """,
        monkeypatch,
    )
    failure = failure_of(PythonHandler("kafkactl_t_long:handle"))
    assert len(failure.message.encode()) <= 1024
    assert failure.trace is not None and len(failure.trace.encode()) <= 4096
    assert failure.trace.startswith("...")  # the tail is kept: the end names the error


def test_python_handler_failure_passes_through(tmp_path: Path, monkeypatch) -> None:
    write_module(
        tmp_path,
        "kafkactl_t_passthrough",
        """
        from kafkactl.headers import Failure
        from kafkactl.message import HandlerFailure

        def handle(message):
            raise HandlerFailure(Failure("timeout", "my.Timeout", "slow upstream"))
        """,
        monkeypatch,
    )
    failure = failure_of(PythonHandler("kafkactl_t_passthrough:handle"))
    assert failure == Failure("timeout", "my.Timeout", "slow upstream")


@pytest.mark.parametrize(
    "spec", ["nocolon", "a.b:", ":func", "a b:c", "a:b c", "a..b:c", "a:b..c", ""]
)
def test_python_bad_spec(spec: str) -> None:
    with pytest.raises(UsageError) as info:
        PythonHandler(spec)
    assert str(info.value) == (
        f"--handler {spec}: expected package.module:function, e.g. --handler app.handlers:process"
    )


def test_python_missing_module() -> None:
    with pytest.raises(UsageError) as info:
        PythonHandler("tests.fixtures.nope:fn")
    assert str(info.value) == (
        "--handler tests.fixtures.nope:fn: cannot import module 'tests.fixtures.nope' "
        "(No module named 'tests.fixtures.nope'); is it on PYTHONPATH?"
    )


def test_python_missing_top_level_package() -> None:
    with pytest.raises(UsageError) as info:
        PythonHandler("app_kafkactl_missing.handlers:process")
    assert str(info.value) == (
        "--handler app_kafkactl_missing.handlers:process: cannot import module "
        "'app_kafkactl_missing.handlers' (No module named 'app_kafkactl_missing'); "
        "is it on PYTHONPATH?"
    )


def test_python_module_with_missing_dependency(tmp_path: Path, monkeypatch) -> None:
    write_module(tmp_path, "kafkactl_t_dep", "import kafkactl_missing_dependency\n", monkeypatch)
    with pytest.raises(UsageError, match="is that dependency installed"):
        PythonHandler("kafkactl_t_dep:fn")


def test_python_module_that_fails_to_import(tmp_path: Path, monkeypatch) -> None:
    write_module(tmp_path, "kafkactl_t_broken", "raise RuntimeError('no config')\n", monkeypatch)
    with pytest.raises(UsageError) as info:
        PythonHandler("kafkactl_t_broken:fn")
    assert str(info.value) == (
        "--handler kafkactl_t_broken:fn: importing module 'kafkactl_t_broken' failed "
        "(RuntimeError: no config); fix the module"
    )


def test_python_missing_attribute() -> None:
    with pytest.raises(UsageError) as info:
        PythonHandler(f"{SAMPLE}:missing")
    assert str(info.value) == (
        f"--handler {SAMPLE}:missing: '{SAMPLE}' has no attribute 'missing'; "
        "check the function name"
    )


def test_python_not_callable() -> None:
    with pytest.raises(UsageError) as info:
        PythonHandler(f"{SAMPLE}:NOT_CALLABLE")
    assert str(info.value) == (
        f"--handler {SAMPLE}:NOT_CALLABLE: 'NOT_CALLABLE' in module '{SAMPLE}' is a int, "
        "not a function; name a callable taking a Message"
    )


def test_python_imports_from_the_working_directory(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "kafkactl_t_cwd.py").write_text("SEEN = []\ndef handle(m):\n    SEEN.append(m)\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    monkeypatch.delitem(sys.modules, "kafkactl_t_cwd", raising=False)
    handler = PythonHandler("kafkactl_t_cwd:handle")
    handler.handle(make_message())
    assert str(tmp_path) in sys.path
    assert len(sys.modules["kafkactl_t_cwd"].SEEN) == 1


def write_module(tmp_path: Path, name: str, source: str, monkeypatch) -> None:
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)


# --- print -------------------------------------------------------------------------------------


class ChunkyStream:
    """A binary stream whose writes land a few bytes at a time, yielding between them."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.flushes = 0

    def write(self, data: bytes) -> int:
        for i in range(0, len(data), 7):
            self.data += data[i : i + 7]
            time.sleep(0)
        return len(data)

    def flush(self) -> None:
        self.flushes += 1


def fake_encoder(message: Message) -> bytes:
    return orjson.dumps({"offset": message.offset, "payload": (message.value or b"").decode()})


def test_print_lines_never_interleave() -> None:
    stream = ChunkyStream()
    handler = PrintHandler(stream, encoder=fake_encoder)  # type: ignore[arg-type]
    per_thread, threads = 50, 16

    def work(t: int) -> None:
        for i in range(per_thread):
            offset = t * per_thread + i
            handler.handle(make_message(offset=offset, value=b"v" * (50 + offset % 80)))

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    lines = bytes(stream.data).split(b"\n")
    assert lines[-1] == b""
    records = [orjson.loads(line) for line in lines[:-1]]
    assert sorted(r["offset"] for r in records) == list(range(per_thread * threads))
    assert all(r["payload"] == "v" * (50 + r["offset"] % 80) for r in records)
    assert stream.flushes == 0, "lines are buffered; the consumer flushes before committing"
    handler.flush()
    assert stream.flushes == 1


def test_print_keeps_an_encoder_newline() -> None:
    stream = ChunkyStream()
    handler = PrintHandler(stream, encoder=lambda m: b"{}\n")  # type: ignore[arg-type]
    handler.handle(make_message())
    assert bytes(stream.data) == b"{}\n"


def test_print_broken_pipe_raises_output_closed() -> None:
    read_fd, write_fd = os.pipe()
    os.close(read_fd)
    stream = open(write_fd, "wb", buffering=0)  # noqa: SIM115
    try:
        handler = PrintHandler(stream, encoder=fake_encoder)
        with pytest.raises(OutputClosed):
            handler.handle(make_message())
        with pytest.raises(OutputClosed):  # and stays closed
            handler.handle(make_message())
        handler.close()  # quiet
    finally:
        stream.close()


def test_print_closed_stream_raises_output_closed() -> None:
    read_fd, write_fd = os.pipe()
    os.close(read_fd)
    stream = open(write_fd, "wb")  # noqa: SIM115
    stream.close()
    with pytest.raises(OutputClosed):
        PrintHandler(stream, encoder=fake_encoder).handle(make_message())


def test_output_closed_is_not_a_handler_failure() -> None:
    assert not issubclass(OutputClosed, HandlerFailure)


def encode_with_formats(message: Message) -> dict:
    pytest.importorskip("kafkactl.formats")
    stream = ChunkyStream()
    PrintHandler(stream).handle(message)  # type: ignore[arg-type]
    data = bytes(stream.data)
    assert data.endswith(b"\n") and data.count(b"\n") == 1
    return orjson.loads(data)


def test_print_envelope_shape() -> None:
    envelope = encode_with_formats(
        make_message(headers=[("message-id", b"m-1"), ("trace", b"abc")])
    )
    assert envelope["topic"] == "orders"
    assert envelope["partition"] == 2
    assert envelope["offset"] == 41
    assert envelope["ts"] == 1_700_000_000_123
    assert "tstype" in envelope
    assert envelope["key"] == "k-1"
    assert envelope["payload"] == '{"id": 1}'
    assert envelope["headers"] == ["message-id", "m-1", "trace", "abc"]
    assert "payload_encoding" not in envelope and "key_encoding" not in envelope


def test_print_envelope_binary_is_base64() -> None:
    value, key = bytes(range(256)), b"\xff\x00"
    envelope = encode_with_formats(make_message(key=key, value=value))
    assert envelope["payload_encoding"] == "base64"
    assert base64.b64decode(envelope["payload"]) == value
    assert envelope["key_encoding"] == "base64"
    assert base64.b64decode(envelope["key"]) == key


def test_print_envelope_null_key_and_tombstone() -> None:
    envelope = encode_with_formats(make_message(key=None, value=None))
    assert envelope["key"] is None
    assert envelope["payload"] is None


# --- noop, build_handler, parse_exit_codes ---------------------------------------------------


def test_noop() -> None:
    handler = NoopHandler()
    handler.handle(make_message())
    handler.close()


def test_build_handler_rejects_both() -> None:
    with pytest.raises(UsageError, match="--exec and --handler cannot be combined"):
        build_handler("true", f"{SAMPLE}:ok", 30.0, {100})


def test_build_handler_choices() -> None:
    handler = build_handler("true", None, 5.0, {7})
    assert isinstance(handler, ExecHandler)
    assert (handler.timeout_s, handler.fatal_exit_codes) == (5.0, frozenset({7}))
    assert isinstance(build_handler(None, f"{SAMPLE}:ok", 30.0, {100}), PythonHandler)


def test_build_handler_default_prints() -> None:
    pytest.importorskip("kafkactl.formats")
    stream = ChunkyStream()
    handler = build_handler(None, None, 30.0, {100}, stream=stream)  # type: ignore[arg-type]
    assert isinstance(handler, PrintHandler)


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("100", {100}),
        ("100,101", {100, 101}),
        (" 7 , 8 ", {7, 8}),
        ("", set()),
        ("255,1", {1, 255}),
    ],
)
def test_parse_exit_codes(text: str, codes: set[int]) -> None:
    assert parse_exit_codes(text) == codes


@pytest.mark.parametrize("text", ["abc", "0", "256", "-1", "100,", "1,,2", "1.5", "100;101"])
def test_parse_exit_codes_rejects(text: str) -> None:
    with pytest.raises(UsageError, match="--fatal-exit-codes must be"):
        parse_exit_codes(text)


def test_tail_keeps_the_end_within_the_limit() -> None:
    assert tail("short", 10) == "short"
    cut = tail("é" * 3000, 4096)
    assert len(cut.encode()) <= 4096 and cut.startswith("...") and cut.endswith("é")


class _CustomBase(BaseException):
    """A BaseException of a user's own."""


@pytest.mark.parametrize(
    "raised", [KeyboardInterrupt, SystemExit, GeneratorExit, _CustomBase], ids=lambda c: c.__name__
)
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_python_any_base_exception_is_a_retryable_failure(
    raised: type[BaseException], is_async: bool
) -> None:
    def sync(message: Message) -> None:
        raise raised("from the handler")

    async def coro(message: Message) -> None:
        raise raised("from the handler")

    handler = PythonHandler(f"{SAMPLE}:exits")
    handler.function = coro if is_async else sync
    failure = failure_of(handler)
    name = raised.__qualname__ if raised is not _CustomBase else f"{__name__}._CustomBase"
    assert (failure.kind, failure.error_class) == ("retryable", name)
    if is_async:
        handler.function = sync if raised is GeneratorExit else coro
        assert failure_of(handler).kind == "retryable"  # the thread's loop still works
    handler.close()


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ("import sys\nsys.exit(7)\n", "exit(7)"),
        ("raise SystemExit('bye')\n", "exit('bye')"),
        ("raise GeneratorExit('odd')\n", "GeneratorExit: odd"),
        ("class Boom(BaseException):\n    pass\nraise Boom('x')\n", ".Boom: x"),
    ],
    ids=["sys-exit-7", "system-exit-text", "generator-exit", "custom-base"],
)
def test_python_module_that_exits_or_raises_anything_at_import(
    tmp_path: Path, monkeypatch, body: str, said: str
) -> None:
    name = f"kafkactl_t_import_{abs(hash(body)) % 10_000}"
    write_module(tmp_path, name, body, monkeypatch)
    with pytest.raises(UsageError) as info:
        PythonHandler(f"{name}:fn")
    text = str(info.value)
    assert f"importing module '{name}' failed" in text and said in text
    assert "\n" not in text


def test_python_handler_spec_that_is_not_utf8() -> None:
    with pytest.raises(UsageError, match="not valid UTF-8"):
        PythonHandler("m\udcff:f")
