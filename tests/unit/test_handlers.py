"""Choosing a handler from the flags, fatal exit codes, the shared helpers, the noop handler."""

from __future__ import annotations

import io

import orjson
import pytest

from kafkactl.errors import UsageError
from kafkactl.handlers import (
    ExecHandler,
    Handler,
    NoopHandler,
    PrintHandler,
    PythonHandler,
    build_handler,
    parse_exit_codes,
    tail,
)
from tests.unit.handler_helpers import SAMPLE, make_message

# --- noop, build_handler, parse_exit_codes ---------------------------------------------------


def test_noop_succeeds_on_any_message() -> None:
    handler = NoopHandler()
    assert isinstance(handler, Handler)
    assert handler.handle(make_message()) is None
    assert handler.handle(make_message(key=None, value=None)) is None
    assert handler.close() is None


def test_build_handler_rejects_both() -> None:
    with pytest.raises(UsageError, match="--exec and --handler cannot be combined"):
        build_handler("true", f"{SAMPLE}:ok", 30.0, {100})


def test_build_handler_choices() -> None:
    handler = build_handler("true", None, 5.0, {7})
    assert isinstance(handler, ExecHandler)
    assert (handler.timeout_s, handler.fatal_exit_codes) == (5.0, frozenset({7}))
    assert isinstance(build_handler(None, f"{SAMPLE}:ok", 30.0, {100}), PythonHandler)


def test_build_handler_default_prints() -> None:
    stream = io.BytesIO()
    handler = build_handler(None, None, 30.0, {100}, stream=stream)
    assert isinstance(handler, PrintHandler)
    handler.handle(make_message())
    handler.close()
    assert orjson.loads(stream.getvalue())["offset"] == 41


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("100", {100}),
        ("100,101", {100, 101}),
        (" 7 , 8 ", {7, 8}),
        ("", set()),
        ("255,1", {1, 255}),
    ],
)
def test_parse_exit_codes(text: str, codes: set[int]) -> None:
    assert parse_exit_codes(text) == codes


@pytest.mark.parametrize("text", ["abc", "0", "256", "-1", "100,", "1,,2", "1.5", "100;101"])
def test_parse_exit_codes_rejects(text: str) -> None:
    with pytest.raises(UsageError, match="--fatal-exit-codes must be"):
        parse_exit_codes(text)


def test_tail_keeps_the_end_within_the_limit() -> None:
    assert tail("short", 10) == "short"
    cut = tail("é" * 3000, 4096)
    assert len(cut.encode()) <= 4096 and cut.startswith("...") and cut.endswith("é")
