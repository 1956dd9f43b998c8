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
