"""The one place that turns settings into librdkafka (confluent-kafka) client configs."""

from __future__ import annotations

import uuid
from typing import Any

from kafkactl.config import Settings
from kafkactl.kafka.client_options import reads_committed
from kafkactl.kafka.connect import register_password
from kafkactl.kafka.librdkafka.log import LIBRDKAFKA_LOGGER
from kafkactl.kafka.limits import PRODUCER_MAX_REQUEST_BYTES


def common_config(settings: Settings) -> dict[str, Any]:
    """Connection settings shared by producers and consumers."""
    config: dict[str, Any] = {
        "bootstrap.servers": ",".join(settings.brokers),
        "client.id": settings.client_id,
        "security.protocol": settings.security_protocol.lower(),
        "reconnect.backoff.ms": int(settings.reconnect_backoff_min * 1000),
        "reconnect.backoff.max.ms": int(settings.reconnect_backoff_max * 1000),
        "logger": LIBRDKAFKA_LOGGER,
    }
    if settings.security_protocol.startswith("SASL_") and settings.sasl_mechanism == "OAUTHBEARER":
        from kafkactl.kafka.oauth import librdkafka_callback

        # kafkactl's own token cache (shared with the kafka-python admin client and the
        # preflight probe), not librdkafka's built-in OIDC: one token request per run and the
        # same errors on both engines.
        config.update({"sasl.mechanism": "OAUTHBEARER", "oauth_cb": librdkafka_callback(settings)})
    elif settings.security_protocol.startswith("SASL_"):
        config.update(
            {
                "sasl.mechanism": settings.sasl_mechanism,
                "sasl.username": settings.sasl_username,
                "sasl.password": settings.sasl_password,
            }
        )
        register_password(settings)
    if settings.security_protocol in ("SSL", "SASL_SSL"):
        optional = {
            "ssl.ca.location": settings.ssl_cafile,
            "ssl.certificate.location": settings.ssl_certfile,
            "ssl.key.location": settings.ssl_keyfile,
        }
        config.update({k: v for k, v in optional.items() if v})
        config["ssl.endpoint.identification.algorithm"] = (
            "https" if settings.ssl_check_hostname else "none"
        )
    return config


def with_options(config: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """`config` with the -X settings on top (checked by librdkafka when the command started)."""
    from kafkactl.kafka.client_options import librdkafka_options

    return {**config, **librdkafka_options(settings)}


def admin_config(settings: Settings) -> dict[str, Any]:
    """Config for confluent_kafka.admin.AdminClient: the connection settings and -X."""
    return with_options(common_config(settings), settings)


def producer_config(settings: Settings) -> dict[str, Any]:
    """Config for confluent_kafka.Producer from the producer settings."""
    acks = settings.producer_acks
    config = {
        **common_config(settings),
        # Same key -> same partition as kafka-python and the Java clients (librdkafka's own
        # default, consistent_random, hashes keys with CRC32).
        "partitioner": "murmur2_random",
        "acks": "all" if acks == "all" else str(acks),
        "enable.idempotence": settings.producer_idempotent,
        "retries": settings.producer_retries,
        "retry.backoff.ms": 250,
        "compression.type": settings.producer_compression,
        "linger.ms": settings.producer_linger_ms,
        "batch.size": min(settings.producer_batch_size, 2_147_483_647),
        # Room for a retry/DLQ copy of the largest record a topic takes: the topic's own
        # max.message.bytes is the bound that matters (see PRODUCER_MAX_REQUEST_BYTES).
        "message.max.bytes": PRODUCER_MAX_REQUEST_BYTES,
        # As kafka-python's delivery_timeout_ms: a record not acknowledged within 2 min fails.
        "delivery.timeout.ms": 120_000,
        # Memory stays flat: librdkafka's own queue is bounded in bytes as well as records.
        "queue.buffering.max.kbytes": 65_536,
        "allow.auto.create.topics": False,
    }
    return with_options(config, settings)


def consumer_config(
    settings: Settings, group_id: str | None, read_committed: bool = False, bulk: bool = False
) -> dict[str, Any]:
    """Config for confluent_kafka.Consumer: manual commits, EOF events, backpressure."""
    config: dict[str, Any] = {
        **common_config(settings),
        # librdkafka wants a group id even to read assigned partitions; one that is never
        # joined nor committed to stands in when there is no group.
        "group.id": group_id or f"kafkactl-nogroup-{uuid.uuid4().hex[:12]}",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": settings.consumer_auto_offset_reset,
        # The same group timing as on kafka-python (see its config module).
        "session.timeout.ms": 30_000,
        "heartbeat.interval.ms": 3_000,
        "max.poll.interval.ms": 60_000,
        # kafka-python's default; librdkafka's is read_committed.
        "isolation.level": "read_committed"
        if reads_committed(settings, read_committed)
        else "read_uncommitted",
        "enable.partition.eof": True,
        "allow.auto.create.topics": False,
        # A pause drops what librdkafka prefetched for the partition and a resume fetches it
        # again: keep the prefetch modest, and the long-poll short, so that a partition
        # resumed after backpressure gets records in tens of milliseconds, not half a second.
        "queued.max.messages.kbytes": 32_768,
        "fetch.wait.max.ms": 100,
        # Once its prefetch queue is full, librdkafka checks again only after this long (1 s
        # by default): a reader faster than the fetches found the queue empty for ~0.6 s every
        # queue-full (every 200,000 records read straight through, DESIGN §7.4).
        "fetch.queue.backoff.ms": 10,
    }
    if bulk:
        # Printing a topic straight through (consume without a group) pauses nothing for
        # backpressure: keep fetching until this many records wait, in at most 16 MiB.
        # librdkafka's 100,000 left the reader waiting on fetches: 1.5x the time for the same
        # CPU on 1M small records. Not for dead letters: their headers cost librdkafka far
        # more memory than their bytes on the wire.
        config["queued.min.messages"] = 200_000
        config["queued.max.messages.kbytes"] = 16_384
    if settings.consumer_fetch_min_bytes is not None:
        config["fetch.min.bytes"] = settings.consumer_fetch_min_bytes
    if settings.consumer_fetch_max_bytes is not None:
        config["fetch.max.bytes"] = settings.consumer_fetch_max_bytes
    return with_options(config, settings)
