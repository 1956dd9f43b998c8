"""Which dead letters a replay sends, and where to: the filters, the target, the decision.

Targets (`to`)
    `retry` (default): tier 1 of the group that failed the record (see
    `deadletter.replay_group_for`), so only that group sees it again. The copy carries no
    `kafkactl.not-before`, i.e. it is due at once, with no dependence on the clocks of the
    replaying and the consuming host. `original`: the topic the record first failed on.
    Anything else is a topic name. A record whose target cannot be worked out (no original
    topic, no group, target topic missing) is counted as failed, with the reason, and stays in
    the DLQ for a later run. A record already replayed `max_replays` times is parked.

Refused targets: a record whose target (or, for `retry` and `original`, whose original topic)
is internal to Kafka (`__consumer_offsets`, `__transaction_state`, any name starting with
`__`) or not a legal topic name is not sent: it fails with a reason that starts with
`refused:`, stays in the DLQ (`--to TOPIC` can send it elsewhere) and the replay goes on with
the rest. The broker would refuse the copy, and the replay would stop there on every run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from kafkactl.config import Settings
from kafkactl.names import topic_problem
from kafkactl.replay.deadletter import DeadLetter, replay_group_for
from kafkactl.topology import retry_topic

TO_RETRY = "retry"
TO_ORIGINAL = "original"

# What happens to one dead letter.
Action = Literal["replay", "parked", "failed", "filtered"]


@dataclass(frozen=True)
class Filters:
    """Which dead letters to replay; every given filter must match (a repeated flag: any value).

    `since_ms` (inclusive) and `until_ms` (exclusive) compare with the DLQ record's timestamp,
    i.e. when it was dead-lettered. `error_contains` is a case-insensitive substring of the
    error message; `error_classes` match the full class name or its last dotted part.
    """

    since_ms: int | None = None
    until_ms: int | None = None
    keys: tuple[bytes, ...] = ()
    error_contains: tuple[str, ...] = ()
    error_classes: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        """True when any record filter is set."""
        return bool(
            self.since_ms is not None
            or self.until_ms is not None
            or self.keys
            or self.error_contains
            or self.error_classes
        )

    def matches(self, dl: DeadLetter) -> bool:
        """Whether the dead letter passes every filter."""
        if self.since_ms is not None and dl.timestamp < self.since_ms:
            return False
        if self.until_ms is not None and dl.timestamp >= self.until_ms:
            return False
        if self.keys and dl.key not in self.keys:
            return False
        if self.error_contains:
            message = (dl.error_message or "").casefold()
            if not any(text.casefold() in message for text in self.error_contains):
                return False
        return not self.error_classes or any(
            _class_matches(have, want) for have in dl.error_classes for want in self.error_classes
        )


def _class_matches(have: str, want: str) -> bool:
    return have == want or have.rsplit(".", 1)[-1] == want


@dataclass(frozen=True)
class Decision:
    """What to do with one dead letter: replay (to target), parked, failed (reason), filtered."""

    action: Action
    target: str | None = None
    reason: str | None = None


INTERNAL_PREFIX = "__"


def refusal(topic: str, what: str) -> str | None:
    """Why a copy must not go to (or come from) `topic`, or None: internal or illegal."""
    problem = topic_problem(topic)
    if problem is not None:
        return f"refused: {what} {topic[:80]!r} {problem}"
    if topic.startswith(INTERNAL_PREFIX):
        return f"refused: {what} {topic} is internal to Kafka (a name starting with __)"
    return None


def target_for(
    dl: DeadLetter, to: str, settings: Settings, dlq: str, fallback_group: str | None
) -> tuple[str | None, str | None]:
    """(target topic, None) or (None, why there is none) for `--to retry|original|TOPIC`."""
    if to in (TO_RETRY, TO_ORIGINAL) and not dl.original_topic:
        return None, (
            "no original topic in its headers (not a kafkactl, Kafka Connect or Spring Kafka "
            "dead letter); use --to TOPIC"
        )
    if to in (TO_RETRY, TO_ORIGINAL):
        refused = refusal(dl.original_topic or "", "its original topic")
        if refused is not None:
            return None, refused + "; use --to TOPIC"
    if to == TO_ORIGINAL:
        target = dl.original_topic
    elif to == TO_RETRY:
        group = replay_group_for(dl, fallback_group)
        if not group:
            return None, (
                "no consumer group: it has no kafkactl.group header; pass --group G "
                "(with --dlq when TOPIC is the DLQ) or use --to original"
            )
        target = retry_topic(settings, dl.original_topic or "", 1, group)
    else:
        target = to
    if target == dlq:
        return None, "its target is the DLQ itself"
    refused = refusal(target or "", "its target")
    if refused is not None:
        return None, refused
    return target, None


def decide(
    dl: DeadLetter,
    *,
    filters: Filters,
    to: str,
    settings: Settings,
    dlq: str,
    fallback_group: str | None,
    max_replays: int,
) -> Decision:
    """Filters first, then parking (also for a malformed kafkactl header), then the target."""
    if not filters.matches(dl):
        return Decision("filtered")
    if dl.malformed:
        name, raw = dl.malformed[0]
        return Decision(
            "parked",
            reason=f"malformed {name} header {raw!r} (not a whole number from 0); not replayed",
        )
    if dl.replay_count >= max_replays:
        return Decision("parked", reason=f"replayed {dl.replay_count} times already")
    target, reason = target_for(dl, to, settings, dlq, fallback_group)
    if target is None:
        return Decision("failed", reason=reason)
    return Decision("replay", target)
