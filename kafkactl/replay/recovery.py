"""Crash recovery: find the copies an interrupted replay sent but never committed.

Before the first copy goes to a target topic, the commit metadata records a fence: the time and
the target topics of the run (see `progress`). A run that finds a fence (its predecessor died
between an acknowledgement and a commit) first reads those targets from the fence time on and
treats every copy whose `kafkactl.replay.from` names one of its offsets (and whose
`kafkactl.replay.at` is not older than the fence) as done. So an interrupted replay, however it
was interrupted, resumes without duplicates and without gaps (as long as the target still holds
the copies, i.e. within its retention).

Two replays of the same DLQ and replay group never run at the same time: the second is refused
(see `lease`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from loguru import logger

from kafkactl import headers as hdr
from kafkactl.errors import KafkactlError
from kafkactl.kafka.ports import ConsumerPort, Record, TopicPartition
from kafkactl.ranges import RangeSet, len_offsets
from kafkactl.replay.checkpoint import Fence, PartitionProgress
from kafkactl.replay.copy import parse_replay_from
from kafkactl.replay.deadletter import header_int

# How far before the fence time the crash recovery starts reading a target (clock slack).
RECOVERY_MARGIN_MS = 5 * 60_000
# How long reading the targets to their end may take.
RECOVERY_DEADLINE_S = 600


def find_copies(
    part: PartitionProgress,
    dlq: str,
    connect_reader: Callable[[], ConsumerPort],
    exists: Callable[[str], bool],
    stop: threading.Event,
) -> RangeSet:
    """Offsets of `part` whose copies the fenced run sent to its targets (read to their end)."""
    fence = part.fence
    assert fence is not None
    found = RangeSet()
    topics = [t for t in fence.topics if exists(t)]
    logger.info(
        "partition {}: the last replay stopped without committing; looking for its copies in {}",
        part.partition,
        ", ".join(topics) or "nothing",
    )
    if not topics:
        return found
    reader = connect_reader()
    try:
        tps = [TopicPartition(t, p) for t in topics for p in reader.partitions_for(t)]
        since = fence.ts - RECOVERY_MARGIN_MS
        starts = reader.offsets_for_times(dict.fromkeys(tps, since))
        marks = reader.watermarks(tps)
        todo = {tp: marks[tp][1] for tp in tps if starts[tp] < marks[tp][1]}
        if not todo:
            return found
        reader.assign(list(todo))
        for tp in todo:
            reader.seek(tp, starts[tp])
        wanted = (dlq, part.partition)
        deadline = time.monotonic() + RECOVERY_DEADLINE_S
        while todo:
            if stop.is_set():
                raise KafkactlError("interrupted while looking for copies of the last run")
            if time.monotonic() > deadline:
                raise KafkactlError(
                    f"could not read {', '.join(t.topic for t in todo)} to its end to look "
                    "for copies of the interrupted replay; nothing was sent"
                )
            for tp, records in reader.poll(0.5, 500).items():
                for r in records:
                    if tp in todo and r.offset < todo[tp]:
                        offset = copy_of(r, wanted, fence, part.start)
                        if offset is not None:
                            found.add(offset)
            for tp in list(todo):
                position = reader.position(tp)
                if position is not None and position >= todo[tp]:
                    del todo[tp]
    finally:
        reader.close()
    if found:
        logger.info(
            "partition {}: {} records were already replayed by the interrupted run",
            part.partition,
            len_offsets(found),
        )
    return found


def copy_of(record: Record, wanted: tuple[str, int], fence: Fence, start: int) -> int | None:
    """The DLQ offset `record` is the fenced run's copy of, if it is one: it comes from `wanted`
    (dlq, partition) at or above `start`, and was written at or after the fence time."""
    origin = parse_replay_from(hdr.get_text(record.headers, hdr.REPLAY_FROM))
    if origin is None or origin[:2] != wanted or origin[2] < start:
        return None
    at, bad = header_int(hdr.normalize(record.headers), hdr.REPLAY_AT, 2**63 - 1)
    if bad is not None:
        return None  # not a copy this replay wrote
    if at is not None and at < fence.ts:
        return None  # a copy from an earlier, committed run
    return origin[2]
