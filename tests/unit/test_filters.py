"""consume filters: --key, --header NAME[=VALUE], --grep (bytes-safe, RE2); all must hold."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from kafkactl.consumer.filters import build_filter
from kafkactl.errors import UsageError
from kafkactl.message import Message

M = Message("t", 0, 0, b"k1", b'{"status":"failed"}\xff', [("src", b"web"), ("src", b"api")])


def test_empty_filter_passes_everything() -> None:
    f = build_filter(None, [], None)
    assert not f.active and f.matches(M) and f.matches(Message("t", 0, 0, None, None))


@pytest.mark.parametrize(
    ("key", "headers", "grep", "expected"),
    [
        ("k1", [], None, True),
        ("k2", [], None, False),
        (None, ["src"], None, True),
        (None, ["src=api"], None, True),  # the last value counts
        (None, ["src=web"], None, False),
        (None, ["missing"], None, False),
        (None, [], "fail(ed|ing)", True),
        (None, [], "^ok", False),
        ("k1", ["src=api"], "failed", True),
        ("k1", ["src=api"], "ok", False),
    ],
)
def test_conditions(key: str | None, headers: list[str], grep: str | None, expected: bool) -> None:
    f = build_filter(key, headers, grep)
    assert f.active and f.matches(M) is expected


def test_grep_on_binary_value_and_null() -> None:
    assert build_filter(None, [], "\udcff")  # surrogate escape of byte 0xff
    assert build_filter(None, [], "failed").matches(M)
    assert not build_filter(None, [], "x").matches(Message("t", 0, 0, None, None))


@pytest.mark.parametrize(("headers", "grep"), [(["=v"], None), ([], "(")])
def test_bad_filters_are_usage_errors(headers: list[str], grep: str | None) -> None:
    with pytest.raises(UsageError):
        build_filter(None, headers, grep)


def test_a_backtracking_bomb_is_matched_in_linear_time() -> None:
    """`(a+)+$` on a*40 + b takes Python's `re` about 2^40 steps; RE2 answers at once."""
    bomb = build_filter(None, [], "(a+)+$")
    t0 = time.monotonic()
    assert not bomb.matches(Message("t", 0, 0, None, b"a" * 40 + b"b"))
    assert bomb.matches(Message("t", 0, 0, None, b"b" + b"a" * 40))
    other = build_filter(None, [], "(a|aa)+$")
    assert not other.matches(Message("t", 0, 0, None, b"a" * 5000 + b"b"))
    assert time.monotonic() - t0 < 2.0


@pytest.mark.parametrize(
    ("grep", "named"),
    [
        (r"(a)\1", r"backreference \1"),
        ("(?P<x>a)(?P=x)", "named backreference"),
        ("a(?=b)", "lookahead"),
        ("a(?!b)", "negative lookahead"),
        ("(?<=a)b", "lookbehind"),
        ("(?<!a)b", "negative lookbehind"),
        ("(?>a+)b", "atomic group"),
        ("a++b", "possessive quantifier"),
        ("(a)?(?(1)b|c)", "conditional"),
        (r"end\Z", r"write \z"),
        ("a{1001}", "repeat count {1001}"),
    ],
)
def test_what_re2_cannot_do_is_one_usage_error_naming_it(grep: str, named: str) -> None:
    with pytest.raises(UsageError) as caught:
        build_filter(None, [], grep)
    line = str(caught.value)
    assert caught.value.exit_code == 2 and "\n" not in line
    assert line.startswith(f"--grep: {grep!r} uses ") and named in line and "RE2" in line


def test_grep_sees_bytes_as_python_re_does() -> None:
    value = Message("t", 0, 0, None, b"a\xffb\nend")
    assert build_filter(None, [], "a.b").matches(value)  # one byte, even not UTF-8
    assert build_filter(None, [], "\udcff").matches(value)  # the byte 0xff itself
    assert build_filter(None, [], r"end\z").matches(value)
    assert build_filter(None, [], "(?i)END$").matches(value)
    assert not build_filter(None, [], "^end").matches(value)
    assert build_filter(None, [], "(?m)^end").matches(value)
    accent = Message("t", 0, 0, None, "café".encode())
    assert build_filter(None, [], "café").matches(accent)


def test_re2_is_imported_only_for_grep() -> None:
    probe = (
        "import sys\nfrom kafkactl.consumer.filters import build_filter\n"
        "build_filter('k', ['h=v'], None)\nprint('re2' in sys.modules)\n"
        "build_filter(None, [], 'x')\nprint('re2' in sys.modules)\n"
    )
    ran = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert ran.stdout.split() == ["False", "True"], ran.stderr
