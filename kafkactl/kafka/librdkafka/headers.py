"""Headers of records confluent-kafka cannot hand over or write: names that are not UTF-8.

confluent-kafka 2.16 has no bytes API for header names. Reading, `Message.headers()` fails
(SystemError from a UnicodeDecodeError) for a name that is not UTF-8, on every poll: one such
record would stop its partition for ever. Writing, a bytes name is stored as its repr
(`b'\\xff'`), a str name with escaped bytes crashes the process, and a NUL ends the name.
So the engine reads such records' headers with kafka-python (always installed), and writes
such records with a kafka-python producer (see `producer.py`). One case stays out of reach:
librdkafka hands names over as C strings, so a name read with a NUL in it ends at the NUL,
and nothing tells (the kafka-python engine reads it whole).
"""

from __future__ import annotations

from typing import Any

from loguru import logger

from kafkactl.config import Settings
from kafkactl.kafka.ports import UNREADABLE_HEADERS, Headers, is_raw_name


def writable(headers: Headers) -> bool:
    """True when confluent-kafka writes these header names byte for byte (UTF-8, no NUL)."""
    for name, _ in headers:
        if "\0" in name or (not name.isascii() and is_raw_name(name)):
            return False
    return True


class HeaderRescuer:
    """The headers of a record whose `headers()` raised, read again with kafka-python.

    When even that fails (the record gone, the cluster away) the record still flows, its
    headers replaced by one `kafkactl.headers-unreadable` header saying why, with a warning:
    a record that cannot be read whole must not stop its partition.
    """

    def __init__(self, settings: Settings, read_committed: bool) -> None:
        self._settings = settings
        self._read_committed = read_committed
        self._rescue: Any = None
        self.rescued = 0
        self.lost = 0

    def headers(self, message: Any) -> Headers:
        """The headers of `message` (whose own headers() raised), byte for byte if possible."""
        topic, partition, offset = message.topic(), message.partition(), message.offset()
        try:
            if self._rescue is None:
                from kafkactl.kafka.kafka_python.rescue import HeaderRescue

                self._rescue = HeaderRescue(self._settings, self._read_committed)
            headers: Headers = self._rescue.headers(topic, partition, offset)
        except Exception as exc:
            self.lost += 1
            why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            logger.warning(
                "{}[{}]@{}: its header names are not UTF-8 and could not be read again ({}); "
                "it goes on with one {} header instead ({} such record(s) so far)",
                topic,
                partition,
                offset,
                why,
                UNREADABLE_HEADERS,
                self.lost,
            )
            return [(UNREADABLE_HEADERS, why.encode("utf-8", "replace"))]
        self.rescued += 1
        if self.rescued == 1:
            logger.debug(
                "{}[{}]@{}: header names that are not UTF-8, read with kafka-python",
                topic,
                partition,
                offset,
            )
        return headers

    def close(self) -> None:
        """Release the kafka-python reader, if one was built."""
        if self._rescue is not None:
            self._rescue.close()
