"""The replay lease's member stays in its generation, and so stays the leader, past a session.

kafka-python 3.0.12 can strand a join that a poll gave up on (DESIGN §3.4): the holder's
heartbeats stopped, the broker dropped it ten seconds later, and the next replay became the
leader while the first kept sending. The lease runs on kafka-python whichever engine moves
the data, so this test needs no engine.
"""

from __future__ import annotations

import os
import threading
import time

import pytest
from kafka.admin import NewTopic

from kafkactl.config import load_settings
from kafkactl.kafka.kafka_python.lease import SESSION_TIMEOUT_MS
from kafkactl.replay.lease import ReplayRunning, replay_lease


def test_the_holder_keeps_the_lease_past_a_session_and_a_newcomer_is_refused(
    brokers: str, admin, topic_name: str
) -> None:
    admin.create_topics([NewTopic(topic_name, 3, 1)])
    settings = load_settings(env={"KAFKA_BROKERS": brokers}, config_path=os.devnull)
    lost = threading.Event()
    replayers = f"{topic_name}-replayers"

    with replay_lease(settings, topic_name, replayers, lost.set) as first:
        # What a metadata update landing during the first join does, made certain: the leader
        # assigned before it knew the topic's partitions, so it must rejoin; its keep() polls
        # give up at once, and its own new assignment clears the reason to rejoin (the race
        # that stranded the join in about one replay in four).
        first._consumer._coordinator._assignment_snapshot = {}  # type: ignore[attr-defined]
        # Longer than a session: a holder whose join was stranded is dropped by now.
        time.sleep(SESSION_TIMEOUT_MS / 1000 + 3)
        assert not lost.is_set() and first.held
        with (
            pytest.raises(ReplayRunning) as refused,
            replay_lease(settings, topic_name, replayers, lost.set),
        ):
            pytest.fail("a second replay took the lease from a live holder")
        assert first.holder and first.holder in str(refused.value)
        time.sleep(3)  # the newcomer's rebalance left the holder the leader
        assert not lost.is_set() and first.held
