"""A lease on a job, held as the leader of a consumer group (kafka-python on both engines).

Kafka's group coordinator serialises joins: the first member of a group is its leader, and it
stays the leader while it is a member, however many join after it. So "the leader holds the
lease" is first come, first served on one broker-side order, across processes and hosts: a
member that joins while the leader runs learns it is a follower, and two that join at the same
moment get one leader between them. The leader hands every member the same assignment with its
own description in the user data, so a follower can name who holds the lease.

The member must poll to stay in the group (and to let a newcomer's join complete): `keep()` is
called every half second by the lease's thread (kafkactl.replay.fence). Runs on kafka-python
whichever engine moves the data, like the admin client: it is control, not data, and only
kafka-python lets a member know it is the leader.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from typing import Any

from kafkactl.config import Settings
from kafkactl.errors import KafkactlError
from kafkactl.kafka.kafka_python.compat import finish_join
from kafkactl.kafka.kafka_python.config import common_config
from kafkactl.kafka.kafka_python.connect import connect

PROTOCOL = "kafkactl-lease"
# A member that dies leaves the lease to the next run within this.
SESSION_TIMEOUT_MS = 10_000


def _assignor_class() -> Any:
    from kafka.coordinator.assignors.abstract import (
        AbstractPartitionAssignor,
        ConsumerProtocolAssignment,
        ConsumerProtocolSubscription,
    )

    class LeaseAssignor(AbstractPartitionAssignor):
        """No partitions for anyone; the leader's description for everyone."""

        name = PROTOCOL
        version = 0

        def __init__(self, description: str) -> None:
            self.description = description
            self.leader: str | None = None
            self.generation: int | None = None

        def assign(self, cluster: Any, members: Any) -> dict[str, Any]:
            mine = self.description.encode()
            return {m.member_id: ConsumerProtocolAssignment(0, [], mine) for m in members}

        def metadata(self, topics: Any) -> Any:
            return ConsumerProtocolSubscription(0, sorted(topics), b"")

        def on_assignment(self, assignment: Any, generation: int) -> None:
            data = getattr(assignment, "user_data", None) or b""
            self.leader = bytes(data).decode("utf-8", "replace")
            self.generation = generation

    return LeaseAssignor


class GroupLease:
    """Membership of `group` (subscribed to `topic`); `held` once joined as its leader."""

    def __init__(self, consumer: Any, assignor: Any, description: str) -> None:
        self._consumer = consumer
        self._assignor = assignor
        self.description = description
        self._unstable_since: float | None = None  # since when a rejoin has not completed

    @classmethod
    def join(
        cls, settings: Settings, group: str, topic: str, description: str, timeout: float = 60.0
    ) -> GroupLease:
        """Join `group` and wait for the first assignment (the leader is known then)."""
        from kafka import KafkaConsumer
        from kafka import errors as kerr

        # A token makes two descriptions from one host and pid (a test, a fork) differ.
        description = f"{description} [{uuid.uuid4().hex[:8]}]"
        assignor = _assignor_class()(description)
        config: dict[str, Any] = {
            **common_config(settings),
            "group_id": group,
            "enable_auto_commit": False,
            "partition_assignment_strategy": [assignor],
            "session_timeout_ms": SESSION_TIMEOUT_MS,
            "heartbeat_interval_ms": 2_000,
            "max_poll_interval_ms": 60_000,
        }
        consumer = connect(settings, lambda: KafkaConsumer(**config), "the replay's lease group")
        lease = cls(consumer, assignor, description)
        try:
            consumer.subscribe([topic])
            deadline = time.monotonic() + timeout
            while assignor.leader is None or not finish_join(consumer):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"could not join group {group} in {timeout:.0f}s")
                consumer.poll(timeout_ms=200, max_records=1)
        except kerr.KafkaError as exc:  # not authorized for the group, for one
            lease.close()
            raise KafkactlError(
                f"could not join {group} (the lease that lets one replay run at a time): "
                f"{type(exc).__name__}: {exc}; nothing was sent"
            ) from None
        except BaseException:
            lease.close()
            raise
        return lease

    @property
    def holder(self) -> str:
        """The description of the member holding the lease (the group's leader)."""
        return self._assignor.leader or ""

    @property
    def held(self) -> bool:
        """True while this member is the leader."""
        return self._assignor.leader == self.description

    def keep(self) -> bool:
        """Stay in the group (a poll, which also completes a newcomer's join); False once
        this member is no longer the leader (it was thrown out, or a new leader took over)."""
        self._consumer.poll(timeout_ms=0, max_records=1)
        if finish_join(self._consumer):
            self._unstable_since = None
        elif self._unstable_since is None:
            self._unstable_since = time.monotonic()
        elif time.monotonic() - self._unstable_since > SESSION_TIMEOUT_MS / 1000:
            return False  # not back in a generation within a session: another may lead by now
        return self.held

    def close(self) -> None:
        """Leave the group at once (the next run need not wait for a session timeout)."""
        # Best effort: should leaving fail, the session timeout ends the membership.
        with contextlib.suppress(Exception):
            self._consumer.close(autocommit=False)
