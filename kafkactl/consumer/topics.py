"""The topics a pipeline needs: that they exist, and the largest copy each tier and DLQ takes."""

from __future__ import annotations

from loguru import logger

from kafkactl.consumer.options import ConsumeOptions
from kafkactl.errors import KafkactlError
from kafkactl.kafka.admin_port import AdminPort
from kafkactl.names import shell_command
from kafkactl.topology import TierMap


def check_topics(admin: AdminPort, tiers: TierMap, options: ConsumeOptions) -> None:
    """KafkactlError naming the missing topics, and the create-topics command that makes them."""
    from kafkactl.admin import queries as kadmin

    needed = tiers.subscribed() + [tiers.dlq(t) for t in options.topics]
    if options.no_retry:
        needed = list(options.topics) + [tiers.dlq(t) for t in options.topics]
    if not options.routes:
        needed = list(options.topics)
    missing = [n for n, info in kadmin.describe_topics(admin, needed).items() if not info.exists]
    if missing:
        flags = ("--no-retry",) if options.no_retry else ()
        hint = shell_command(
            "kafkactl", "create-topics", *options.topics, "--group", options.group, *flags
        )
        raise KafkactlError(f"missing topic(s) {', '.join(missing)}; create them with: {hint}")


def copy_limits(admin: AdminPort, tiers: TierMap, options: ConsumeOptions) -> dict[str, int]:
    """The largest copy each retry tier and DLQ takes (best effort: {} if unknown)."""
    from kafkactl.kafka.limits import PRODUCER_MAX_REQUEST_BYTES

    names = [tiers.dlq(t) for t in options.topics]
    if not options.no_retry:
        names += [tiers.tier_topic(t, n) for t in options.topics for n in range(1, tiers.tiers + 1)]
    try:
        limits = admin.max_message_bytes(names)
    except Exception as exc:  # no DescribeConfigs permission: the broker judges each copy
        logger.debug("could not read the topics' max.message.bytes: {}", exc)
        return {}
    return {name: min(limit, PRODUCER_MAX_REQUEST_BYTES) for name, limit in limits.items()}
