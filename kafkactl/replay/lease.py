"""One replay at a time per DLQ and replay group: the lease a replay holds while it may send.

Progress (`progress`) assumes one writer: two replays of the same DLQ with the same replay group
would each send every record (300 dead letters, 600 copies). So before a replay reads its
progress it joins the lease group (`topology.replay_lease_group`, `<replay group>.lease`) and
goes on only as the group's leader. Kafka's group coordinator makes the first member of a group
its leader and keeps it the leader while it stays (kafkactl.kafka.kafka_python.lease): a replay
started while another runs is a follower, and two started at the same moment get one leader
between them. A follower leaves at once and fails with exit 1, naming the replay that holds the
lease (host, pid, start time); it has read no progress and sent nothing.

The holder keeps its membership by polling every half second on a thread of its own. Should it
ever stop being the leader (thrown out of the group after a stall longer than the session
timeout, so another replay may have started), it stops sending at once (`stopped_by` `lease
lost`, exit 1); what was acknowledged is committed and the next run resumes. Leaving the group
is the last thing a replay does, after its final commit, so the next holder reads it.

Not needed and not taken: a dry run (it sends and commits nothing). A file lock would not do:
replays run from different hosts.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol

from loguru import logger

from kafkactl.config import Settings
from kafkactl.errors import KafkactlError

KEEP_EVERY = 0.5  # seconds between the holder's polls
JOIN_TIMEOUT = 60.0


class ReplayRunning(KafkactlError):
    """Another replay of the same DLQ and replay group holds the lease (exit 1)."""


class Lease(Protocol):
    """A joined member of the lease group (kafkactl.kafka.kafka_python.lease.GroupLease)."""

    @property
    def held(self) -> bool: ...

    @property
    def holder(self) -> str: ...

    def keep(self) -> bool: ...

    def close(self) -> None: ...


# Joins the lease group: (settings, group, topic, description) -> a member.
JoinLease = Callable[[Settings, str, str, str], Lease]


def _join(settings: Settings, group: str, topic: str, description: str) -> Lease:
    from kafkactl.kafka.kafka_python.lease import GroupLease

    try:
        return GroupLease.join(settings, group, topic, description, JOIN_TIMEOUT)
    except TimeoutError as exc:
        raise KafkactlError(f"{exc}; nothing was sent (is the group coordinator up?)") from None


def describe_me() -> str:
    """Who this replay is, as another one names it: `pid 4242 on host-a, started 01:02:03 UTC`."""
    started = time.strftime("%H:%M:%S UTC", time.gmtime())
    return f"pid {os.getpid()} on {socket.gethostname()}, started {started}"


@contextmanager
def replay_lease(
    settings: Settings,
    dlq: str,
    replay_group: str,
    on_lost: Callable[[], None],
    join: JoinLease = _join,
) -> Iterator[Lease]:
    """Hold the lease of (`dlq`, `replay_group`) for the block; `on_lost` runs (on the lease's
    thread) if it is lost. Raises ReplayRunning, naming the holder, when another replay has it."""
    from kafkactl.kafka.kafka_python.lease import SESSION_TIMEOUT_MS
    from kafkactl.topology import replay_lease_group

    group = replay_lease_group(replay_group)
    lease = join(settings, group, dlq, describe_me())
    if not lease.held:
        holder = lease.holder or "a member that did not say who it is"
        lease.close()
        raise ReplayRunning(
            f"another replay-dlq of {dlq} with replay group {replay_group} is running "
            f"({holder}); nothing was read or sent: let it finish (or stop it), then run again"
        )
    done = threading.Event()

    def keep() -> None:
        failing_since: float | None = None
        while not done.wait(KEEP_EVERY):
            try:
                still = lease.keep()
                failing_since = None
            except Exception as exc:  # a coordinator moving (a broker restart) passes
                logger.debug("the replay's lease member: {}", exc)
                # Failing longer than a session, it may have been dropped from the group, and
                # another replay may hold the lease by now.
                failing_since = failing_since or time.monotonic()
                still = time.monotonic() - failing_since < SESSION_TIMEOUT_MS / 1000
            if not still:
                on_lost()
                return

    thread = threading.Thread(target=keep, name="replay-lease", daemon=True)
    thread.start()
    try:
        yield lease
    finally:
        done.set()
        thread.join()
        lease.close()
