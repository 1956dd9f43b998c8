"""The default handler (DESIGN §6.6): each message as one envelope JSON line on stdout."""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import threading
from collections.abc import Callable
from typing import Any, BinaryIO

from kafkactl.errors import OutputClosed
from kafkactl.formats.envelope_codec import encode_envelope, envelope_line
from kafkactl.handlers.base import HandlerBase
from kafkactl.kafka.ports import RecordEncoder
from kafkactl.message import Message


def _envelope_encoder() -> Callable[[Message], bytes]:
    """The envelope encoder of kafkactl.formats bound to a Message (with its newline)."""
    encode, line = encode_envelope, envelope_line

    def encoder(message: Message) -> bytes:
        if message.decoded_key is None and message.decoded_value is None:
            return line(  # the reader's fast encoder: the same bytes
                message.topic,
                message.partition,
                message.offset,
                message.key,
                message.value,
                message.headers,
                message.timestamp,
                message.timestamp_type,
            )
        return encode(
            message.topic,
            message.partition,
            message.offset,
            message.timestamp,
            message.timestamp_type,
            message.key,
            message.value,
            message.headers,
            message.decoded_key,
            message.decoded_value,
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


def output_error(exc: BaseException) -> str:
    """Why stdout cannot be written, in one line: `cannot write to stdout: No space left on
    device (errno 28, ENOSPC)`, `stdout closed (broken pipe): its reader went away`."""
    if isinstance(exc, OSError) and exc.errno == errno.EPIPE:
        return "stdout closed (broken pipe): its reader went away"
    if isinstance(exc, OSError) and exc.errno is not None:
        name = errno.errorcode.get(exc.errno, "")
        code = f"errno {exc.errno}, {name}" if name else f"errno {exc.errno}"
        return f"cannot write to stdout: {exc.strerror or exc} ({code})"
    return f"cannot write to stdout: {exc}"


class PrintHandler(HandlerBase):
    """Writes each message as one envelope JSON line (DESIGN §6.6) to a binary stream.

    Lines are buffered; the consumer calls flush() before every offset commit, so a committed
    offset always has its line written to the OS. Its only failure is output that cannot be
    written (a closed pipe, a full disk, a file size limit, an I/O error): it raises
    OutputClosed naming the cause, then and on every later call, and writes nothing more.
    `inline` tells the consumer to run it on the poll thread (no worker pool hand-offs);
    `fails` False: it has no failure of its own to route, so it needs no retry tiers or DLQ.
    """

    inline = True
    fails = False

    def __init__(
        self,
        stream: BinaryIO | None = None,
        *,
        encoder: Callable[[Message], bytes] | None = None,
        exact: bool = False,
    ) -> None:
        self._stream = stream if stream is not None else _buffered_stdout()
        self._encode = encoder or _envelope_encoder()
        # The default envelope straight from the engine's records (the reader's fast path,
        # with `write_lines`); None for a --format, which reads a Message.
        self.record_encoder: RecordEncoder | None = envelope_line if encoder is None else None
        self._exact = exact  # a template writes exactly its bytes: no newline added
        self._lock = threading.Lock()
        self._failed: OutputClosed | None = None

    def handle(self, message: Message) -> None:
        """Encode outside the lock, then write the whole line under it."""
        line = self._encode(message)
        if not self._exact and not line.endswith(b"\n"):
            line += b"\n"
        with self._lock:
            self._guarded(self._stream.write, line)

    def write_lines(self, lines: list[bytes]) -> None:
        """Write whole lines made by `record_encoder`, in one write."""
        with self._lock:
            self._guarded(self._stream.write, b"".join(lines))

    def flush(self) -> None:
        """Push buffered lines to the OS (called before offsets are committed)."""
        with self._lock:
            self._guarded(self._stream.flush)

    def _guarded(self, call: Callable[..., Any], *args: Any) -> None:
        if self._failed is not None:
            raise OutputClosed(str(self._failed))
        try:
            call(*args)
        except (OSError, ValueError) as exc:
            # ValueError: "I/O operation on closed file". Whatever part of the buffer did not
            # get out is lost with the output: the consumer commits only what was flushed.
            self._failed = OutputClosed(output_error(exc))
            self._silence()
            raise OutputClosed(str(self._failed)) from None

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
        """Flush what is buffered; an output that fails now was already reported or is
        reported by the flush the consumer makes before this."""
        with self._lock:
            if self._failed is not None:
                return
            with contextlib.suppress(OSError, ValueError):
                self._stream.flush()
