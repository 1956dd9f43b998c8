"""The Message a handler receives, and how a handler says it failed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from kafkactl.headers import Failure


@dataclass
class Message:
    """One consumed record as handlers see it.

    `attempt` is 1 on the first try and grows by one with every retry tier it passes through.
    """

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    timestamp: int = 0
    timestamp_type: int = 0
    message_id: str = ""
    attempt: int = 1

    def json(self) -> Any:
        """The value parsed as JSON (raises ValueError on bad JSON: a `decode` failure)."""
        return orjson.loads(self.value or b"null")

    def text(self) -> str:
        """The value as UTF-8 text (raises UnicodeDecodeError: a `decode` failure)."""
        return (self.value or b"").decode("utf-8")

    def key_text(self) -> str | None:
        """The key as text (invalid UTF-8 replaced), or None."""
        return None if self.key is None else self.key.decode("utf-8", "replace")

    def header(self, name: str) -> bytes | None:
        """The last value of header `name`."""
        from kafkactl.headers import get

        return get(self.headers, name)


class HandlerFailure(Exception):
    """Raised by built-in handlers with a fully described failure (kind, class, message, trace)."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure
