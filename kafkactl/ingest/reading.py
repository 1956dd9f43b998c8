"""Reading the input of `produce`: one line at a time, never the whole input."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO


def read_lines(stream: IO[bytes]) -> Iterator[bytes]:
    """Lines of a binary stream, one at a time (never the whole input), bytes as they are:
    a byte order mark is not dropped (a JSON line with one is invalid; in raw input it is data)."""
    yield from stream
