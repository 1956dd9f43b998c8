"""Handlers for the replay tests (--handler tests.integration.replay_handlers:X).

`succeed` stands for the fixed consumer: it handles every message and appends one JSON line
(`id`, `topic`, `attempt`, `replay_count`, `message_id`) to the file named by KAFKACTL_TEST_LOG.
"""

from __future__ import annotations

import json
import os

from kafkactl import Message


def succeed(message: Message) -> None:
    """Handle every message, recording where it came from."""
    count = message.header("kafkactl.replay.count")
    line = json.dumps(
        {
            "id": message.json()["id"],
            "topic": message.topic,
            "attempt": message.attempt,
            "replay_count": int(count) if count else 0,
            "message_id": message.message_id,
        }
    )
    fd = os.open(os.environ["KAFKACTL_TEST_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def handled(path: str) -> list[dict]:
    """What `succeed` recorded."""
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def to_eur(message: Message) -> dict:
    """A --transform-handler: every order in EUR; an order marked bad cannot be repaired."""
    order = message.json()
    if order.get("currency") == "bad":
        raise ValueError(f"no currency for order {order['id']}")
    order["currency"] = "EUR"
    return order


def any_to_eur(message: Message) -> str:
    """A --transform-handler that repairs the bad orders too (the fix of a later run)."""
    order = message.json()
    order["currency"] = "EUR"
    return json.dumps(order)
