"""Kafka's rules for topic and group names, checked before any client sees them."""

from __future__ import annotations

import re
import shlex

from kafkactl.errors import UsageError

MAX_NAME_LENGTH = 249  # the broker's limit for a topic name
_LEGAL_TOPIC = re.compile(r"[A-Za-z0-9._-]+")


def _printable(name: str) -> str:
    """The name as it can be shown on one line: bytes that are not UTF-8 as \\xNN."""
    return name.encode("utf-8", "surrogateescape").decode("ascii", "backslashreplace")


def topic_problem(name: str) -> str | None:
    """Why `name` cannot be a Kafka topic, or None when it can."""
    if not name:
        return "is empty"
    if any("\udc80" <= ch <= "\udcff" for ch in name):
        return "is not valid UTF-8"
    if len(name) > MAX_NAME_LENGTH:
        return f"is {len(name)} characters long; Kafka allows at most {MAX_NAME_LENGTH}"
    if name in (".", ".."):
        return "cannot be '.' or '..'"
    if not _LEGAL_TOPIC.fullmatch(name):
        return "may only hold ASCII letters, digits, '.', '_' and '-'"
    return None


def check_topic(name: str, what: str = "topic") -> str:
    """Return `name` when Kafka accepts it as a topic name; otherwise a usage error (exit 2)."""
    problem = topic_problem(name)
    if problem:
        raise UsageError(f"{what} name {_printable(name)!r} {problem}")
    return name


def check_group(name: str, what: str = "group") -> str:
    """Return `name` when it can name a consumer group; otherwise a usage error (exit 2).

    Kafka accepts any string as a group id, but kafkactl builds the retry tiers' and the DLQ's
    topic names from it, so it must also be legal in a topic name.
    """
    problem = topic_problem(name)
    if problem:
        raise UsageError(
            f"{what} name {_printable(name)!r} {problem} "
            "(kafkactl names the group's retry and dead-letter topics after it)"
        )
    return name


def shell_command(*words: str) -> str:
    """A command line the user can paste into a shell, each word quoted where needed."""
    return " ".join(shlex.quote(word) for word in words)
