"""Reading the input of `produce`: one line at a time, never the whole input, and never more of
one line than a record can hold."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO

# What the reject file keeps of a line too long to send.
KEPT_BYTES = 1024
# How far a too-long line is skipped looking for its end: past this it is no line (/dev/zero,
# a binary stream read as lines) and reading stops.
GIVE_UP_BYTES = 1024**3
_SKIP_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class LongLine:
    """A line longer than `limit` bytes: only its first KEPT_BYTES were kept, the rest was
    read in chunks and dropped. `length` counts its bytes up to its end (newline or end of
    input), or is GIVE_UP_BYTES when it has no end in sight (`ended` False)."""

    head: bytes
    length: int
    limit: int
    ended: bool


def read_lines(stream: IO[bytes], limit: int | None = None) -> Iterator[bytes | LongLine]:
    """Lines of a binary stream, one at a time (never the whole input), bytes as they are (a
    byte order mark is not dropped: a JSON line with one is invalid; in raw input it is data).

    With `limit`, a line of more than `limit` bytes (newline excluded) is never held whole:
    it comes as a LongLine, and reading goes on after its newline.
    """
    if limit is None:
        yield from stream
        return
    readline = stream.readline
    most = limit + 1  # its bytes and the newline
    while True:
        line = readline(most)
        if len(line) < most or line[-1] == 10:  # 10: b"\n"
            if not line:
                return
            yield line
            continue
        long_line = _skip_rest(readline, line, limit)
        yield long_line
        if not long_line.ended:
            return


def _skip_rest(readline: Callable[[int], bytes], start: bytes, limit: int) -> LongLine:
    """Read the rest of a too-long line in chunks, keeping none of it."""
    length = len(start)
    while length < GIVE_UP_BYTES:
        chunk = readline(_SKIP_CHUNK)
        if not chunk:
            return LongLine(start[:KEPT_BYTES], length, limit, True)
        if chunk[-1] == 10:
            return LongLine(start[:KEPT_BYTES], length + len(chunk) - 1, limit, True)
        length += len(chunk)
    return LongLine(start[:KEPT_BYTES], GIVE_UP_BYTES, limit, False)


# How much `read_blocks` asks for at a time: one system call per ~10,000 lines of 100 bytes.
BLOCK_BYTES = 1024 * 1024


def read_blocks(
    stream: IO[bytes], limit: int | None = None, size: int = BLOCK_BYTES, crlf: bool = False
) -> Iterator[list[bytes | LongLine]]:
    """The lines of a binary stream, a block at a time, each without its newline.

    For the fast path (DESIGN §5.4): one read of up to `size` bytes gives all its complete
    lines at once. `read1` returns what a pipe has now, so lines are handed on while the
    input is still open. With `limit`, a line over `limit` bytes comes as a LongLine, like
    `read_lines`; one with no end within GIVE_UP_BYTES ends the input. With `crlf`, a line
    ending in CRLF comes without its CR too (text formats; in raw input the CR is data).
    """
    read = getattr(stream, "read1", None) or stream.read
    rest = b""
    while True:
        chunk = read(size)
        if not chunk:
            # What follows a skipped line may still hold several lines.
            last: list[bytes] = rest.split(b"\n") if rest else []
            if last and not last[-1]:
                last.pop()
            if last:
                yield [_too_long(x, True, limit) if _over(x, limit) else x for x in last]
            return
        if rest:
            chunk = rest + chunk
        lines: list[bytes | LongLine] = chunk.split(b"\n")  # type: ignore[assignment]
        rest = lines.pop()  # type: ignore[assignment]
        if crlf and b"\r\n" in chunk:
            lines = [x[:-1] if x.endswith(b"\r") else x for x in lines]  # type: ignore[union-attr,index]
        if limit is not None and len(chunk) > limit:
            lines = [_too_long(x, True, limit) if _over(x, limit) else x for x in lines]  # type: ignore[arg-type]
            if len(rest) > limit:
                long_line, rest = _skip_long(read, rest, limit, size)
                lines.append(long_line)
                if lines:
                    yield lines
                if not long_line.ended:
                    return
                continue
        if lines:
            yield lines


def _over(line: bytes, limit: int | None) -> bool:
    return limit is not None and len(line) > limit


def _too_long(line: bytes, ended: bool, limit: int | None) -> LongLine:
    return LongLine(_head(line, limit or 0), len(line), limit or 0, ended)


def _head(line: bytes, limit: int) -> bytes:
    """What is kept of a too-long line: as much as `read_lines` keeps."""
    return line[: min(KEPT_BYTES, limit + 1)]


def _skip_long(
    read: Callable[[int], bytes], start: bytes, limit: int, size: int
) -> tuple[LongLine, bytes]:
    """Read past the end of a too-long line, keeping none of it: the LongLine, and what
    follows its newline."""
    length, head = len(start), _head(start, limit)
    while length < GIVE_UP_BYTES:
        chunk = read(size)
        if not chunk:
            return LongLine(head, length, limit, True), b""
        end = chunk.find(b"\n")
        if end >= 0:
            return LongLine(head, length + end, limit, True), chunk[end + 1 :]
        length += len(chunk)
    return LongLine(head, GIVE_UP_BYTES, limit, False), b""
