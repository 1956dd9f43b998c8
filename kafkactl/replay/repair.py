"""One dead letter through the replay's transform, and what the summary records of it.

A repaired value goes on to be sent; an unrepaired record is counted with its reason, logged,
listed in the dry run, and neither sent nor marked done: it stays in the DLQ, and the next run
tries it again. The dry run keeps before -> after for the first `--show N` records.
"""

from __future__ import annotations

import threading

from loguru import logger

from kafkactl.kafka.ports import Record
from kafkactl.message import message_from_record
from kafkactl.replay.copy import copy_message_id
from kafkactl.replay.deadletter import DeadLetter
from kafkactl.replay.model import ReplayOptions, ReplaySummary
from kafkactl.replay.selection import Decision
from kafkactl.replay.transform import Preview, Unrepairable, reason_line, value_diff


def repair(
    opts: ReplayOptions,
    summary: ReplaySummary,
    lock: threading.Lock,
    record: Record,
    dl: DeadLetter,
    decision: Decision,
    preview: bool,
) -> bytes | None:
    """The transformed value of `dl` (the transform sees its DLQ record as a Message), or None
    when it cannot be repaired (counted, logged); `preview`: a dry run, keep before -> after."""
    assert opts.transform is not None
    message = message_from_record(record)
    message.message_id = copy_message_id(dl, opts.dlq)
    show = preview and len(summary.previews) < opts.show
    try:
        value = opts.transform.apply(message)
    except Unrepairable as exc:
        reason = reason_line(exc.reason)
        with lock:
            summary.count_unrepaired(dl, reason, opts.max_rows)
        summary.add_row(dl, decision, opts.max_rows, unrepaired=reason)
        if show:
            summary.previews.append(Preview(dl.partition, dl.offset, dl.key_text(), [], reason))
        log = logger.bind(topic=opts.dlq, partition=dl.partition, offset=dl.offset)
        log.warning(
            "not repaired {}:{}:{}: {}; it stays in the DLQ",
            opts.dlq,
            dl.partition,
            dl.offset,
            reason,
        )
        if exc.trace:
            log.debug("the transform said: {}", exc.trace)
        return None
    if show:
        changes = value_diff(dl.value, value)
        summary.previews.append(Preview(dl.partition, dl.offset, dl.key_text(), changes))
    return value
