"""Where `produce` sends its records: the topic must exist and a forced partition be one of its."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from kafkactl.admin import queries as admin
from kafkactl.config import Settings
from kafkactl.errors import KafkactlError, OptionError
from kafkactl.kafka import connect_admin
from kafkactl.names import shell_command

if TYPE_CHECKING:
    from kafkactl.kafka.admin_port import AdminPort


def partition_count(
    settings: Settings,
    topic: str,
    partition: int | None = None,
    connect: Callable[[Settings], AdminPort] = connect_admin,
) -> int:
    """The partition count of `topic`; KafkactlError when it does not exist, OptionError on
    `partition` when that partition (of every record) is not one of its partitions."""
    client = connect(settings)
    try:
        info = admin.describe_topics(client, [topic]).get(topic)
    finally:
        client.close()
    if info is None or not info.exists:
        create = shell_command("kafkactl", "create-topics", topic)
        raise KafkactlError(f"topic {topic} does not exist; create it with: {create}")
    count = len(info.partitions)
    if partition is not None and partition >= count:
        raise OptionError(
            "partition",
            f"{partition} does not exist: {topic} has {count} partitions (0-{count - 1})",
        )
    return count
