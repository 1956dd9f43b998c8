"""The start of a read: the consumer connected while the admin client resolves the offsets.

Each librdkafka client's first metadata request waits about half its reconnect backoff
(`KAFKA_RECONNECT_BACKOFF_MIN`, 1 s by default: DESIGN §7.4); the reader needs two clients (the
admin for the partitions and offsets, the consumer to read), so it bootstraps both at once. Only
once a raw probe of the bootstrap servers answered: against a broker that does not answer, the
admin client's connect alone reports it (its retries logged once, not twice).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

from loguru import logger

from kafkactl.config import Settings
from kafkactl.kafka import ConsumerPort, TopicPartition
from kafkactl.kafka.admin_port import AdminPort
from kafkactl.positions import Position

PROBE_TIMEOUT_S = 1.0  # a broker slower than this to answer gets the clients one after another


class EarlyConsumer:
    """A consumer being connected on a thread; `get` waits for it (or raises why it failed)."""

    def __init__(self, connect: Callable[[], ConsumerPort]) -> None:
        self._connect = connect
        self._consumer: ConsumerPort | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="kafkactl-connect", daemon=True)
        self._thread.start()

    @classmethod
    def start(
        cls, settings: Settings, connect: Callable[[], ConsumerPort], probe: bool = True
    ) -> EarlyConsumer | None:
        """Start connecting once the bootstrap servers answered a probe; else None."""
        if probe and not _answers(settings):
            return None
        return cls(connect)

    def _run(self) -> None:
        try:
            self._consumer = self._connect()
        except BaseException as exc:  # handed to the caller's thread by get()
            self._error = exc

    def get(self) -> ConsumerPort:
        """The connected consumer, once it is; raises what connecting raised."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._consumer is not None
        return self._consumer

    def discard(self) -> None:
        """Wait for the connect and close what it made (the read stopped before it)."""
        self._thread.join()
        if self._consumer is not None:
            with contextlib.suppress(Exception):
                self._consumer.close()


def _answers(settings: Settings) -> bool:
    """Whether a bootstrap server answers a raw probe now (anything else: no)."""
    from kafkactl.kafka import preflight

    try:
        return preflight.check(settings, PROBE_TIMEOUT_S) is not None
    except Exception as exc:  # the admin client's connect reports it, as without a probe
        logger.debug("probe before connecting the reader: {}", exc)
        return False


def resolve(
    admin: AdminPort,
    position: Position,
    partitions: list[TopicPartition],
    lows: dict[TopicPartition, int],
    highs: dict[TopicPartition, int],
) -> dict[TopicPartition, int]:
    """Each partition's offset for a position, clamped to what the partition retains."""
    if position.kind == "time":
        at = admin.offsets_for_time(partitions, position.value)
        return {tp: min(max(at[tp], lows[tp]), highs[tp]) for tp in partitions}
    out: dict[TopicPartition, int] = {}
    for tp in partitions:
        low, high = lows[tp], highs[tp]
        wanted = {
            "beginning": low,
            "end": high,
            "offset": position.value,
            "last": high - position.value,
        }[position.kind]
        out[tp] = min(max(wanted, low), high)
    return out
