"""What the handler tests share: a Message to handle, the Failure a handler raises."""

from __future__ import annotations

import pytest

from kafkactl.headers import Failure
from kafkactl.message import HandlerFailure, Message

SAMPLE = "tests.fixtures.handlers_sample"


def make_message(**overrides: object) -> Message:
    fields: dict[str, object] = {
        "topic": "orders",
        "partition": 2,
        "offset": 41,
        "key": b"k-1",
        "value": b'{"id": 1}',
        "headers": [("message-id", b"m-1")],
        "timestamp": 1_700_000_000_123,
        "timestamp_type": 0,
        "message_id": "m-1",
        "attempt": 1,
    }
    fields.update(overrides)
    return Message(**fields)  # type: ignore[arg-type]


def failure_of(handler: object, message: Message | None = None) -> Failure:
    with pytest.raises(HandlerFailure) as info:
        handler.handle(message or make_message())  # type: ignore[attr-defined]
    return info.value.failure
