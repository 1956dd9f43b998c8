"""consume --format: envelope (default), value, key-value, and kcat-style templates."""

from __future__ import annotations

import pytest

from kafkactl.errors import UsageError
from kafkactl.message import Message
from kafkactl.print_formats import compile_template, print_format

MSG = Message(
    "orders", 2, 41, b"k1", b'{"a":1}', [("h", b"x"), ("trace", b"t1"), ("h", b"y")], 1700
)


def test_envelope_is_the_print_handlers_own() -> None:
    assert print_format("envelope") is None


def test_value_and_key_value() -> None:
    value = print_format("value")
    assert value is not None and value.encode(MSG) == b'{"a":1}\n'
    kv = print_format("key-value", ":")
    assert kv is not None and kv.encode(MSG) == b'k1:{"a":1}\n'
    null = Message("t", 0, 0, None, None)
    assert kv.encode(null) == b":\n"


def test_template_fields_escapes_and_braces() -> None:
    encode = compile_template(
        "{topic}[{partition}]@{offset} {ts} {key}={value} {headers} {header:h} "
        "{key_size}/{value_size}\\t{{x}}\\x41\\n"
    )
    assert encode(MSG) == b'orders[2]@41 1700 k1={"a":1} h=x,trace=t1,h=y y 2/7\t{x}A\n'
    assert compile_template("{key_size} {value_size}")(Message("t", 0, 0, None, None)) == b"-1 -1"


def test_template_is_bytes_safe() -> None:
    binary = Message("t", 0, 0, b"\xff", b"\x00\xfe")
    assert compile_template("{key}|{value}")(binary) == b"\xff|\x00\xfe"


def test_headers_placeholder_prints_a_names_exact_bytes_like_kcat() -> None:
    raw = b"\xff\xfe".decode("utf-8", "surrogateescape")
    message = Message("t", 0, 0, None, b"v", [(raw, b"v"), ("ok", b"1")])
    assert compile_template(f"{{headers}}|{{header:{raw}}}")(message) == b"\xff\xfe=v,ok=1|v"


@pytest.mark.parametrize(
    ("spec", "shown"),
    [("\\x4", "'\\x4'"), ("\\xZZ", "'\\xZZ'"), ("{value}\\x", "'\\x'"), ("a\\x4\n", "'\\x4\\n'")],
)
def test_a_bad_hex_escape_is_one_usage_line_naming_it(spec: str, shown: str) -> None:
    with pytest.raises(UsageError) as caught:
        print_format(spec)
    message = str(caught.value)
    assert "bad escape " + shown in message and "two hex digits" in message
    assert "\n" not in message


@pytest.mark.parametrize("spec", ["{nope}", "{value", "value}", "xml"])
def test_bad_formats_are_usage_errors(spec: str) -> None:
    with pytest.raises(UsageError, match="--format"):
        print_format(spec)


def test_key_delimiter_needs_key_value() -> None:
    with pytest.raises(UsageError, match="key-value"):
        print_format("envelope", ":")
