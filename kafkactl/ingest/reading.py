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
