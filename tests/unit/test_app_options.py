"""Global options given after the command name are moved in front of it."""

from __future__ import annotations

import pytest

from kafkactl.cli.app import GLOBAL_VALUE_OPTIONS, hoist_global_options


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["health", "-b", "h:1", "--json"], ["-b", "h:1", "health", "--json"]),
        (["health", "--brokers", "h:1"], ["--brokers", "h:1", "health"]),
        (["health", "--brokers=h:1", "--json"], ["--brokers=h:1", "health", "--json"]),
        (
            ["consume", "orders", "--context", "prod", "--group", "g", "--log-level=DEBUG"],
            ["--context", "prod", "--log-level=DEBUG", "consume", "orders", "--group", "g"],
        ),
        (
            [
                "produce",
                "t",
                "--config",
                "c.toml",
                "--connect-timeout",
                "5s",
                "--log-format",
                "json",
            ],
            [
                "--config",
                "c.toml",
                "--connect-timeout",
                "5s",
                "--log-format",
                "json",
                "produce",
                "t",
            ],
        ),
    ],
)
def test_global_options_after_the_command_move_in_front(
    argv: list[str], expected: list[str]
) -> None:
    assert hoist_global_options(argv) == expected


@pytest.mark.parametrize("option", sorted(GLOBAL_VALUE_OPTIONS))
def test_every_global_option_is_hoisted_with_its_value(option: str) -> None:
    assert hoist_global_options(["config", option, "VALUE", "--json"]) == [
        option,
        "VALUE",
        "config",
        "--json",
    ]
    assert hoist_global_options(["config", f"{option}=VALUE"]) == [f"{option}=VALUE", "config"]


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["health"],
        ["-b", "h:1", "health", "--json"],
        ["consume", "orders", "--group", "g", "--workers", "8"],
        ["produce", "t", "--key", "id"],
    ],
)
def test_arguments_without_misplaced_global_options_are_unchanged(argv: list[str]) -> None:
    assert hoist_global_options(argv) == argv


def test_option_value_that_looks_like_a_global_option_is_kept_with_it() -> None:
    # The value of --context is taken as-is even when it looks like another option.
    assert hoist_global_options(["health", "--context", "-b"]) == ["--context", "-b", "health"]


def test_hoisting_stops_at_double_dash() -> None:
    assert hoist_global_options(["produce", "t", "--", "-b", "h:1"]) == [
        "produce",
        "t",
        "--",
        "-b",
        "h:1",
    ]


def test_options_before_double_dash_are_hoisted_and_after_are_not() -> None:
    argv = ["produce", "t", "-b", "h:1", "--", "--context", "x", "--brokers=y"]
    assert hoist_global_options(argv) == [
        "-b",
        "h:1",
        "produce",
        "t",
        "--",
        "--context",
        "x",
        "--brokers=y",
    ]


def test_input_list_is_not_modified() -> None:
    argv = ["health", "-b", "h:1"]
    hoist_global_options(argv)
    assert argv == ["health", "-b", "h:1"]


def test_short_brokers_option_with_attached_value_is_hoisted() -> None:
    # Click accepts `-bh:1` (value attached to the short option) before the command, so
    # `kafkactl health -bh:1` must work like `kafkactl -bh:1 health`.
    assert hoist_global_options(["health", "-bh:1", "--json"]) == ["-bh:1", "health", "--json"]
