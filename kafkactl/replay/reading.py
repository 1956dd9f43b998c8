"""Reading one DLQ partition's range for a replay pass: from its start to the end offset taken
when the replay opened, offsets with no record (transaction markers, compaction) reported as
absent so they count as done."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kafkactl.kafka.ports import ConsumerPort, Record
    from kafkactl.replay.checkpoint import PartitionProgress


def read_range(
    consumer: ConsumerPort,
    part: PartitionProgress,
    stop: threading.Event,
    poll_timeout_s: float,
    visit: Callable[[Record], bool],
    absent: Callable[[int, int], None],
    tick: Callable[[], None],
) -> None:
    """Read `part` until its end or `stop`: `visit` each record (False: stop reading here),
    `absent(start, end)` for offsets with no record, `tick` after each record and poll."""
    consumer.assign([part.tp])
    consumer.seek(part.tp, part.start)
    cursor = part.start  # the next offset not seen yet
    while not stop.is_set():
        fetched = consumer.poll(poll_timeout_s, 500)
        for record in fetched.get(part.tp, []):
            if stop.is_set():
                return
            if record.offset >= part.end:
                absent(cursor, part.end - 1)
                return
            if record.offset < cursor:
                continue
            absent(cursor, record.offset - 1)
            if not visit(record):
                return
            cursor = record.offset + 1
            tick()
        position = consumer.position(part.tp)
        if position is not None and position >= part.end:
            absent(cursor, part.end - 1)
            return
        tick()
