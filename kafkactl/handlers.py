"""What `consume` does with each message (SPEC §7): print, exec, a Python callable, or nothing.

The contract, shared by every handler: `handle(message)` returns on success and raises on
failure; `close()` releases what the handler holds. Handlers are called from many worker
threads at once and are thread-safe.

Exceptions a handler raises, and what the consumer should do with them:

- `HandlerFailure` (kafkactl.message): the message failed; `.failure` is a fully described
  `Failure` (kind `retryable`, `fatal`, `timeout` or `decode`; class; message; trace) ready for
  the retry/DLQ headers of SPEC §8. `ExecHandler` and `PythonHandler` raise only this.
- `OutputClosed` (kafkactl.errors): stdout is gone (the reader of the pipe exited, as in
  `kafkactl consume t | head -n 5`). It is not a failure of the message: the message is NOT
  complete, so its offset must not be committed; the consumer should stop as on a shutdown
  signal and exit 0 quietly. `PrintHandler` raises only this.

`ExecHandler` decisions:

- The command runs through `/bin/sh -c` in a new session (its own process group), so a Ctrl-C
  on the terminal reaches kafkactl, which drains in-flight work, and not the commands. On a
  timeout the whole process group is killed with SIGKILL; when the shell exits (success or
  not), anything it left running in its group is killed too, so nothing started for one message
  outlives it. The shell itself is always reaped (no zombie of ours); grandchildren re-parented
  by the kernel are reaped by init.
- The value is written to the command's stdin (a tombstone is an empty stdin).
- The command's stdout goes to kafkactl's stderr, never to kafkactl's stdout: stdout stays a
  clean data stream for a pipe, and what the command prints is still visible. Its stderr is
  forwarded to kafkactl's stderr as well, and its last 4 KiB are kept: the last non-empty line
  becomes the failure message (cut to 1 KiB) and the tail the failure trace.
- A command killed by a signal counts as exit code 128+N, as a shell reports it.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import inspect
import json
import os
import signal
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any, BinaryIO, Protocol, runtime_checkable

import orjson

from kafkactl.errors import FatalError, OutputClosed, UsageError
from kafkactl.headers import MAX_MESSAGE_BYTES, MAX_TRACE_BYTES, Failure, truncate
from kafkactl.message import HandlerFailure, Message
from kafkactl.print_formats import PrintFormat

__all__ = [
    "ExecHandler",
    "Handler",
    "HandlerFailure",
    "NoopHandler",
    "OutputClosed",
    "PrintHandler",
    "PythonHandler",
    "build_handler",
    "parse_exit_codes",
]

DEFAULT_FATAL_EXIT_CODES = frozenset({100})
SHELL = "/bin/sh"


@runtime_checkable
class Handler(Protocol):
    """Handles one message: returns on success, raises (HandlerFailure, OutputClosed) otherwise."""

    def handle(self, message: Message) -> None:
        """Handle one message; called concurrently from worker threads."""
        ...

    def close(self) -> None:
        """Release resources; called once, after the last handle() returned."""
        ...


def tail(text: str, limit: int) -> str:
    """The end of `text` cut to at most `limit` UTF-8 bytes, never inside a character."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return "..." + data[len(data) - (limit - 3) :].decode("utf-8", "ignore")


# --- print -------------------------------------------------------------------------------------


def _envelope_encoder() -> Callable[[Message], bytes]:
    """The envelope encoder of kafkactl.formats (imported lazily) bound to a Message."""
    from kafkactl import formats

    encode = formats.encode_envelope

    def encoder(message: Message) -> bytes:
        return encode(
            message.topic,
            message.partition,
            message.offset,
            message.timestamp,
            message.timestamp_type,
            message.key,
            message.value,
            message.headers,
        )

    return encoder


def _buffered_stdout() -> BinaryIO:
    """Standard output with a 64 KiB buffer of its own, whatever Python's settings.

    Under PYTHONUNBUFFERED=1 (common in containers) sys.stdout.buffer writes every line with
    its own system call, which costs more than everything else per record. Lines are flushed
    before each offset commit and at close, so buffering loses nothing.
    """
    try:
        sys.stdout.flush()
        return open(sys.stdout.fileno(), "wb", buffering=64 * 1024, closefd=False)
    except (AttributeError, OSError, ValueError):  # no real stdout (embedded, tests)
        return sys.stdout.buffer


