"""Dead letters as kafkactl, Kafka Connect and Spring Kafka write them, for the replay tests."""

from __future__ import annotations

from collections import namedtuple

from kafkactl import headers as hdr
from kafkactl.config import load_settings

SETTINGS = load_settings(env={"KAFKA_RETRY_DELAYS": "1s,10s"})
DLQ = "orders.billing.dlq"

Record = namedtuple("Record", "topic partition offset timestamp key value headers")


def record(headers, offset=7, partition=1, key=b"k1", timestamp=1_000):
    return Record(DLQ, partition, offset, timestamp, key, b'{"id":1}', headers)


def kafkactl_headers(**extra):
    headers = [
        ("message-id", b"id-1"),
        ("trace", b"abc"),
        (hdr.ORIGINAL_TOPIC, b"orders"),
        (hdr.ORIGINAL_PARTITION, b"2"),
        (hdr.ORIGINAL_OFFSET, b"40"),
        (hdr.ORIGINAL_TIMESTAMP, b"900"),
        (hdr.GROUP, b"billing"),
        (hdr.ATTEMPT, b"3"),
        (hdr.FIRST_FAILURE, b"950"),
        (hdr.LAST_FAILURE, b"990"),
        (hdr.ERROR_KIND, b"retryable"),
        (hdr.ERROR_CLASS, b"requests.exceptions.Timeout"),
        (hdr.ERROR_MESSAGE, b"Read timed out after 30s"),
        (hdr.ERROR_TRACE, b"Traceback ..."),
    ]
    headers += [(k, str(v).encode()) for k, v in extra.items()]
    return headers


CONNECT = [
    ("__connect.errors.topic", b"payments"),
    ("__connect.errors.partition", b"3"),
    ("__connect.errors.offset", b"1234"),
    ("__connect.errors.connector.name", b"jdbc-sink"),
    ("__connect.errors.exception.class.name", b"org.apache.kafka.connect.errors.DataException"),
    ("__connect.errors.exception.message", b"Converting byte[] to Kafka Connect data failed"),
]
SPRING = [
    ("kafka_dlt-original-topic", b"invoices"),
    ("kafka_dlt-original-partition", (5).to_bytes(4, "big")),
    ("kafka_dlt-original-offset", (2**40 + 3).to_bytes(8, "big")),
    ("kafka_dlt-original-timestamp", (1_700_000_000_000).to_bytes(8, "big")),
    ("kafka_dlt-original-consumer-group", b"invoicing"),
    (
        "kafka_dlt-exception-fqcn",
        b"org.springframework.kafka.listener.ListenerExecutionFailedException",
    ),
    ("kafka_dlt-exception-cause-fqcn", b"java.lang.IllegalStateException"),
    ("kafka_dlt-exception-message", b"Listener failed; nested exception is bad state"),
]
# Karafka Pro's Enhanced DLQ (build_dlq_message): the original headers plus source_* (text);
# no error class or message header.
KARAFKA = [
    ("content-type", b"application/json"),
    ("source_topic", b"shipments"),
    ("source_partition", b"4"),
    ("source_offset", b"812"),
    ("source_consumer_group", b"karafka_app_shipping"),
    ("source_attempts", b"3"),
    ("source_trace_id", b"2ef1c7a0-7f4e-4e55-9d0a-5a3c1b2d9e11"),
]

# What Spring Kafka 4.1's @RetryableTopic writes to its DLT after three attempts (captured from
# the real application of tests/integration/test_foreign_deadletters.py): its own header names
# (kafka_original-*, kafka_exception-*), the retry state once per attempt.
SPRING_RETRY_TOPIC_DLT = [
    ("tenant", b"acme"),
    ("kafka_original-topic", b"orders"),
    ("kafka_original-partition", (0).to_bytes(4, "big")),
    ("kafka_original-offset", (12).to_bytes(8, "big")),
    ("kafka_original-timestamp", (1_796_088_000_000).to_bytes(8, "big")),
    ("kafka_original-timestamp-type", b"CreateTime"),
    ("kafka_dlt-original-consumer-group", b"app-orders"),
    ("retry_topic-attempts", (2).to_bytes(4, "big")),
    ("retry_topic-attempts", (3).to_bytes(4, "big")),
    (
        "kafka_exception-fqcn",
        b"org.springframework.kafka.listener.ListenerExecutionFailedException",
    ),
    ("kafka_exception-cause-fqcn", b"java.lang.IllegalStateException"),
    ("kafka_exception-message", b"Listener failed; cannot process order k1: the value is poison"),
    ("kafka_exception-stacktrace", b"org.springframework.kafka.listener..."),
    ("retry_topic-attempts", (4).to_bytes(4, "big")),
]
