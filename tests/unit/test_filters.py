"""consume filters: --key, --header NAME[=VALUE], --grep (bytes-safe); all must hold."""

from __future__ import annotations

import pytest

from kafkactl.errors import UsageError
from kafkactl.filters import build_filter
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