class PrintHandler:
    """Writes each message as one envelope JSON line (SPEC §7) to a binary stream; never fails.

    Lines are buffered; the consumer calls flush() before every offset commit, so a committed
    offset always has its line written to the OS. Raises OutputClosed once the reader is gone.
    `inline` tells the consumer to run it on the poll thread: it cannot fail, so a worker pool
    would only add hand-offs.
    """

    inline = True

    def __init__(
        self,
        stream: BinaryIO | None = None,
        *,
        encoder: Callable[[Message], bytes] | None = None,
        exact: bool = False,
    ) -> None:
        self._stream = stream if stream is not None else _buffered_stdout()
        self._encode = encoder or _envelope_encoder()
        self._exact = exact  # a template writes exactly its bytes: no newline added
        self._lock = threading.Lock()
        self._closed = False

    def handle(self, message: Message) -> None:
        """Encode outside the lock, then write the whole line under it."""
        line = self._encode(message)
        if not self._exact and not line.endswith(b"\n"):
            line += b"\n"
        with self._lock:
            if self._closed:
                raise OutputClosed("output closed")
            self._guarded(self._stream.write, line)

    def flush(self) -> None:
        """Push buffered lines to the OS (called before offsets are committed)."""
        with self._lock:
            if self._closed:
                raise OutputClosed("output closed")
            self._guarded(self._stream.flush)

    def _guarded(self, call: Callable[..., Any], *args: Any) -> None:
        try:
            call(*args)
        except (BrokenPipeError, ValueError) as exc:
            # ValueError: "I/O operation on closed file".
            self._closed = True
            self._silence()
            raise OutputClosed(f"output closed ({exc})") from None

    def _silence(self) -> None:
        """Point the dead stream's fd at /dev/null so the flush at interpreter exit is quiet."""
        try:
            fd = self._stream.fileno()
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, fd)
            finally:
                os.close(devnull)
        except (OSError, ValueError, AttributeError):
            pass

    def close(self) -> None:
        """Flush what is buffered (quietly if the reader is gone)."""
        with self._lock:
            if self._closed:
                return
            with contextlib.suppress(BrokenPipeError, ValueError):
                self._stream.flush()


# --- noop --------------------------------------------------------------------------------------


class NoopHandler:
    """Does nothing and always succeeds (benchmarks: the cost of the pipeline alone)."""

    def handle(self, message: Message) -> None:
        """Succeed."""

    def close(self) -> None:
        """Nothing to release."""


# --- exec --------------------------------------------------------------------------------------


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
    ) -> None:
        if not command or not command.strip():
            raise UsageError("--exec needs a command, e.g. --exec './process.sh'")
        if timeout_s <= 0:
            raise UsageError(f"--exec-timeout must be positive, got {timeout_s:g}s")
        self.command = command
        self.timeout_s = timeout_s
        self.fatal_exit_codes = frozenset(fatal_exit_codes)
        self._output_fd = output_fd
        self._base_env = dict(os.environb)
        self._active: set[int] = set()
        self._lock = threading.Lock()

    def environment(self, message: Message) -> dict[bytes, bytes]:
        """The inherited environment plus the KAFKA_* variables of one message."""
        headers: dict[str, str] = {}
        for name, value in message.headers:
            headers[name] = (value or b"").decode("utf-8", "replace")
        key = b"" if message.key is None else message.key.replace(b"\0", b"\xef\xbf\xbd")
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
        }

    def handle(self, message: Message) -> None:
        """Run the command once; raise HandlerFailure unless it exits 0 within the timeout."""
        read_fd, write_fd = os.pipe()
        try:
            proc = subprocess.Popen(
                [SHELL, "-c", self.command],
                stdin=subprocess.PIPE,
                stdout=self._output_fd if self._output_fd is not None else subprocess.DEVNULL,
                stderr=write_fd,
                env=self.environment(message),
                start_new_session=True,
                close_fds=True,
            )
        except (OSError, ValueError) as exc:
            os.close(read_fd)
            os.close(write_fd)
            name = _class_name(type(exc))
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
        try:
            try:
                proc.communicate(message.value or b"", timeout=self.timeout_s)
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
            return
        last = next((ln.strip() for ln in reversed(stderr.splitlines()) if ln.strip()), "")
        if not last:
            last = f"exit code {code}"
            if proc.returncode < 0:
                last += f" (killed by {_signal_name(-proc.returncode)})"
        kind = "fatal" if code in self.fatal_exit_codes else "retryable"
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


# --- python ------------------------------------------------------------------------------------


def _class_name(cls: type) -> str:
    """`Name` for builtins, `module.Qualname` otherwise."""
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def _describe(exc: BaseException, kind: str) -> Failure:
    """A Failure for an exception raised by a user handler (traceback without our own frame)."""
    tb = exc.__traceback__
    if tb is not None and tb.tb_frame.f_code.co_filename == __file__ and tb.tb_next is not None:
        tb = tb.tb_next
    trace = "".join(traceback.format_exception(type(exc), exc, tb))
    name = _class_name(type(exc))
    text = str(exc) or name
    return Failure(
        kind, name, truncate(text, MAX_MESSAGE_BYTES), tail(trace.rstrip(), MAX_TRACE_BYTES)
    )


