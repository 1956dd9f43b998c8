"""The one place that turns settings into kafka-python client configs."""

from __future__ import annotations

from typing import Any

from kafkactl.config import Settings
from kafkactl.kafka.client_options import kafka_python_options, reads_committed
from kafkactl.kafka.connect import attempt_timeout, register_password
from kafkactl.kafka.limits import PRODUCER_MAX_REQUEST_BYTES


def common_config(settings: Settings) -> dict[str, Any]:
    """Connection settings shared by producers, consumers and admin clients."""
    config: dict[str, Any] = {
        "bootstrap_servers": list(settings.brokers),
        "client_id": settings.client_id,
        "security_protocol": settings.security_protocol,
        "reconnect_backoff_ms": int(settings.reconnect_backoff_min * 1000),
        "reconnect_backoff_max_ms": int(settings.reconnect_backoff_max * 1000),
        # Each client bootstraps in its constructor; one attempt is short, the backoff loop
        # in connect_with_backoff decides how long to keep trying.
        "bootstrap_timeout_ms": int(attempt_timeout(settings) * 1000),
    }
    if settings.security_protocol.startswith("SASL_") and settings.sasl_mechanism == "OAUTHBEARER":
        config.update(
            sasl_mechanism="OAUTHBEARER", sasl_oauth_token_provider=token_provider(settings)
        )
    elif settings.security_protocol.startswith("SASL_"):
        config.update(
            sasl_mechanism=settings.sasl_mechanism,
            sasl_plain_username=settings.sasl_username,
            sasl_plain_password=settings.sasl_password,
        )
        # kafka-python's DEBUG log prints the config dict (repr) and the PLAIN auth bytes.
        register_password(settings)
    if settings.security_protocol in ("SSL", "SASL_SSL"):
        config.update(
            ssl_cafile=settings.ssl_cafile,
            ssl_certfile=settings.ssl_certfile,
            ssl_keyfile=settings.ssl_keyfile,
            ssl_check_hostname=settings.ssl_check_hostname,
        )
    return config


def token_provider(settings: Settings) -> Any:
    """kafka-python's token provider over the run's shared OAUTHBEARER token cache."""
    from kafka.net.sasl.oauth import AbstractTokenProvider

    from kafkactl.kafka import oauth

    class Provider(AbstractTokenProvider):
        def __init__(self) -> None:
            self.cache = oauth.token_cache(settings)
            self._extensions = oauth.extensions(settings)

        def token(self) -> str:
            return self.cache.token().value

        def extensions(self) -> dict[str, str]:
            return self._extensions

    return Provider()


def admin_config(settings: Settings) -> dict[str, Any]:
    """Config for KafkaAdminClient, bootstrapping within one attempt's timeout."""
    return {
        **common_config(settings),
        "request_timeout_ms": 15_000,
        **kafka_python_options(settings, "admin"),
    }


def producer_config(settings: Settings) -> dict[str, Any]:
    """Config for KafkaProducer from the producer settings."""
    return {
        **common_config(settings),
        "acks": settings.producer_acks,
        "enable_idempotence": settings.producer_idempotent,
        "retries": settings.producer_retries,
        "compression_type": None
        if settings.producer_compression == "none"
        else settings.producer_compression,
        "linger_ms": settings.producer_linger_ms,
        "batch_size": settings.producer_batch_size,
        "retry_backoff_ms": 250,
        # Room for a retry/DLQ copy of the largest record a topic takes: the topic's own
        # max.message.bytes is the bound that matters (see PRODUCER_MAX_REQUEST_BYTES).
        "max_request_size": PRODUCER_MAX_REQUEST_BYTES,
        # Writing to a topic that does not exist is an operator error, not a reason to create it.
        "allow_auto_create_topics": False,
        **kafka_python_options(settings, "producer"),
    }


def consumer_config(
    settings: Settings, group_id: str | None, read_committed: bool = False
) -> dict[str, Any]:
    """Config for KafkaConsumer: manual commits, the group and backpressure settings."""
    config: dict[str, Any] = {
        **common_config(settings),
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": settings.consumer_auto_offset_reset,
        # Handlers run on workers, so the poll loop is never busy for long: a rebalance timeout
        # of a minute lets a killed member's partitions move on soon (a rebalance waits up to
        # max_poll_interval_ms for every member it still knows). The session outlives a group
        # coordinator's failover (its broker fenced after 9 s, the group loaded elsewhere):
        # with 10 s, librdkafka gave up its membership on its own during a broker kill, and
        # everything since the last commit ran again (DESIGN §3).
        "session_timeout_ms": 30_000,
        "heartbeat_interval_ms": 3_000,
        "max_poll_interval_ms": 60_000,
        "max_poll_records": settings.consumer_max_poll_records or 500,
    }
    if reads_committed(settings, read_committed):
        config["isolation_level"] = "read_committed"
    optional = {
        "fetch_min_bytes": settings.consumer_fetch_min_bytes,
        "fetch_max_bytes": settings.consumer_fetch_max_bytes,
    }
    config.update({k: v for k, v in optional.items() if v is not None})
    config.update(kafka_python_options(settings, "consumer"))
    return config
