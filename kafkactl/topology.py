"""Every naming and identity rule of the pipeline, in one place.

A group's retry tiers and DLQ are named from the templates (`KAFKA_RETRY_TOPIC_TEMPLATE`,
`KAFKA_DLQ_TOPIC_TEMPLATE`); a topic's name can be read back into its role; replay keeps its
progress in a group named after the DLQ; a record without a message-id is known by its
coordinates.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from typing import Literal

from kafkactl.config import Settings
from kafkactl.errors import UsageError

RoleKind = Literal["main", "retry", "dlq"]


# --- names -----------------------------------------------------------------------------------


def retry_topic(settings: Settings, topic: str, n: int, group: str | None = None) -> str:
    """Name of retry tier `n` (1-based) of `topic` for `group` (default: the configured one)."""
    return settings.retry_topic_template.format(topic=topic, group=_group(settings, group), n=n)


def dlq_topic(settings: Settings, topic: str, group: str | None = None) -> str:
    """Name of the dead-letter topic of `topic` for `group` (default: the configured one)."""
    return settings.dlq_topic_template.format(topic=topic, group=_group(settings, group))


def _group(settings: Settings, group: str | None) -> str:
    """The group a pipeline topic is named after; there is none without a group."""
    chosen = group or settings.consumer_group_id
    if not chosen:
        raise UsageError(
            "retry tiers and the DLQ belong to a consumer group: give -g/--group "
            "(or KAFKA_CONSUMER_GROUP_ID)"
        )
    return chosen


def replay_group(dlq: str) -> str:
    """The consumer group in which replay-dlq keeps its progress through a DLQ."""
    return f"kafkactl-replay.{dlq}"


def replay_lease_group(replay_group: str) -> str:
    """The consumer group whose leader is the one replay-dlq running with `replay_group`."""
    return f"{replay_group}.lease"


def default_message_id(topic: str, partition: int, offset: int) -> str:
    """The id of a record that carries no message-id: where it was first read,
    `topic/partition/offset` (`orders/0/17`; no topic name holds a `/`). Stable across
    redeliveries, so dedupe and the retry copies (which carry it from the first failure on)
    agree on it."""
    return f"{topic}/{partition}/{offset}"


# --- roles -----------------------------------------------------------------------------------


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
    for literal, name, _spec, _conv in string.Formatter().parse(template):
        out += re.escape(literal)
        if name:
            out += fields.get(name, ".+?")
    return re.compile(out + "$")


def role_of(settings: Settings, name: str) -> NamedRole:
    """The role of topic `name`: retry tier, DLQ, or (anything else) a main topic."""
    found = _pattern(settings.retry_topic_template).match(name)
    if found:
        return NamedRole(
            "retry", found.group("topic"), found.groupdict().get("group"), int(found.group("n"))
        )
    found = _pattern(settings.dlq_topic_template).match(name)
    if found:
        return NamedRole("dlq", found.group("topic"), found.groupdict().get("group"))
    return NamedRole("main", name)


def pipeline_of(settings: Settings, topic: str, group: str) -> list[tuple[NamedRole, str]]:
    """The retry tiers and the DLQ that `group` keeps for main topic `topic`, by name."""
    tiers = [
        (NamedRole("retry", topic, group, n), retry_topic(settings, topic, n, group))
        for n in range(1, len(settings.retry_delays) + 1)
    ]
    return [*tiers, (NamedRole("dlq", topic, group), dlq_topic(settings, topic, group))]


# --- the topics a pipeline needs ---------------------------------------------------------------


@dataclass(frozen=True)
class TopicPlan:
    """A topic to create, and the part it plays in the pipeline (main, retry N, dlq)."""

    name: str
    role: str
    main: str | None = None  # the main topic of a retry tier or DLQ


def pipeline_topics(
    settings: Settings, topic: str, group: str | None, with_retry: bool
) -> list[TopicPlan]:
    """The main topic, then its group's retry tiers (unless disabled) and DLQ.

    Without a group there is no pipeline: just the topic. `consume --no-retry` still sends
    failures to the DLQ, so `with_retry=False` leaves out only the tiers.
    """
    plans = [TopicPlan(topic, role_of(settings, topic).label)]
    if group is None:
        return plans
    if with_retry:
        plans += [
            TopicPlan(retry_topic(settings, topic, n, group), f"retry {n}", topic)
            for n in range(1, len(settings.retry_delays) + 1)
        ]
    plans.append(TopicPlan(dlq_topic(settings, topic, group), "dlq", topic))
    return plans


@dataclass(frozen=True)
class TopicRole:
    """What a subscribed topic is: the main topic (tier 0) or retry tier n of a main topic."""

    main: str
    tier: int


class TierMap:
    """Names of the retry tiers and DLQ of each main topic for one group."""

    def __init__(self, settings: Settings, topics: list[str], group: str) -> None:
        self.settings = settings
        self.group = group
        self.tiers = len(settings.retry_delays)
        self._roles: dict[str, TopicRole] = {}
        for topic in topics:
            self._roles[topic] = TopicRole(topic, 0)
            for n in range(1, self.tiers + 1):
                self._roles[retry_topic(settings, topic, n, group)] = TopicRole(topic, n)

    def role(self, topic: str) -> TopicRole:
        """The role of a subscribed topic."""
        return self._roles[topic]

    def subscribed(self) -> list[str]:
        """Every topic the consumer reads: main topics and all their tiers."""
        return list(self._roles)

    def tier_topic(self, main: str, n: int) -> str:
        """Name of tier n of `main`."""
        return retry_topic(self.settings, main, n, self.group)

    def dlq(self, main: str) -> str:
        """Name of the DLQ of `main`."""
        return dlq_topic(self.settings, main, self.group)

    def delay_ms(self, n: int) -> int:
        """Delay of tier n in milliseconds."""
        return int(self.settings.retry_delays[n - 1] * 1000)


def check_pipeline_names(settings: Settings, group: str, topics: list[str], no_retry: bool) -> None:
    """The group and every topic consume will use are legal Kafka names (exit 2 otherwise).

    The group and the templates may come from a config file or the environment: checked here,
    before any client sees a name it could hang on.
    """
    from kafkactl.names import check_group, check_topic

    source = settings.sources.get("consumer_group_id", "")
    try:
        check_group(group)
    except UsageError as exc:
        raise UsageError(f"{exc} [from {source}]" if source else str(exc)) from None
    for topic in topics:
        names = [
            ("dlq_topic_template", "KAFKA_DLQ_TOPIC_TEMPLATE", dlq_topic(settings, topic, group))
        ]
        if not no_retry:
            names += [
                (
                    "retry_topic_template",
                    "KAFKA_RETRY_TOPIC_TEMPLATE",
                    retry_topic(settings, topic, n, group),
                )
                for n in range(1, len(settings.retry_delays) + 1)
            ]
        for setting, variable, name in names:
            try:
                check_topic(name)
            except UsageError as exc:
                where = settings.sources.get(setting, "")
                origin = f" (from {where})" if where else ""
                raise UsageError(f"{variable}{origin} makes a bad topic name: {exc}") from None
