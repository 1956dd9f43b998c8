"""The foreign dead-letter conventions: Kafka Connect, Spring Kafka and Karafka header names,
which of them kafkactl reads, and which are a framework's error context.

Error context is what a framework writes about one failure: where the record was consumed,
the exception, its stack trace, its retry state. The framework writes it again at the next
failure, and Connect and Spring's "original" headers append rather than replace, so a replayed
copy that kept it would come back with two of each (a stack trace more per round), and Spring's
retry state would send a copy straight to the DLT. Replayed copies leave it out
(`without_error_context`); the facts kafkactl needs go into its own `kafkactl.original.*`.
Names were checked against what the frameworks really write (tests/integration,
test_foreign_deadletters: Connect 4.3.1's DeadLetterQueueReporter, Spring Kafka 4.1's
DeadLetterPublishingRecoverer and @RetryableTopic).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# Kafka Connect (errors.deadletterqueue.context.headers.enable=true), text values. Besides
# these it writes connector.name, task.id, stage, class.name and exception.stacktrace.
CONNECT_PREFIX = "__connect.errors."
CONNECT_TOPIC = "__connect.errors.topic"
CONNECT_PARTITION = "__connect.errors.partition"
CONNECT_OFFSET = "__connect.errors.offset"
CONNECT_ERROR_CLASS = "__connect.errors.exception.class.name"
CONNECT_ERROR_MESSAGE = "__connect.errors.exception.message"


@dataclass(frozen=True)
class SpringNames:
    """One of Spring Kafka's sets of dead-letter header names (partition: 4-byte, offset and
    timestamp: 8-byte big-endian ints; the rest UTF-8 text)."""

    topic: str
    partition: str
    offset: str
    timestamp: str
    error_class: str
    cause_class: str
    error_message: str

    def read(self) -> tuple[str, ...]:
        """The names kafkactl reads."""
        return (
            self.topic,
            self.partition,
            self.offset,
            self.timestamp,
            self.error_class,
            self.cause_class,
            self.error_message,
        )


# A DeadLetterPublishingRecoverer's own names (KafkaHeaders.DLT_*): it appends the original-*
# headers at each failure (appendOriginalHeaders) and replaces the exception-* ones.
SPRING_DLT = SpringNames(
    "kafka_dlt-original-topic",
    "kafka_dlt-original-partition",
    "kafka_dlt-original-offset",
    "kafka_dlt-original-timestamp",
    "kafka_dlt-exception-fqcn",
    "kafka_dlt-exception-cause-fqcn",
    "kafka_dlt-exception-message",
)
# @RetryableTopic's (KafkaHeaders.ORIGINAL_*, EXCEPTION_*): the retry topics and their DLT keep
# the first original-* headers (the main topic) and the newest exception-* ones.
SPRING_RETRY_TOPICS = SpringNames(
    "kafka_original-topic",
    "kafka_original-partition",
    "kafka_original-offset",
    "kafka_original-timestamp",
    "kafka_exception-fqcn",
    "kafka_exception-cause-fqcn",
    "kafka_exception-message",
)
# Both sets name the group alike.
SPRING_GROUP = "kafka_dlt-original-consumer-group"
# Spring's error context by prefix: the two sets above (with timestamp-type, stacktrace and the
# key-exception-* variants), @RetryableTopic's retry state (retry_topic-attempts, -backoff-
# timestamp, -original-timestamp: a copy that kept them would skip the retry topics) and the
# ErrorHandlingDeserializer's exception headers.
SPRING_PREFIXES = (
    "kafka_dlt-",
    "kafka_original-",
    "kafka_exception-",
    "kafka_key-exception-",
    "retry_topic-",
    "springDeserializerException",
)

# Karafka (Ruby), all plain text. Karafka Pro's Enhanced DLQ (`build_dlq_message` in
# karafka/karafka lib/karafka/pro/processing/strategies/dlq/default.rb;
# https://karafka.io/docs/Pro-Enhanced-Dead-Letter-Queue) merges these into the original
# headers. It sets no error class or message header (an app may add its own in
# `enhance_dlq_message`); the OSS DLQ writes the payload only, with no headers at all.
KARAFKA_TOPIC = "source_topic"
KARAFKA_PARTITION = "source_partition"
KARAFKA_OFFSET = "source_offset"
KARAFKA_GROUP = "source_consumer_group"
KARAFKA_ATTEMPTS = "source_attempts"
KARAFKA_HEADERS = (
    KARAFKA_TOPIC,
    KARAFKA_PARTITION,
    KARAFKA_OFFSET,
    KARAFKA_GROUP,
    KARAFKA_ATTEMPTS,
    "source_trace_id",
)
# Karafka's names are plain words an application might use too: they are its error context
# only on a record that carries Karafka's whole origin (topic, partition and offset).
KARAFKA_FAMILY = "source_* (Karafka)"

ERROR_CONTEXT_PREFIXES = (CONNECT_PREFIX, *SPRING_PREFIXES)

# The framework headers kafkactl reads (origin, error, group, attempts): where one repeats,
# the last occurrence is read and the dry run says so.
READ_HEADERS = frozenset(
    (
        CONNECT_TOPIC,
        CONNECT_PARTITION,
        CONNECT_OFFSET,
        CONNECT_ERROR_CLASS,
        CONNECT_ERROR_MESSAGE,
        *SPRING_DLT.read(),
        *SPRING_RETRY_TOPICS.read(),
        SPRING_GROUP,
        KARAFKA_TOPIC,
        KARAFKA_PARTITION,
        KARAFKA_OFFSET,
        KARAFKA_GROUP,
        KARAFKA_ATTEMPTS,
    )
)


def _karafka_origin(names: Iterable[str]) -> bool:
    present = set(names)
    return all(n in present for n in (KARAFKA_TOPIC, KARAFKA_PARTITION, KARAFKA_OFFSET))


def context_family(name: str, karafka: bool) -> str | None:
    """The error-context family (`__connect.errors.*`, `kafka_dlt-*`, ...) header `name`
    belongs to, or None for a business header; `karafka`: the record carries Karafka's
    origin headers."""
    for prefix in ERROR_CONTEXT_PREFIXES:
        if name.startswith(prefix):
            return prefix + "*"
    if karafka and name in KARAFKA_HEADERS:
        return KARAFKA_FAMILY
    return None


def error_context_families(headers: Sequence[tuple[str, bytes]]) -> list[str]:
    """The error-context families among `headers`, in order of first appearance."""
    karafka = _karafka_origin(name for name, _ in headers)
    found = (context_family(name, karafka) for name, _ in headers)
    return list(dict.fromkeys(f for f in found if f is not None))


def without_error_context(headers: Sequence[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """`headers` without any framework's error context (business headers kept, in order)."""
    karafka = _karafka_origin(name for name, _ in headers)
    return [(name, value) for name, value in headers if context_family(name, karafka) is None]


def repeated_read_headers(headers: Sequence[tuple[str, bytes]]) -> tuple[str, ...]:
    """The framework headers kafkactl reads that occur more than once, sorted."""
    counts = Counter(name for name, _ in headers if name in READ_HEADERS)
    return tuple(sorted(name for name, n in counts.items() if n > 1))
