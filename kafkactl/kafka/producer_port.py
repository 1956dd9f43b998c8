"""The producer port as the produce path uses it: ProducerPort (kafka/ports.py) and what
bounds a record and ends a run early (DESIGN §5).

Both engines' producers and the test fake implement it; it joins ProducerPort when
kafka/ports.py next changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, cast

from kafkactl.kafka.ports import ProducerPort

if TYPE_CHECKING:
    from kafkactl.config import Settings
    from kafkactl.kafka.kafka_python.producer import KafkaPythonProducer
    from kafkactl.kafka.librdkafka.producer import LibrdkafkaProducer


class EngineProducer(ProducerPort, Protocol):
    """An engine's producer with its record bound, its failure, and how a run stops early."""

    # The largest record (key, value, headers, framing) it can ever send; None: unknown.
    max_record_bytes: int | None

    def fault(self) -> str | None:
        """Why it can no longer deliver anything (a dead sender thread, a fatal client
        error), or None while it works."""
        ...

    def cancel(self) -> None:
        """Stop waiting for room (SIGINT/SIGTERM): a blocked send raises KeyboardInterrupt."""
        ...

    def abandon(self, reason: str) -> None:
        """Report every record still unsettled as not delivered (`reason`), now, once each."""
        ...


def connect_engine_producer(settings: Settings, errors_only: bool = False) -> EngineProducer:
    """The configured engine's producer (kafkactl.kafka.connect_producer, typed in full)."""
    from kafkactl.kafka import connect_producer

    # connect_producer is typed ProducerPort in kafka/__init__.py; what it returns is one of
    # the engines' producers, each an EngineProducer (mypy checks ENGINE_PRODUCERS below).
    return cast(EngineProducer, connect_producer(settings, errors_only=errors_only))


if TYPE_CHECKING:
    ENGINE_PRODUCERS: tuple[type[EngineProducer], ...] = (KafkaPythonProducer, LibrdkafkaProducer)
