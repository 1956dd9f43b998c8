"""Which values complete with topic or group names, and which cluster they are asked of: the
global options typed so far, before or after the command. Click's completion is driven
in-process; the cluster lookup is replaced by a recorder (tests/integration/test_completion.py
asks a real broker)."""

from __future__ import annotations

from typing import Any

import pytest
from typer._click.shell_completion import get_completion_class

from kafkactl.admin import completion
from kafkactl.cli.app import cli_command

TOPICS = ["orders", "orders.dlq", "__consumer_offsets"]
GROUPS = ["billing", "reports"]


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Each lookup: the kind of names and the settings it would connect with."""
    calls: list[dict[str, Any]] = []

    def settings(
        flags: dict[str, Any], config: str | None, context: str | None, connect_timeout: float
    ) -> Any:
        return {"flags": flags, "config": config, "context": context, "connect": connect_timeout}

    def names(kind: str, incomplete: str, settings: Any, timeout: float) -> list[str]:
        calls.append({"kind": kind, "timeout": timeout, **settings()})
        return completion.matching(TOPICS if kind == "topics" else GROUPS, incomplete)

    monkeypatch.setattr(completion, "completion_settings", settings)
    monkeypatch.setattr(completion, "cluster_names", names)
    return calls


def complete(*words: str) -> list[str]:
    """Candidates for the last word, as the shell's TAB after `kafkactl WORDS` gets them."""
    *args, incomplete = words
    command = cli_command()  # registers Typer's completion classes
    bash = get_completion_class("bash")
    assert bash is not None
    shell = bash(command, {}, "kafkactl", "_KAFKACTL_COMPLETE")
    return [item.value for item in shell.get_completions(args, incomplete)]


@pytest.mark.parametrize(
    "words",
    [
        ("produce", "o"),
        ("consume", "o"),
        ("consume", "orders", "o"),  # consume takes several topics
        ("topics", "describe", "o"),
        ("replay-dlq", "o"),
        ("dlq", "summary", "o"),
        ("create-topics", "o"),
        ("groups", "reset-offsets", "billing", "-t", "o"),
        ("health", "--topic", "o"),
    ],
)
def test_topic_values_complete_with_topic_names(
    asked: list[dict[str, Any]], words: tuple[str, ...]
) -> None:
    assert complete(*words) == ["orders", "orders.dlq"]
    assert [call["kind"] for call in asked] == ["topics"]


@pytest.mark.parametrize(
    "words",
    [
        ("consume", "orders", "-g", ""),
        ("consume", "orders", "--group", ""),
        ("replay-dlq", "orders", "-g", ""),
        ("dlq", "summary", "orders", "-g", ""),
        ("health", "-g", ""),
        ("groups", "describe", ""),
        ("groups", "reset-offsets", ""),
    ],
)
def test_group_values_complete_with_group_names(
    asked: list[dict[str, Any]], words: tuple[str, ...]
) -> None:
    assert complete(*words) == ["billing", "reports"]
    assert [call["kind"] for call in asked] == ["groups"]


def test_internal_topics_complete_after_an_underscore(asked: list[dict[str, Any]]) -> None:
    assert complete("consume", "") == ["orders", "orders.dlq"]
    assert complete("consume", "_") == ["__consumer_offsets"]


def test_commands_and_options_still_complete_without_asking_the_cluster(
    asked: list[dict[str, Any]],
) -> None:
    assert complete("cons") == ["consume"]
    assert "--group" in complete("consume", "orders", "--gr")
    assert asked == []


@pytest.mark.parametrize(
    ("words", "brokers"),
    [
        (("consume", "o"), None),
        (("-b", "root:1", "consume", "o"), "root:1"),
        (("consume", "-b", "after:2", "o"), "after:2"),
        (("consume", "--brokers=after:3", "o"), "after:3"),
        (("-b", "root:1", "groups", "describe", "--brokers", "after:4", ""), "after:4"),
    ],
)
def test_the_cluster_is_the_one_the_command_line_names(
    asked: list[dict[str, Any]], words: tuple[str, ...], brokers: str | None
) -> None:
    complete(*words)
    assert asked[0]["flags"]["brokers"] == brokers


def test_config_file_context_and_connect_timeout_flags_are_used(
    asked: list[dict[str, Any]],
) -> None:
    complete("--config", "k.toml", "consume", "--context", "prod", "--connect-timeout", "1s", "o")
    (call,) = asked
    assert (call["config"], call["context"]) == ("k.toml", "prod")
    assert call["flags"]["connect_timeout"] == "1s"


def test_the_version_flag_prints_nothing_while_completing(
    asked: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert complete("--version", "cons") == ["consume"]
    assert capsys.readouterr().out == ""


def test_the_lookup_budget_and_its_connect_share_follow_the_environment(asked, monkeypatch):
    complete("consume", "or")
    assert (asked[-1]["timeout"], asked[-1]["connect"]) == (2.0, 1.5)
    monkeypatch.setenv("KAFKACTL_COMPLETION_TIMEOUT", "8")
    complete("consume", "or")
    assert (asked[-1]["timeout"], asked[-1]["connect"]) == (8.0, 6.0)
