"""Handlers for the strict-ordering tests (--handler tests.integration.ordering_handlers:X).

Each value is JSON {"k": key, "seq": n, "fail": f}: f failed attempts before it succeeds (-1:
it always fails, until `replay-dlq` sends it back: a replayed copy succeeds). Every success is
appended to KAFKACTL_TEST_LOG as `key seq attempt` (one O_APPEND write per line: atomic), so the
log shows the order in which each key's records ran.
"""

from __future__ import annotations

import os
import time

from kafkactl import Message


def ordered(message: Message) -> None:
    """Fail while the attempt is within the record's `fail`, then log the success."""
    doc = message.json()
    fail = 0 if message.header("kafkactl.replay.count") else int(doc["fail"])
    if fail < 0 or message.attempt <= fail:
        raise RuntimeError(f"{doc['k']} #{doc['seq']} fails (attempt {message.attempt})")
    delay = float(os.environ.get("KAFKACTL_TEST_SLEEP", "0"))
    if delay:
        time.sleep(delay)
    line = f"{doc['k']} {doc['seq']} {message.attempt}\n"
    fd = os.open(os.environ["KAFKACTL_TEST_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)