def _load(spec: str) -> Callable[..., Any]:
    """Import `package.module:function` (the attribute may be dotted); UsageError if it can't."""
    if any("\udc80" <= ch <= "\udcff" for ch in spec):
        shown = spec.encode("utf-8", "surrogateescape").decode("ascii", "backslashreplace")
        raise UsageError(f"--handler {shown!r} is not valid UTF-8; name a package.module:function")
    where = f"--handler {spec}"
    module_name, sep, attr_path = spec.strip().partition(":")
    parts = attr_path.split(".")
    if (
        not sep
        or not module_name
        or not all(p.isidentifier() for p in module_name.split("."))
        or not all(p.isidentifier() for p in parts)
    ):
        raise UsageError(
            f"{where}: expected package.module:function, e.g. --handler app.handlers:process"
        )
    cwd = os.getcwd()
    if cwd not in sys.path:
        # Appended, not prepended: a file in the directory must not shadow an installed package
        # (a local kafka.py would otherwise break kafkactl itself).
        sys.path.append(cwd)
    importlib.invalidate_caches()
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        ours = module_name == missing or module_name.startswith(missing + ".")
        hint = "is it on PYTHONPATH?" if ours else "is that dependency installed?"
        raise UsageError(f"{where}: cannot import module '{module_name}' ({exc}); {hint}") from None
    except KeyboardInterrupt:
        raise  # Ctrl-C while importing: an interrupted run, not a broken module
    except BaseException as exc:
        # Anything the module raises at import, sys.exit() included, is the module's fault.
        what = f"exit({exc.code!r})" if isinstance(exc, SystemExit) else _class_name(type(exc))
        detail = f"{what}: {exc}" if str(exc) and not isinstance(exc, SystemExit) else what
        raise UsageError(
            f"{where}: importing module '{module_name}' failed ({truncate(detail, 300)}); "
            "fix the module"
        ) from None
    target: Any = module
    for i, part in enumerate(parts):
        try:
            target = getattr(target, part)
        except AttributeError:
            owner = module_name if i == 0 else f"{module_name}:{'.'.join(parts[:i])}"
            raise UsageError(
                f"{where}: '{owner}' has no attribute '{part}'; check the function name"
            ) from None
    if not callable(target):
        raise UsageError(
            f"{where}: '{attr_path}' in module '{module_name}' is a "
            f"{type(target).__name__}, not a function; name a callable taking a Message"
        )
    return target


class PythonHandler:
    """Calls a Python function (sync, or async on a per-thread event loop) with each Message.

    Mapping: returning is success; kafkactl.FatalError is `fatal`; a JSON or UTF-8 decode error
    (from message.json() / message.text()) is `decode`; any other exception is `retryable`; a
    HandlerFailure raised by the function is passed through unchanged.
    """

    def __init__(self, spec: str) -> None:
        self.spec = spec
        self.function = _load(spec)
        self._local = threading.local()
        self._loops: list[asyncio.AbstractEventLoop] = []
        self._lock = threading.Lock()

    def _loop(self) -> asyncio.AbstractEventLoop:
        """This worker thread's event loop, created on first use."""
        loop = getattr(self._local, "loop", None)
        if loop is None or loop.is_closed():
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._local.loop = loop
            with self._lock:
                self._loops.append(loop)
        return loop

    def handle(self, message: Message) -> None:
        """Call the function; raise HandlerFailure with the mapped kind if it raises."""
        try:
            result = self.function(message)
            if inspect.isawaitable(result):
                self._loop().run_until_complete(result)
        except HandlerFailure:
            raise
        except FatalError as exc:
            raise HandlerFailure(_describe(exc, "fatal")) from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            # orjson.JSONDecodeError is a json.JSONDecodeError.
            raise HandlerFailure(_describe(exc, "decode")) from None
        except BaseException as exc:
            # Any exception is the handler's failure, BaseExceptions included (SystemExit,
            # KeyboardInterrupt, GeneratorExit, CancelledError, a custom one): handlers run on
            # worker threads, where no signal arrives, so none of them can mean "stop kafkactl".
            raise HandlerFailure(_describe(exc, "retryable")) from None

    def close(self) -> None:
        """Close the event loops of the worker threads."""
        with self._lock:
            loops, self._loops = self._loops, []
        for loop in loops:
            if not loop.is_running():
                with contextlib.suppress(Exception):
                    loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()


# --- choosing ----------------------------------------------------------------------------------


def parse_exit_codes(text: str) -> set[int]:
    """`"100,101"` -> {100, 101} (an empty text is no fatal code); UsageError on bad input."""
    codes: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if not part and not text.strip():
            continue
        try:
            code = int(part)
        except ValueError:
            code = -1
        if not 1 <= code <= 255:
            raise UsageError(
                "--fatal-exit-codes must be comma-separated exit codes from 1 to 255, "
                f"e.g. 100,101; got {text!r}"
            )
        codes.add(code)
    return codes


def build_handler(
    exec_cmd: str | None,
    handler_spec: str | None,
    exec_timeout: float,
    fatal_exit_codes: set[int],
    stream: BinaryIO | None = None,
    print_format: PrintFormat | None = None,
) -> Handler:
    """The handler the flags ask for: --exec, --handler, or the printer (in `print_format`)."""
    if exec_cmd is not None and handler_spec is not None:
        raise UsageError("--exec and --handler cannot be combined; choose one")
    if exec_cmd is not None:
        return ExecHandler(exec_cmd, exec_timeout, fatal_exit_codes)
    if handler_spec is not None:
        return PythonHandler(handler_spec)
    if print_format is not None:
        return PrintHandler(stream, encoder=print_format.encode, exact=not print_format.newline)
    return PrintHandler(stream)
