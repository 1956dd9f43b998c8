"""failures: a handler's exception as a headers.Failure (kind, class, message, trace)."""

from __future__ import annotations

import json

import orjson
import pytest

from kafkactl import headers as hdr
from kafkactl.consumer.failures import classify, failure, is_decode_error
from kafkactl.errors import FatalError
from kafkactl.message import HandlerFailure


class OwnError(Exception):
    """An exception class outside builtins."""


def raised(exc: BaseException) -> BaseException:
    """`exc` with a traceback, as a handler would have raised it."""
    try:
        raise exc
    except BaseException as caught:
        return caught


@pytest.mark.parametrize(
    ("exc", "kind", "error_class"),
    [
        (FatalError("no such customer"), "fatal", "kafkactl.errors.FatalError"),
        (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"), "decode", None),
        (orjson.JSONDecodeError("bad", "{", 0), "decode", None),
        (json.JSONDecodeError("bad", "{", 0), "retryable", None),
        (ValueError("bad value"), "retryable", "ValueError"),
        (RuntimeError("flaky"), "retryable", "RuntimeError"),
        (KeyboardInterrupt("from the handler"), "retryable", "KeyboardInterrupt"),
        (SystemExit(3), "retryable", "SystemExit"),
        (OwnError("mine"), "retryable", f"{__name__}.OwnError"),
    ],
)
def test_classify_maps_each_exception_to_its_kind(
    exc: BaseException, kind: str, error_class: str | None
):
    got = classify(raised(exc))

    assert got.kind == kind
    if error_class is not None:
        assert got.error_class == error_class
    assert got.message == (str(exc) or got.error_class)
    assert got.trace is not None and type(exc).__name__ in got.trace


def test_a_handler_failure_is_passed_through_unchanged():
    described = hdr.Failure("timeout", "timeout", "ran past --exec-timeout 30s", "tail")

    assert classify(HandlerFailure(described)) is described


def test_an_empty_message_is_the_class_name_and_a_long_one_is_truncated():
    assert failure("retryable", raised(RuntimeError())).message == "RuntimeError"
    long = failure("fatal", raised(FatalError("x" * (hdr.MAX_MESSAGE_BYTES * 2))))
    assert 0 < len(long.message.encode()) <= hdr.MAX_MESSAGE_BYTES


def test_is_decode_error_knows_utf8_and_orjson_errors_only():
    assert is_decode_error(UnicodeDecodeError("utf-8", b"\xff", 0, 1, "bad"))
    assert is_decode_error(orjson.JSONDecodeError("bad", "{", 0))
    assert not is_decode_error(ValueError("bad"))
