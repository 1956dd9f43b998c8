"""The print handler writes whole lines, stops on a closed output, prints the envelope."""

from __future__ import annotations

import base64
import errno
import os
import threading
import time

import orjson
import pytest

from kafkactl.errors import OutputClosed
from kafkactl.handlers import (
    PrintHandler,
)
from kafkactl.message import HandlerFailure, Message
from tests.unit.handler_helpers import make_message

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


def test_print_full_disk_raises_output_closed_naming_the_cause() -> None:
    stream = open("/dev/full", "wb")  # noqa: SIM115  (a write error like ENOSPC on a full disk)
    try:
        handler = PrintHandler(stream, encoder=fake_encoder)
        handler.handle(make_message())  # buffered
        with pytest.raises(OutputClosed) as first:
            handler.flush()
        assert str(first.value) == (
            "cannot write to stdout: No space left on device (errno 28, ENOSPC)"
        )
        with pytest.raises(OutputClosed) as again:  # and stays failed, same cause
            handler.handle(make_message())
        assert str(again.value) == str(first.value)
        handler.close()  # quiet
    finally:
        stream.close()


class RaisingStream:
    """A stream whose writes fail with the error it is given."""

    def __init__(self, error: OSError) -> None:
        self.error = error

    def write(self, data: bytes) -> int:
        raise self.error

    def flush(self) -> None:
        raise self.error


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (
            OSError(errno.EFBIG, "File too large"),
            "cannot write to stdout: File too large (errno 27, EFBIG)",
        ),
        (
            OSError(errno.EIO, "Input/output error"),
            "cannot write to stdout: Input/output error (errno 5, EIO)",
        ),
        (
            BrokenPipeError(errno.EPIPE, "Broken pipe"),
            "stdout closed (broken pipe): its reader went away",
        ),
        (OSError("no errno"), "cannot write to stdout: no errno"),
    ],
)
def test_every_write_error_is_output_closed_with_one_line(error: OSError, line: str) -> None:
    handler = PrintHandler(RaisingStream(error), encoder=fake_encoder)  # type: ignore[arg-type]
    with pytest.raises(OutputClosed) as raised:
        handler.handle(make_message())
    assert str(raised.value) == line
    handler.close()  # quiet


def test_close_is_quiet_when_the_last_flush_fails() -> None:
    handler = PrintHandler(RaisingStream(OSError(errno.ENOSPC, "full")), encoder=fake_encoder)  # type: ignore[arg-type]
    handler.close()


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
