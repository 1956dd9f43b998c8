"""Workarounds for kafka-python 3.0 bugs, each in one place, each named after what it fixes."""

from __future__ import annotations

from typing import Any


def release_drained_records(consumer: Any) -> None:
    """Let a resumed partition be fetched again (kafka-python 3.0.12 fetcher bug).

    The fetcher parks the buffered records of a partition that gets paused, and gives them
    back on resume only when its in-line slot is None. After records are consumed the slot
    keeps an empty (falsy) PartitionRecords instead of None, so parked data is never given
    back and the partition, still "having buffered data", is never fetched again: it starves.
    Clearing the spent slot before each poll restores the intended behaviour.
    """
    fetcher = getattr(consumer, "_fetcher", None)
    current = getattr(fetcher, "_next_partition_records", None)
    if fetcher is not None and current is not None and not current:
        fetcher._next_partition_records = None


def known_lag(consumer: Any, tp: Any, position: int | None = None) -> int | None:
    """End offset from the last fetch response minus the position, without a round trip.

    KafkaConsumer.position() first refreshes committed offsets and waits for pending resets
    and validations (network calls), and highwater() raises for a partition revoked meanwhile
    (the IO thread runs rebalances): a gauge read every second reads the partition's state
    as the consumer keeps it (`position`, when given, stands for the consumer's). None when
    either offset is unknown.
    """
    state = getattr(getattr(consumer, "_subscription", None), "assignment", {}).get(tp)
    offset = position if position is not None else getattr(state, "position", None)
    offset = getattr(offset, "offset", offset)
    end = getattr(state, "highwater", None)
    if not isinstance(offset, int) or not isinstance(end, int):
        return None
    return max(0, end - offset)
