"""`--exec CMD` (DESIGN §6.6): a shell command per message, the value on its stdin.

Decisions:

- The command runs through `/bin/sh -c` in a new session (its own process group), so a Ctrl-C
  on the terminal reaches kafkactl, which drains in-flight work, and not the commands. Its end
  is its own exit (a background child holding its stdout does not keep it "running"). On a
  timeout the whole process group is killed with SIGKILL; when the shell exits (success or
  not), anything it left running is killed too, `setsid` children included, so nothing started
  for one message outlives it (handlers/process.py says how, and the one way out).
- KAFKA_HEADERS or KAFKA_KEY over 64 KiB (or an environment over half of ARG_MAX) would make
  the exec fail with E2BIG: such a value is written to a private temporary file instead, named
  by KAFKA_HEADERS_FILE / KAFKA_KEY_FILE (the key's bytes as they are), and the variable itself
  is unset; the file is deleted when the command ends.
- The value is written to the command's stdin (a tombstone is an empty stdin).
- `output()` (replay's `--transform`) captures the command's stdout instead of forwarding it.
- The command's stdout goes to kafkactl's stderr, never to kafkactl's stdout: stdout stays a
  clean data stream for a pipe, and what the command prints is still visible. Its stderr is
  forwarded to kafkactl's stderr as well, and its last 4 KiB are kept: the last non-empty line
  becomes the failure message (cut to 1 KiB) and the tail the failure trace.
- A command killed by a signal counts as exit code 128+N, as a shell reports it.
- The trace context goes in TRACEPARENT / TRACESTATE (OpenTelemetry's environment carrier):
  the attempt's `process` span when spans are on, else the record's own headers; never one
  kafkactl itself inherited.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import tempfile
import threading

import orjson

from kafkactl.errors import UsageError
from kafkactl.handlers.base import DEFAULT_FATAL_EXIT_CODES, HandlerBase, class_name, tail
from kafkactl.handlers.process import (
    RUN_VAR,
    become_subreaper,
    drain,
    end_leftovers,
    exchange,
    kill_group,
)
from kafkactl.headers import (
    MAX_MESSAGE_BYTES,
    MAX_TRACE_BYTES,
    Failure,
    FailureKind,
    name_text,
    truncate,
)
from kafkactl.message import HandlerFailure, Message
from kafkactl.print_formats import key_bytes, value_bytes
from kafkactl.tracing import tracer

SHELL = "/bin/sh"
# Linux refuses an exec (E2BIG, "Argument list too long") when one environment string passes
# MAX_ARG_STRLEN (128 KiB) or all of argv and the environment pass ARG_MAX (2 MiB with the
# default 8 MiB stack). Half of each leaves room for what the command's shell adds.
ENV_VALUE_LIMIT = 64 * 1024
ENV_BUDGET = max(64 * 1024, os.sysconf("SC_ARG_MAX") // 2 if hasattr(os, "sysconf") else 0)
FILE_VARIABLES = (
    (b"KAFKA_HEADERS", b"KAFKA_HEADERS_FILE", ".headers.json"),
    (b"KAFKA_KEY", b"KAFKA_KEY_FILE", ".key"),
)


class _Tail:
    """Keeps the last bytes of a stream, forwarding each chunk to an fd as it comes."""

    def __init__(self, forward_fd: int | None, keep: int = MAX_TRACE_BYTES) -> None:
        self._forward_fd = forward_fd
        self._keep = keep
        self._buffer = bytearray()

    def add(self, chunk: bytes) -> None:
        """Forward one chunk and keep it (the oldest bytes beyond twice `keep` are dropped)."""
        if self._forward_fd is not None:
            with contextlib.suppress(OSError):
                os.write(self._forward_fd, chunk)
        self._buffer += chunk
        if len(self._buffer) > 2 * self._keep:
            del self._buffer[: len(self._buffer) - self._keep]

    def text(self) -> str:
        """The kept tail as text (invalid UTF-8 replaced)."""
        return bytes(self._buffer[-self._keep :]).decode("utf-8", "replace")


def fit_environment(
    env: dict[bytes, bytes], raw_key: bytes
) -> tuple[dict[bytes, bytes], list[str]]:
    """`env` with KAFKA_HEADERS, then KAFKA_KEY, moved to a file when too large for an exec
    (see the module docstring); returns it and the files to delete after the command."""
    files: list[str] = []
    for name, file_name, suffix in FILE_VARIABLES:
        value = env.get(name)
        if value is None or (len(value) <= ENV_VALUE_LIMIT and _env_size(env) <= ENV_BUDGET):
            continue
        try:
            fd, path = tempfile.mkstemp(prefix="kafkactl-", suffix=suffix)
            with os.fdopen(fd, "wb") as file:
                file.write(raw_key if name == b"KAFKA_KEY" else value)
        except OSError as exc:
            for done in files:
                with contextlib.suppress(OSError):
                    os.unlink(done)
            what = f"cannot write {os.fsdecode(file_name)} for the command: {exc}"
            raise HandlerFailure(Failure("retryable", class_name(type(exc)), what)) from None
        files.append(path)
        del env[name]
        env[file_name] = os.fsencode(path)
    return env, files


def _env_size(env: dict[bytes, bytes]) -> int:
    """Bytes an exec needs for this environment: each `NAME=value\\0` and its pointer."""
    return sum(len(k) + len(v) + 2 + 8 for k, v in env.items())


def _env_bytes(text: str) -> bytes:
    """Text as an environment value (NUL cannot be passed: replaced)."""
    return text.encode("utf-8", "surrogateescape").replace(b"\0", b"\xef\xbf\xbd")


class ExecHandler(HandlerBase):
    """Runs a shell command per message (DESIGN §6.6); see the module docstring for the decisions.

    `output_fd` is where the command's stdout and stderr are forwarded (default 2, kafkactl's
    stderr; None discards them, the stderr tail is kept either way).
    """

    def __init__(
        self,
        command: str,
        timeout_s: float = 30.0,
        fatal_exit_codes: set[int] | frozenset[int] = DEFAULT_FATAL_EXIT_CODES,
        *,
        output_fd: int | None = 2,
        decoded_stdin: bool = False,
    ) -> None:
        if not command or not command.strip():
            raise UsageError("--exec needs a command, e.g. --exec './process.sh'")
        if timeout_s <= 0:
            raise UsageError(f"--exec-timeout must be positive, got {timeout_s:g}s")
        self.command = command
        self.timeout_s = timeout_s
        self.fatal_exit_codes = frozenset(fatal_exit_codes)
        self._output_fd = output_fd
        # --decode json: a value (and key) decoded from the registry's wire format reaches the
        # command as its JSON document (stdin, KAFKA_KEY) instead of its bytes.
        self._decoded = decoded_stdin
        self._base_env = {
            k: v for k, v in os.environb.items() if k not in (b"TRACEPARENT", b"TRACESTATE")
        }
        self._tracer = tracer()
        become_subreaper()
        self._active: set[int] = set()
        self._lock = threading.Lock()

    def environment(self, message: Message) -> dict[bytes, bytes]:
        """The inherited environment plus the KAFKA_* variables of one message."""
        headers: dict[str, str] = {}
        for name, value in message.headers:
            headers[name_text(name)] = (value or b"").decode("utf-8", "replace")
        raw_key = self._key(message)
        key = b"" if raw_key is None else raw_key.replace(b"\0", b"\xef\xbf\xbd")
        trace: dict[bytes, bytes] = {}
        current = self._tracer.current() if self._tracer.enabled else None
        parent = current.traceparent if current else message.traceparent
        state = current.tracestate if current else message.tracestate
        if parent:
            trace[b"TRACEPARENT"] = _env_bytes(parent)
            if state:
                trace[b"TRACESTATE"] = _env_bytes(state)
        return {
            **self._base_env,
            b"KAFKA_TOPIC": _env_bytes(message.topic),
            b"KAFKA_PARTITION": str(message.partition).encode(),
            b"KAFKA_OFFSET": str(message.offset).encode(),
            b"KAFKA_KEY": key,
            b"KAFKA_TIMESTAMP": str(message.timestamp).encode(),
            b"KAFKA_MESSAGE_ID": _env_bytes(message.message_id or ""),
            b"KAFKA_ATTEMPT": str(message.attempt).encode(),
            b"KAFKA_HEADERS": orjson.dumps(headers),
            **trace,
        }

    def _key(self, message: Message) -> bytes | None:
        return key_bytes(message) if self._decoded else message.key

    def handle(self, message: Message) -> None:
        """Run the command once; raise HandlerFailure unless it exits 0 within the timeout."""
        self._run(message, capture=False)

    def output(self, message: Message) -> bytes:
        """Run the command once and return its stdout (replay's `--transform`); raise
        HandlerFailure unless it exits 0 within the timeout."""
        return self._run(message, capture=True)

    def _run(self, message: Message, capture: bool) -> bytes:
        env, files = fit_environment(self.environment(message), self._key(message) or b"")
        try:
            return self._execute(message, env, capture)
        finally:
            for path in files:
                with contextlib.suppress(OSError):
                    os.unlink(path)

    def _execute(self, message: Message, env: dict[bytes, bytes], capture: bool) -> bytes:
        token = secrets.token_hex(8).encode()
        env[RUN_VAR] = token
        if capture:
            stdout: int | None = subprocess.PIPE
        else:
            stdout = self._output_fd if self._output_fd is not None else subprocess.DEVNULL
        try:
            proc = subprocess.Popen(
                [SHELL, "-c", self.command],
                stdin=subprocess.PIPE,
                stdout=stdout,
                stderr=subprocess.PIPE,
                env=env,
                start_new_session=True,
                close_fds=True,
            )
        except (OSError, ValueError) as exc:
            name = class_name(type(exc))
            raise HandlerFailure(
                Failure("retryable", name, truncate(f"cannot start {SHELL}: {exc}", 1024))
            ) from None
        errors = _Tail(self._output_fd)
        out = bytearray()
        pgid = proc.pid  # start_new_session: the shell leads its own group and session
        with self._lock:
            self._active.add(pgid)
        exited = False
        try:
            stdin = value_bytes(message) if self._decoded else message.value
            exited = exchange(proc, stdin or b"", self.timeout_s, out.extend, errors.add)
        finally:
            # Kill before reaping while the group is surely ours: background jobs of a command
            # that exited, the command itself on a timeout or any exception.
            kill_group(pgid)
            drain(proc, out.extend, errors.add)
            proc.wait()
            with self._lock:
                self._active.discard(pgid)
            end_leftovers(pgid, token)
        code = proc.returncode
        if code < 0:
            code = 128 - code
        stderr = errors.text()
        trace = tail(stderr, MAX_TRACE_BYTES) if stderr.strip() else None
        if not exited:
            message_text = f"timed out after {self.timeout_s:g}s"
            raise HandlerFailure(Failure("timeout", "timeout", message_text, trace))
        if code == 0:
            return bytes(out)
        last = next((ln.strip() for ln in reversed(stderr.splitlines()) if ln.strip()), "")
        if not last:
            last = f"exit code {code}"
            if proc.returncode < 0:
                last += f" (killed by {_signal_name(-proc.returncode)})"
        kind: FailureKind = "fatal" if code in self.fatal_exit_codes else "retryable"
        raise HandlerFailure(
            Failure(kind, f"exit:{code}", truncate(last, MAX_MESSAGE_BYTES), trace)
        )

    def close(self) -> None:
        """Kill the process groups of commands still running (a forced shutdown)."""
        with self._lock:
            active = list(self._active)
        for pgid in active:
            kill_group(pgid)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
