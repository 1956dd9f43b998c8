"""Global options parse as options of every command (Click decides what is a value), argv that
is not UTF-8 is refused up front, and numeric flags are range-checked."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from typing import Any

import pytest

from kafkactl.cli.app import cli_command
from kafkactl.cli.argv import non_utf8_argument
from kafkactl.cli.context import GLOBAL_FLAGS, GlobalOptions
from kafkactl.cli.options import duration_flag, int_flag, positive_float_flag
from kafkactl.errors import UsageError


def parse(*argv: str) -> tuple[GlobalOptions, dict[str, Any]]:
    """Parse like main() does, without running the command: (global options, command params)."""
    command = cli_command()
    ctx = command.make_context("kafkactl", list(argv))
    ctx.obj = GlobalOptions(**{name: _typer_value(ctx.params[name]) for name in GLOBAL_FLAGS})
    name, *rest = [*ctx._protected_args, *ctx.args]
    sub = command.commands[name]
    sub_ctx = sub.make_context(name, rest, parent=ctx)
    return ctx.obj, sub_ctx.params


def _typer_value(value: Any) -> Any:
    """What Typer hands the callback: a repeatable option as a list, None when not given."""
    if isinstance(value, tuple):
        return list(value) or None
    return value


def test_an_option_value_that_starts_with_a_dash_is_not_a_global_option() -> None:
    opts, params = parse("replay-dlq", "T", "-g", "g", "--dry-run", "--error-contains", "-bash: x")
    assert params["error_contains"] == ["-bash: x"]
    assert params["dry_run"] is True
    assert params["group"] == "g"
    assert opts.brokers is None


@pytest.mark.parametrize("value", ["--brokers", "-b", "--engine=x", "--config"])
def test_a_global_option_name_as_a_value_stays_a_value(value: str) -> None:
    opts, params = parse("replay-dlq", "T", "--error-contains", value)
    assert params["error_contains"] == [value]
    assert opts == GlobalOptions()


@pytest.mark.parametrize(
    "argv",
    [
        ("health", "-b", "h:1"),
        ("-b", "h:1", "health"),
        ("health", "--brokers", "h:1", "--json"),
        ("health", "--brokers=h:1"),
        ("health", "-bh:1"),
        ("-b", "other:2", "health", "-b", "h:1"),  # the later one wins
    ],
)
def test_brokers_before_or_after_the_command(argv: tuple[str, ...]) -> None:
    opts, _ = parse(*argv)
    assert opts.brokers == "h:1"


@pytest.mark.parametrize("name", sorted(GLOBAL_FLAGS))
def test_every_global_option_works_after_every_command(name: str) -> None:
    flag = GLOBAL_FLAGS[name]
    for argv in (("config",), ("health",), ("produce", "t"), ("replay-dlq", "T")):
        expected = ["VALUE"] if name == "client_options" else "VALUE"  # -X repeats
        opts, _ = parse(*argv, flag, "VALUE")
        assert getattr(opts, name) == expected, argv
        joined = f"{flag}=VALUE" if flag.startswith("--") else f"{flag}VALUE"
        opts, _ = parse(*argv, joined)
        assert getattr(opts, name) == expected, argv


def test_a_commands_own_option_wins_over_a_global_of_the_same_name() -> None:
    opts, params = parse("create-topics", "t", "--config", "retention.ms=1", "-c", "a=b")
    assert params["config"] == ["retention.ms=1", "a=b"]
    assert opts.config is None
    opts, params = parse("--config", "c.toml", "create-topics", "t")
    assert opts.config == "c.toml"


def test_after_double_dash_everything_is_an_argument() -> None:
    opts, params = parse("create-topics", "a", "--", "-b")
    assert params["topics"] == ["a", "-b"]
    assert opts.brokers is None


def test_command_help_lists_the_global_options_in_their_own_panel() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kafkactl", "replay-dlq", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "120"},
    )
    assert result.returncode == 0, result.stderr
    panel = result.stdout.split("Global options")[1]
    for flag in GLOBAL_FLAGS.values():
        assert flag in panel


# --- command-line words that are not UTF-8 ---------------------------------------------------

BAD = "a\udcff"  # how Python hands over the byte 0xff of an argv word


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["produce", "t", "--key", BAD], "--key: value 'a\\xff'"),
        (["produce", "t", "-H", f"k={BAD}"], "-H: value 'k=a\\xff'"),
        (["replay-dlq", "t", f"--error-contains={BAD}"], "--error-contains: value 'a\\xff'"),
        (["-b", BAD, "health"], "-b: value 'a\\xff'"),
        (["health", f"-b{BAD}"], "-b: value 'a\\xff'"),
        (["create-topics", "ok", BAD], "TOPICS (argument 2) 'a\\xff'"),
        (["replay-dlq", BAD], "TOPIC (argument 1) 'a\\xff'"),
        ([BAD], "command 'a\\xff'"),
        (["health", f"--{BAD}"], "option '--a\\xff'"),
        (["produce", "t", "--", BAD], "argument 2 'a\\xff'"),
    ],
)
def test_a_word_that_is_not_utf8_is_named(argv: list[str], named: str) -> None:
    problem = non_utf8_argument(cli_command(), argv)
    assert problem is not None
    assert named in problem
    assert "not valid UTF-8" in problem


def test_utf8_words_pass() -> None:
    argv = ["replay-dlq", "tö", "--error-contains", "-bash: ✓", "-b", "h:1"]
    assert non_utf8_argument(cli_command(), argv) is None


def test_main_refuses_non_utf8_argv_with_exit_2_and_one_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kafkactl", "produce", "t", b"--key", b"\xff"],
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.decode().strip().splitlines()
    assert lines == [
        "error: --key: value '\\xff' is not valid UTF-8; command-line arguments must be UTF-8 text"
    ]


# --- numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["nan", "inf", "1e400s", "-1s", "0s", "0.0001ms", "1" * 400])
def test_duration_flags_refuse_non_finite_zero_negative_and_huge(text: str) -> None:
    with pytest.raises(UsageError, match=r"^--interval: "):
        duration_flag("--interval", text)


def test_duration_flag_accepts_a_sane_value() -> None:
    assert duration_flag("--interval", "250ms") == 0.25
    with pytest.raises(UsageError, match="too long"):
        duration_flag("--interval", "2d")


@pytest.mark.parametrize("value", [0, -1, 2**31])
def test_int_flag_names_the_flag_and_the_limit(value: int) -> None:
    with pytest.raises(UsageError) as excinfo:
        int_flag("--partitions", value, 1, 2**31 - 1, "an int32")
    assert str(excinfo.value).startswith(f"--partitions {value} is out of range: use 1 to ")
    assert "int32" in str(excinfo.value)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 0.0, -5.0, 1e12])
def test_rate_must_be_finite_and_positive(value: float) -> None:
    with pytest.raises(UsageError, match=r"^--rate "):
        positive_float_flag("--rate", value, 1e6)
    assert positive_float_flag("--rate", 0.5, 1e6) == 0.5
    assert positive_float_flag("--rate", None, 1e6) is None


def test_naming_flags_words_a_core_field_error_with_its_flag() -> None:
    from kafkactl.cli.options import naming_flags
    from kafkactl.errors import OptionError

    with pytest.raises(UsageError) as worded, naming_flags({"partitions": "--partition"}):
        raise OptionError("partitions", "9: topic t has partitions 0..2")
    assert not isinstance(worded.value, OptionError)
    assert str(worded.value) == "--partition 9: topic t has partitions 0..2"
    # a field with no flag keeps its own name
    with pytest.raises(UsageError, match=r"^limit must be positive$"), naming_flags({}):
        raise OptionError("limit", "must be positive")


def test_client_options_before_and_after_the_command_all_count() -> None:
    opts, _ = parse("-X", "a=1", "health", "-X", "b=2", "-Xc=3")
    assert opts.client_options == ["a=1", "b=2", "c=3"]
