"""The transform runners of replay-dlq: a shell command (the --exec machinery) and a function."""

from __future__ import annotations

import asyncio
import os
import sys
import time
import types
from collections.abc import Iterator

import orjson
import pytest

from kafkactl.errors import UsageError
from kafkactl.message import Message
from kafkactl.replay.transform import (
    CommandTransform,
    FunctionTransform,
    Unrepairable,
    build_transform,
    value_bytes,
    value_diff,
)
from tests.unit.test_handlers_exec import running

MODULE = "kafkactl_test_transforms"


def dead_letter(value: bytes | None = b'{"id": 1, "currency": "usd"}') -> Message:
    return Message(
        topic="orders.billing.dlq",
        partition=2,
        offset=7,
        key=b"k1",
        value=value,
        headers=[("kafkactl.original.topic", b"orders")],
        timestamp=1_000,
        message_id="id-1",
        attempt=4,
    )


# --- by command -------------------------------------------------------------------------------


def test_a_command_s_stdout_is_the_new_value_less_one_trailing_newline():
    transform = CommandTransform("tr a-z A-Z; echo")
    assert transform.apply(dead_letter(b"abc")) == b"ABC"
    assert CommandTransform("printf 'x\\n\\n'").apply(dead_letter()) == b"x\n"
    assert CommandTransform("printf 'a\\r\\n'").apply(dead_letter()) == b"a"
    assert CommandTransform("printf '\\n'").apply(dead_letter()) == b""  # an empty value


def test_a_command_gets_the_value_on_stdin_and_the_kafka_environment():
    transform = CommandTransform(
        'printf "%s|%s|%s|%s|%s|" "$KAFKA_TOPIC" "$KAFKA_PARTITION" "$KAFKA_OFFSET" '
        '"$KAFKA_KEY" "$KAFKA_MESSAGE_ID"; echo "$KAFKA_HEADERS"; cat'
    )
    out = transform.apply(dead_letter(b"payload"))
    assert out == b'orders.billing.dlq|2|7|k1|id-1|{"kafkactl.original.topic":"orders"}\npayload'


def test_a_tombstone_is_an_empty_stdin():
    assert CommandTransform("wc -c | tr -d ' '").apply(dead_letter(None)) == b"0"


def test_a_non_zero_exit_is_unrepairable_with_the_stderr_tail():
    transform = CommandTransform("echo first >&2; echo 'no currency' >&2; exit 3")
    with pytest.raises(Unrepairable) as caught:
        transform.apply(dead_letter())
    assert caught.value.reason == "exit:3: no currency"
    assert caught.value.trace is not None and "first" in caught.value.trace


def test_a_silent_non_zero_exit_names_the_code():
    with pytest.raises(Unrepairable, match=r"^exit:1: exit code 1$"):
        CommandTransform("false").apply(dead_letter())


def test_no_output_is_unrepairable():
    with pytest.raises(Unrepairable, match="printed nothing"):
        CommandTransform("cat >/dev/null").apply(dead_letter())


def test_a_timeout_kills_the_process_group_and_is_unrepairable(tmp_path):
    marker = tmp_path / "late"
    transform = CommandTransform(f"(sleep 2; touch {marker}) & sleep 5", timeout_s=0.3)
    started = time.monotonic()
    with pytest.raises(Unrepairable, match=r"^timeout: timed out after 0\.3s$"):
        transform.apply(dead_letter())
    assert time.monotonic() - started < 2
    time.sleep(2.3)
    assert not marker.exists(), "the background job of the command outlived the timeout"


@pytest.mark.parametrize("start", ["sleep {s} &", "setsid sleep {s} &"])
def test_a_background_child_holding_stdout_does_not_make_a_timeout(start):
    seconds = f"20.{os.getpid()}{time.monotonic_ns() % 100_000}"
    transform = CommandTransform(f"{start.format(s=seconds)} cat", timeout_s=5)
    started = time.monotonic()
    assert transform.apply(dead_letter(b"v")) == b"v"
    assert time.monotonic() - started < 2
    assert running(seconds) == [], "a background child of the transform is still running"


def test_a_command_transform_checks_its_flags():
    with pytest.raises(UsageError, match="--transform needs a command"):
        CommandTransform("  ")
    with pytest.raises(UsageError, match="--transform-timeout must be positive"):
        CommandTransform("cat", timeout_s=0)


# --- by function ------------------------------------------------------------------------------


