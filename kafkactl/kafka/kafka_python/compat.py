"""Workarounds for kafka-python 3.0 bugs, each in one place, each named after what it fixes."""

from __future__ import annotations

from typing import Any

from kafkactl.kafka.ports import is_raw_name


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


# How long one finish_join() waits for a JoinGroup/SyncGroup round at most (the broker answers
# JoinGroup once every member rejoined; members that poll every few hundred ms need ~1 s).
JOIN_ROUND_MS = 5_000


def finish_join(consumer: Any, timeout_ms: int = JOIN_ROUND_MS) -> bool:
    """Finish a group join a poll left in flight (kafka-python 3.0.12 join bug); True once the
    member is in a stable generation (or not in a group at all).

    A poll whose timer ends during a JoinGroup/SyncGroup round leaves the round running on the
    IO thread, and only a later poll that still finds a reason to rejoin completes it (turns the
    heartbeat back on, hands out the assignment). When the reason was a metadata change and this
    member leads, its own assignment clears the reason: the round ends with nobody to complete
    it, heartbeats stay off, and ten seconds later the broker drops the member, which never
    learns it: a replay's lease holder kept sending while a second replay took the lease; a
    pipeline member sat with nothing assigned. Keeping the reason set while a round is in
    flight and waiting for the round here lets it complete as designed (DESIGN §3.4).
    """
    coordinator = getattr(consumer, "_coordinator", None)
    if coordinator is None or getattr(coordinator, "_join_task", None) is None:
        return coordinator is None or bool(coordinator.stable()) or not coordinator.need_rejoin()
    coordinator.request_rejoin()
    return bool(coordinator.ensure_active_group(timeout_ms=timeout_ms))


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


class _RawName(str):
    """A header name whose bytes are not UTF-8: kafka-python encodes it back byte for byte.

    kafka-python writes a header name with `name.encode("utf-8")` (when sizing and when
    writing the record); this str keeps its surrogate-escaped bytes there instead of raising.
    """

    __slots__ = ()

    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        """The name's bytes on the wire, whatever error handler kafka-python asks for."""
        return str.encode(self, encoding, "surrogateescape")


def wire_headers(headers: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """Headers kafka-python can write byte for byte (names that are not UTF-8 wrapped)."""
    for name, _ in headers:
        if not name.isascii():
            break
    else:  # the common case, checked without a generator: it runs for every record sent
        return headers
    return [(_RawName(name) if is_raw_name(name) else name, value) for name, value in headers]


class _LenientSlice(bytes):
    """A slice of a record batch whose decode keeps non-UTF-8 bytes (surrogateescape)."""

    __slots__ = ()

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        """The text, with stray bytes surrogate-escaped instead of raising (a _RawName then:
        the fetcher encodes each name again to count header bytes)."""
        text = bytes.decode(self, encoding, "surrogateescape")
        return _RawName(text) if is_raw_name(text) else text


class _LenientBuffer(bytearray):
    """A record batch buffer whose slices decode leniently (header names of any bytes)."""

    def __getitem__(self, index: Any) -> Any:
        item = bytearray.__getitem__(self, index)
        return _LenientSlice(item) if isinstance(index, slice) else item


def read_any_header_names() -> None:
    """Let kafka-python read header names that are not UTF-8 (3.0.12 raises CorruptRecordError).

    The record parser decodes each header name with strict UTF-8, so one record carrying such
    a name (kcat -H writes any bytes) stops every poll of its partition for ever. On that
    error the record, and the rest of its batch, is read again through a buffer whose slices
    decode with 'surrogateescape', which keeps the exact bytes (kafkactl.kafka.ports.header_name).
    Batches without such names are read as before (one wrapper call per record). Idempotent.
    """
    from kafka.record.default_records import DefaultRecordBatch

    original = DefaultRecordBatch._read_msg
    if getattr(original, "_kafkactl_lenient", False):
        return

    def read_msg(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return original(self, *args, **kwargs)
        except UnicodeDecodeError:
            # _read_msg moves its position only once a record is read whole: read it again.
            if isinstance(self._buffer, _LenientBuffer):
                raise
            self._buffer = _LenientBuffer(self._buffer)
            return original(self, *args, **kwargs)

    read_msg._kafkactl_lenient = True  # type: ignore[attr-defined]
    DefaultRecordBatch._read_msg = read_msg
