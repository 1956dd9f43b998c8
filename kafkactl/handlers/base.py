"""The handler contract (DESIGN §6.6) and the small helpers every handler shares.

`handle(message)` returns on success and raises on failure; `close()` releases what the handler
holds. Handlers are called from many worker threads at once and are thread-safe.

Exceptions a handler raises, and what the consumer should do with them:

- `HandlerFailure` (kafkactl.message): the message failed; `.failure` is a fully described
  `Failure` (kind `retryable`, `fatal`, `timeout` or `decode`; class; message; trace) ready for
  the retry/DLQ headers of DESIGN §8.1. `ExecHandler` and `PythonHandler` raise only this.
- `OutputClosed` (kafkactl.errors): stdout cannot be written (the reader of the pipe exited,
  as in `kafkactl consume t | head -n 5`, a full disk, a file size limit, an I/O error). It is
  not a failure of the message, and never goes to a retry tier or the DLQ: the message is NOT
  complete, and neither is any whose output was still buffered, so the consumer commits only
  what a flush got out, stops, and exits 1 with the cause (`str()`). `PrintHandler` raises
  only this.

A handler whose class sets `fails = False` (the printer) has no failure to route: with a group
it needs no retry tiers or DLQ (`fails()`). Every handler derives from `HandlerBase`, which
gives each member of the contract its default, so the consumer asks for them directly.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from kafkactl.kafka.ports import RecordEncoder
from kafkactl.message import Message

DEFAULT_FATAL_EXIT_CODES = frozenset({100})


@runtime_checkable
class Handler(Protocol):
    """Handles one message: returns on success, raises (HandlerFailure, OutputClosed) otherwise."""

    # Records can fail here (all but the printer): a group run then needs tiers and a DLQ.
    fails: bool
    # Run on the poll thread, not on worker threads (the printer: no hand-off per record).
    inline: bool
    # Encodes an engine's record straight to its output line (the printer's envelope: the
    # reader's fast path, DESIGN §7); None: the handler needs a Message.
    record_encoder: RecordEncoder | None

    def handle(self, message: Message) -> None:
        """Handle one message; called concurrently from worker threads."""
        ...

    def flush(self) -> None:
        """Push out what is buffered; called before every offset commit."""
        ...

    def close(self) -> None:
        """Release resources; called once, after the last handle() returned."""
        ...


class HandlerBase:
    """The defaults of the Handler contract: may fail, runs on workers, needs a Message,
    nothing buffered, nothing to release."""

    fails: bool = True
    inline: bool = False
    record_encoder: RecordEncoder | None = None

    def flush(self) -> None:
        """Nothing buffered."""

    def close(self) -> None:
        """Nothing to release."""


def fails(handler: Handler) -> bool:
    """Whether records can fail in `handler` (and so need somewhere to go): all but the printer."""
    return handler.fails


def tail(text: str, limit: int) -> str:
    """The end of `text` cut to at most `limit` UTF-8 bytes, never inside a character."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return "..." + data[len(data) - (limit - 3) :].decode("utf-8", "ignore")


def class_name(cls: type) -> str:
    """`Name` for builtins, `module.Qualname` otherwise."""
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"
