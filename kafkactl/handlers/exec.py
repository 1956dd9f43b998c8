"""`--exec CMD` (SPEC §7): a shell command per message, the value on its stdin.

Decisions:

- The command runs through `/bin/sh -c` in a new session (its own process group), so a Ctrl-C
  on the terminal reaches kafkactl, which drains in-flight work, and not the commands. On a
  timeout the whole process group is killed with SIGKILL; when the shell exits (success or
  not), anything it left running in its group is killed too, so nothing started for one message
  outlives it. The shell itself is always reaped (no zombie of ours); grandchildren re-parented
  by the kernel are reaped by init.
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
import signal
import subprocess
import threading

import orjson

from kafkactl.errors import UsageError
from kafkactl.handlers.base import DEFAULT_FATAL_EXIT_CODES, class_name, tail
from kafkactl.headers import (
    MAX_MESSAGE_BYTES,
    MAX_TRACE_BYTES,
    Failure,
    FailureKind,
    truncate,
)
from kafkactl.message import HandlerFailure, Message
from kafkactl.print_formats import key_bytes, value_bytes
from kafkactl.tracing import tracer

SHELL = "/bin/sh"


class _TailPump(threading.Thread):
    """Reads a pipe to EOF, forwarding it to an fd and keeping its last bytes."""

    def __init__(self, fd: int, forward_fd: int | None, keep: int = MAX_TRACE_BYTES) -> None:
        super().__init__(name="kafkactl-exec-stderr", daemon=True)
        self._fd = fd
        self._forward_fd = forward_fd
        self._keep = keep
        self._buffer = bytearray()

    def run(self) -> None:
        """Pump until EOF, then close the read end."""
        try:
            while chunk := os.read(self._fd, 65536):
                if self._forward_fd is not None:
                    with contextlib.suppress(OSError):
                        os.write(self._forward_fd, chunk)
                self._buffer += chunk
                if len(self._buffer) > 2 * self._keep:
                    del self._buffer[: len(self._buffer) - self._keep]
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                os.close(self._fd)

    def text(self) -> str:
        """The kept tail as text (invalid UTF-8 replaced)."""
        return bytes(self._buffer[-self._keep :]).decode("utf-8", "replace")


def _kill_group(pgid: int) -> bool:
    """SIGKILL every process of a group; False if the group was already gone."""
    try:
        os.killpg(pgid, signal.SIGKILL)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _env_bytes(text: str) -> bytes:
    """Text as an environment value (NUL cannot be passed: replaced)."""
    return text.encode("utf-8", "surrogateescape").replace(b"\0", b"\xef\xbf\xbd")


class ExecHandler:
    """Runs a shell command per message (SPEC §7); see the module docstring for the decisions.

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
        self._active: set[int] = set()
        self._lock = threading.Lock()

    def environment(self, message: Message) -> dict[bytes, bytes]:
        """The inherited environment plus the KAFKA_* variables of one message."""
        headers: dict[str, str] = {}
        for name, value in message.headers:
            headers[name] = (value or b"").decode("utf-8", "replace")
        raw_key = key_bytes(message) if self._decoded else message.key
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

    def handle(self, message: Message) -> None:
        """Run the command once; raise HandlerFailure unless it exits 0 within the timeout."""
        self._run(message, capture=False)

    def output(self, message: Message) -> bytes:
        """Run the command once and return its stdout (replay's `--transform`); raise
        HandlerFailure unless it exits 0 within the timeout."""
        return self._run(message, capture=True)

    def _run(self, message: Message, capture: bool) -> bytes:
        read_fd, write_fd = os.pipe()
        if capture:
            stdout: int | None = subprocess.PIPE
        else:
            stdout = self._output_fd if self._output_fd is not None else subprocess.DEVNULL
        try:
            proc = subprocess.Popen(
                [SHELL, "-c", self.command],
                stdin=subprocess.PIPE,
                stdout=stdout,
                stderr=write_fd,
                env=self.environment(message),
                start_new_session=True,
                close_fds=True,
            )
        except (OSError, ValueError) as exc:
            os.close(read_fd)
            os.close(write_fd)
            name = class_name(type(exc))
            raise HandlerFailure(
                Failure("retryable", name, truncate(f"cannot start {SHELL}: {exc}", 1024))
            ) from None
        os.close(write_fd)
        pump = _TailPump(read_fd, self._output_fd)
        pump.start()
        pgid = proc.pid  # start_new_session: the shell leads its own group
        with self._lock:
            self._active.add(pgid)
        timed_out = False
        out = b""
        try:
            try:
                stdin = value_bytes(message) if self._decoded else message.value
                out, _ = proc.communicate(stdin or b"", timeout=self.timeout_s)
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                # Kill before reaping while the group is surely ours; also ends leftovers of a
                # shell that already exited (background jobs), and the command on any exception.
                if timed_out or proc.poll() is None:
                    _kill_group(pgid)
                with contextlib.suppress(OSError):
                    if proc.stdin:
                        proc.stdin.close()
                with contextlib.suppress(OSError):
                    if proc.stdout:
                        proc.stdout.close()
                proc.wait()
                _kill_group(pgid)
        finally:
            with self._lock:
                self._active.discard(pgid)
            pump.join(timeout=2.0)
        code = proc.returncode
        if code < 0:
            code = 128 - code
        stderr = pump.text()
        trace = tail(stderr, MAX_TRACE_BYTES) if stderr.strip() else None
        if timed_out:
            message_text = f"timed out after {self.timeout_s:g}s"
            raise HandlerFailure(Failure("timeout", "timeout", message_text, trace))
        if code == 0:
            return out or b""
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
            _kill_group(pgid)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