@pytest.fixture
def functions() -> Iterator[types.ModuleType]:
    """A module of transform functions, importable as MODULE."""
    module = types.ModuleType(MODULE)

    def fix(message: Message) -> dict:
        order = message.json()
        order["currency"] = order["currency"].upper()
        return order

    async def later(message: Message) -> str:
        await asyncio.sleep(0)
        return message.text().upper()

    def same(message: Message) -> bytes | None:
        return message.value

    def give(result: object):
        return lambda _message: result

    def raise_(exc: BaseException):
        def f(_message: Message) -> bytes:
            raise exc

        return f

    module.__dict__.update(
        fix=fix,
        later=later,
        same=same,
        number=give(3),
        nothing=give(None),
        unjson=give({"when": object()}),
        text=give("é"),
        buffer=give(bytearray(b"buf")),
        boom=raise_(ValueError("no currency")),
        exits=raise_(SystemExit(3)),
        interrupts=raise_(KeyboardInterrupt()),
        custom=raise_(type("Custom", (BaseException,), {})("odd")),
    )
    sys.modules[MODULE] = module
    yield module
    del sys.modules[MODULE]


def apply(name: str, value: bytes | None = b'{"id": 1, "currency": "usd"}') -> bytes:
    return FunctionTransform(f"{MODULE}:{name}").apply(dead_letter(value))


def test_a_function_returns_a_dict_str_or_bytes(functions):
    assert orjson.loads(apply("fix")) == {"id": 1, "currency": "USD"}
    assert apply("later", b"abc") == b"ABC"
    assert apply("same", b"\xff\x00") == b"\xff\x00"
    assert apply("text") == "é".encode()
    assert apply("buffer") == b"buf"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("number", "returned a int; return bytes, str or dict"),
        ("nothing", "returned None; return bytes, str or dict"),
        ("unjson", "returned a dict that is not JSON"),
        ("boom", "ValueError: no currency"),
        ("exits", "SystemExit: 3"),
        ("interrupts", "KeyboardInterrupt: KeyboardInterrupt"),
        ("custom", "Custom: odd"),
    ],
)
def test_a_bad_result_or_any_exception_is_unrepairable(functions, name, reason):
    with pytest.raises(Unrepairable) as caught:
        apply(name)
    assert caught.value.reason.startswith(reason) or reason in caught.value.reason


def test_an_exception_keeps_its_traceback(functions):
    with pytest.raises(Unrepairable) as caught:
        apply("boom")
    assert caught.value.trace is not None and "ValueError: no currency" in caught.value.trace


def test_a_function_s_json_decode_error_is_unrepairable(functions):
    with pytest.raises(Unrepairable, match="JSONDecodeError"):
        apply("fix", b"not json")


def test_a_function_that_cannot_be_loaded_is_a_usage_error_naming_the_module(tmp_path):
    with pytest.raises(
        UsageError,
        match="--transform-handler nowhere_at_all:f: cannot import module 'nowhere_at_all'",
    ):
        FunctionTransform("nowhere_at_all:f")
    with pytest.raises(UsageError, match="--transform-handler os:nope: 'os' has no attribute"):
        FunctionTransform("os:nope")
    with pytest.raises(UsageError, match=r"expected package\.module:function"):
        FunctionTransform("no-colon")


def test_command_and_function_are_exclusive():
    with pytest.raises(UsageError, match="--transform and --transform-handler cannot be combined"):
        build_transform("cat", "os:getcwd")
    assert build_transform(None, None) is None
    assert isinstance(build_transform("cat", None, 1.0), CommandTransform)
    assert isinstance(build_transform(None, "os:getcwd"), FunctionTransform)


def test_value_bytes_takes_bytes_str_dict_and_list():
    assert value_bytes(b"x") == b"x"
    assert value_bytes({"a": [1]}) == b'{"a":[1]}'
    assert value_bytes([1, 2]) == b"[1,2]"
    with pytest.raises(Unrepairable):
        value_bytes(1.5)


# --- before -> after --------------------------------------------------------------------------


def test_value_diff_shows_json_fields_that_changed():
    before = b'{"id": 1, "currency": "usd", "lines": {"n": 2, "sku": "a"}, "old": true}'
    after = b'{"id": 1, "currency": "EUR", "lines": {"n": 3, "sku": "a"}, "new": 1}'
    assert value_diff(before, after) == [
        '.currency: "usd" → "EUR"',
        ".lines.n: 2 → 3",
        ".old: true → (removed)",
        ".new: (added) → 1",
    ]
    assert value_diff(before, before) == ["(unchanged)"]


def test_value_diff_shortens_text_around_the_change():
    before = b"x" * 100 + b"OLD" + b"y" * 100
    after = b"x" * 100 + b"NEW" + b"y" * 100
    assert value_diff(before, after) == [f"…{'x' * 10}OLD{'y' * 10}… → …{'x' * 10}NEW{'y' * 10}…"]
    assert value_diff(b"a", b"b") == ["a → b"]
    assert value_diff(None, b"b") == [" → b"]


def test_the_exec_machinery_still_forwards_stdout_for_consume(tmp_path):
    from kafkactl.handlers.exec import ExecHandler

    read_fd, write_fd = os.pipe()
    try:
        ExecHandler("cat", output_fd=write_fd).handle(dead_letter(b"to stderr"))
    finally:
        os.close(write_fd)
    assert os.read(read_fd, 100) == b"to stderr"
    os.close(read_fd)
