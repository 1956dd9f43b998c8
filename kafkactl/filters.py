"""Record filters of `consume` (--key, --header, --grep), applied before the handler."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from kafkactl.errors import UsageError
from kafkactl.message import Message


@dataclass(frozen=True)
class HeaderMatch:
    """`NAME` (present) or `NAME=VALUE` (the last value of NAME equals VALUE)."""

    name: str
    value: bytes | None = None


@dataclass(frozen=True)
class RecordFilter:
    """All given conditions must hold; an empty filter lets everything through."""

    key: bytes | None = None
    headers: tuple[HeaderMatch, ...] = ()
    grep: re.Pattern[bytes] | None = None
    active: bool = field(default=False)

    def matches(self, message: Message) -> bool:
        """True when the message passes every condition."""
        if self.key is not None and message.key != self.key:
            return False
        for wanted in self.headers:
            found = message.header(wanted.name)
            if found is None and not any(n == wanted.name for n, _ in message.headers):
                return False
            if wanted.value is not None and found != wanted.value:
                return False
        return not (self.grep is not None and not self.grep.search(message.value or b""))


def build_filter(key: str | None, headers: Sequence[str], grep: str | None) -> RecordFilter:
    """Compile the filter flags; a bad regex is a usage error naming --grep."""
    pattern = None
    if grep is not None:
        try:
            pattern = re.compile(grep.encode("utf-8", "surrogateescape"))
        except re.error as exc:
            raise UsageError(f"--grep: {grep!r} is not a regular expression ({exc})") from None
    matches = []
    for spec in headers:
        name, sep, value = spec.partition("=")
        if not name:
            raise UsageError(f"--header {spec!r}: give NAME or NAME=VALUE")
        matches.append(HeaderMatch(name, value.encode("utf-8", "surrogateescape") if sep else None))
    return RecordFilter(
        None if key is None else key.encode("utf-8", "surrogateescape"),
        tuple(matches),
        pattern,
        active=key is not None or bool(matches) or pattern is not None,
    )
