"""What a topic name says about the pipeline: a main topic, retry tier n of one, or a DLQ."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from kafkactl.config import Settings

RoleKind = Literal["main", "retry", "dlq"]


@dataclass(frozen=True)
class NamedRole:
    """The role a topic's name gives it under the configured templates."""

    kind: RoleKind
    main: str
    group: str | None = None
    tier: int | None = None

    @property
    def label(self) -> str:
        """`main`, `retry N` or `dlq`, as tables show it."""
        return f"retry {self.tier}" if self.kind == "retry" else self.kind


def _pattern(template: str) -> re.Pattern[str]:
    """A regex that reads `{topic}`, `{group}` and `{n}` back out of a name from `template`."""
    fields = {"topic": r"(?P<topic>.+?)", "group": r"(?P<group>.+?)", "n": r"(?P<n>[0-9]+)"}
    out = ""
    for literal, name, _spec, _conv in _format_parts(template):
        out += re.escape(literal)
        if name:
            out += fields.get(name, ".+?")
    return re.compile(out + "$")


def _format_parts(template: str) -> list[tuple[str, str | None, str | None, str | None]]:
    import string

    return list(string.Formatter().parse(template))


def role_of(settings: Settings, name: str) -> NamedRole:
    """The role of topic `name`: retry tier, DLQ, or (anything else) a main topic."""
    found = _pattern(settings.retry_topic_template).match(name)
    if found:
        return NamedRole(
            "retry",
            found.group("topic"),
            found.groupdict().get("group"),
            int(found.group("n")),
        )
    found = _pattern(settings.dlq_topic_template).match(name)
    if found:
        return NamedRole("dlq", found.group("topic"), found.groupdict().get("group"))
    return NamedRole("main", name)


def pipeline_of(settings: Settings, topic: str, group: str) -> list[tuple[NamedRole, str]]:
    """The retry tiers and the DLQ that `group` keeps for main topic `topic`, by name."""
    tiers = [
        (NamedRole("retry", topic, group, n), settings.retry_topic(topic, n, group))
        for n in range(1, len(settings.retry_delays) + 1)
    ]
    return [*tiers, (NamedRole("dlq", topic, group), settings.dlq_topic(topic, group))]
