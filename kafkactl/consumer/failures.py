"""How a handler's exception becomes a `headers.Failure`: kind, class, message (DESIGN §6.7)."""

from __future__ import annotations

import traceback

from kafkactl import headers as hdr
from kafkactl.errors import FatalError
from kafkactl.headers import FailureKind as FailureKind
from kafkactl.message import HandlerFailure


def failure(kind: FailureKind, exc: BaseException) -> hdr.Failure:
    """A Failure of `kind` describing `exc` (class `Name` for builtins, `module.Name` otherwise)."""
    cls = type(exc)
    name = cls.__name__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__name__}"
    trace = "".join(traceback.format_exception(exc))
    return hdr.Failure(kind, name, hdr.truncate(str(exc) or name, hdr.MAX_MESSAGE_BYTES), trace)


def classify(exc: BaseException) -> hdr.Failure:
    """The Failure of an exception a handler raised.

    A HandlerFailure (the built-in handlers) is passed through; FatalError is `fatal`; a JSON or
    UTF-8 decode error is `decode`; anything else, BaseExceptions included, is `retryable`.
    """
    if isinstance(exc, HandlerFailure):
        return exc.failure
    if isinstance(exc, FatalError):
        return failure("fatal", exc)
    if isinstance(exc, UnicodeDecodeError | ValueError):
        return failure("decode" if is_decode_error(exc) else "retryable", exc)
    return failure("retryable", exc)


def is_decode_error(exc: BaseException) -> bool:
    """A UTF-8 or JSON decode error (Message.text() / Message.json())."""
    import orjson

    return isinstance(exc, UnicodeDecodeError | orjson.JSONDecodeError)


def tier_text(attempt: int) -> str:
    """`, retry tier 2` for a message that failed on a retry tier; nothing on the main topic."""
    return "" if attempt <= 1 else f", retry tier {attempt - 1}"


def fold(why: hdr.Failure, attempt: int) -> tuple[tuple[str, ...], str]:
    """The kind a failure line folds under on a terminal (error kind, class, normalised
    message, tier) and its label: the line with its variable parts folded."""
    from kafkactl.dlq.triage import normalize_message

    message = normalize_message(why.message)
    tier = tier_text(attempt)
    key = ("handler failed", why.kind, why.error_class or "", message, tier)
    return key, f"handler failed ({why.kind}{tier}): {why.error_class} {message}"


def stop_line(topic: str, partition: int, offset: int, why: hdr.Failure) -> str:
    """The error line of a run that --on-failure stop ended at this record."""
    return (
        f"handler failed on {topic}[{partition}]@{offset}: {why.error_class}: "
        f"{why.message}; stopped with offset {offset} not committed (--on-failure skip "
        "passes failures over; --on-failure dlq routes them to the retry tiers and DLQ)"
    )


def refused_line(topic: str, partition: int, offset: int, target: str, error: object) -> str:
    """The error line of a run stopped because `target` refused this record's copy for good."""
    return (
        f"cannot write the copy of {topic}[{partition}]@{offset} (topic {topic}, partition "
        f"{partition}, offset {offset}) to {target}: {error} (not retriable); stopped with "
        f"offset {offset} not committed (it will be redelivered): fix {target} (e.g. its "
        "max.message.bytes, or this client's write access to it) and run again"
    )
