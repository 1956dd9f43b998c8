"""Headers librdkafka cannot hand over, read again with kafka-python (names of any bytes).

confluent-kafka 2.16 decodes header names as strict UTF-8 and has no bytes API: one record
whose header name is not UTF-8 raises from `Message.headers()` (SystemError) on every poll.
The librdkafka engine asks this reader for that record's headers instead; kafka-python, with
`read_any_header_names`, reads them byte for byte.
"""

from __future__ import annotations

import time
from typing import Any

from loguru import logger

from kafkactl.config import Settings
from kafkactl.kafka.kafka_python.compat import read_any_header_names
from kafkactl.kafka.kafka_python.config import consumer_config
from kafkactl.kafka.kafka_python.connect import connect
from kafkactl.kafka.ports import Headers, is_raw_name

# How long one rescue may wait for its record before the caller gives the headers up.
RESCUE_TIMEOUT_S = 10.0
# Rescued headers kept for the records after the one asked for (one fetch brings a batch).
MAX_KEPT = 10_000


class HeaderRescue:
    """Reads the headers of single records by offset with a group-less kafka-python consumer.

    The consumer is built on first use and kept: a fetch brings back the records after the
    one asked for too, and the headers of those with names that are not UTF-8 are kept, so a
    partition full of them costs one fetch per batch, not one per record.
    """

    def __init__(self, settings: Settings, read_committed: bool) -> None:
        self._settings = settings
        self._read_committed = read_committed
        self._consumer: Any = None
        self._kept: dict[tuple[str, int, int], Headers] = {}

    def headers(self, topic: str, partition: int, offset: int) -> Headers:
        """The record's headers as on the wire; raises when it cannot be read in time."""
        found = self._kept.pop((topic, partition, offset), None)
        if found is not None:
            return found
        from kafka import TopicPartition as KTP

        consumer = self._connect()
        tp = KTP(topic, partition)
        consumer.assign([tp])
        consumer.seek(tp, offset)
        deadline = time.monotonic() + RESCUE_TIMEOUT_S
        while time.monotonic() < deadline:
            records = consumer.poll(timeout_ms=500).get(tp, [])
            if not records:
                continue
            if len(self._kept) > MAX_KEPT:
                self._kept.clear()
            for record in records:
                headers = list(record.headers or [])
                if record.offset == offset:
                    found = headers
                elif record.offset > offset and any(is_raw_name(n) for n, _ in headers):
                    self._kept[(topic, partition, record.offset)] = headers
            if found is not None:
                return found
            if records[-1].offset >= offset:
                raise LookupError(f"offset {offset} is no longer in {topic}[{partition}]")
        raise TimeoutError(f"not read within {RESCUE_TIMEOUT_S:g} s")

    def _connect(self) -> Any:
        if self._consumer is None:
            from kafka import KafkaConsumer

            read_any_header_names()
            config = {
                **consumer_config(self._settings, None, self._read_committed),
                "max_poll_records": 500,
            }
            self._consumer = connect(self._settings, lambda: KafkaConsumer(**config))
        return self._consumer

    def close(self) -> None:
        """Release the consumer, if one was built."""
        if self._consumer is not None:
            try:
                self._consumer.close()
            except Exception as exc:  # closing a reader: nothing to lose
                logger.debug("closing the header reader failed: {}", exc)
            self._consumer = None
