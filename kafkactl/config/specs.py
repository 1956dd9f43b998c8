"""The settings table: one row per setting (name, environment variable, default, parser, help).

`Settings` (settings.py) has one field per row, in this order; tests/unit/test_config.py checks
that the two agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kafkactl.config import parsers as p
from kafkactl.units import format_duration

MASK = "********"


@dataclass(frozen=True)
class SettingSpec:
    """One setting: its attribute name, environment variable, default, parser and help."""

    name: str
    env: str
    default: Any
    parse: Callable[[Any], Any]
    help: str
    secret: bool = False

    @property
    def file_key(self) -> str:
        """The key of this setting inside a config-file context."""
        return self.name.replace("_", "-")


SPECS: tuple[SettingSpec, ...] = (
    SettingSpec("brokers", "KAFKA_BROKERS", "localhost:9092", p.brokers, "bootstrap servers"),
    SettingSpec("client_id", "KAFKA_CLIENT_ID", "kafkactl", p.non_empty, "client id"),
    SettingSpec(
        "engine",
        "KAFKA_ENGINE",
        "auto",
        p.choice(p.ENGINE_CHOICES),
        "auto (librdkafka when installed), kafka-python, librdkafka",
    ),
    SettingSpec(
        "security_protocol",
        "KAFKA_SECURITY_PROTOCOL",
        "PLAINTEXT",
        p.choice(p.SECURITY_PROTOCOLS, upper=True),
        "PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL",
    ),
    SettingSpec(
        "sasl_mechanism",
        "KAFKA_SASL_MECHANISM",
        None,
        p.choice(p.SASL_MECHANISMS, upper=True),
        "PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER",
    ),
    SettingSpec("sasl_username", "KAFKA_SASL_USERNAME", None, p.non_empty, "SASL user"),
    SettingSpec("sasl_password", "KAFKA_SASL_PASSWORD", None, p.non_empty, "SASL password", True),
    SettingSpec(
        "sasl_password_file",
        "KAFKA_SASL_PASSWORD_FILE",
        None,
        p.existing_file,
        "file holding the SASL password (used unless KAFKA_SASL_PASSWORD is set as high)",
    ),
    SettingSpec(
        "sasl_oauth_method",
        "KAFKA_SASL_OAUTH_METHOD",
        None,
        p.choice(p.OAUTH_METHODS),
        "OAUTHBEARER tokens from: oidc, command, aws-msk-iam (default: from the settings given)",
    ),
    SettingSpec(
        "sasl_oauth_token_endpoint_url",
        "KAFKA_SASL_OAUTH_TOKEN_ENDPOINT_URL",
        None,
        p.token_url,
        "OIDC token endpoint (client credentials grant)",
    ),
    SettingSpec(
        "sasl_oauth_client_id", "KAFKA_SASL_OAUTH_CLIENT_ID", None, p.non_empty, "OIDC client id"
    ),
    SettingSpec(
        "sasl_oauth_client_secret",
        "KAFKA_SASL_OAUTH_CLIENT_SECRET",
        None,
        p.non_empty,
        "OIDC client secret",
        True,
    ),
    SettingSpec(
        "sasl_oauth_client_secret_file",
        "KAFKA_SASL_OAUTH_CLIENT_SECRET_FILE",
        None,
        p.existing_file,
        "file holding the OIDC client secret (used unless the secret is set as high)",
    ),
    SettingSpec(
        "sasl_oauth_scope", "KAFKA_SASL_OAUTH_SCOPE", None, p.non_empty, "OIDC scope (optional)"
    ),
    SettingSpec(
        "sasl_oauth_extensions",
        "KAFKA_SASL_OAUTH_EXTENSIONS",
        None,
        p.extensions,
        "SASL extensions key=value[,...] (e.g. logicalCluster=lkc-1,identityPoolId=pool-2)",
    ),
    SettingSpec(
        "sasl_oauth_token_command",
        "KAFKA_SASL_OAUTH_TOKEN_COMMAND",
        None,
        p.non_empty,
        "command printing a token (JSON with expires_in, or the token alone)",
    ),
    SettingSpec(
        "sasl_oauth_aws_region",
        "KAFKA_SASL_OAUTH_AWS_REGION",
        None,
        p.non_empty,
        "MSK IAM region (default: AWS_REGION, AWS_DEFAULT_REGION, the AWS profile)",
    ),
    SettingSpec(
        "client_options",
        "KAFKA_CLIENT_OPTIONS",
        None,
        p.client_options,
        "engine client settings key=value (one a line; -X key=value)",
    ),
    SettingSpec("ssl_cafile", "KAFKA_SSL_CAFILE", None, p.existing_file, "CA certificate (PEM)"),
    SettingSpec(
        "ssl_certfile", "KAFKA_SSL_CERTFILE", None, p.existing_file, "client certificate (PEM)"
    ),
    SettingSpec("ssl_keyfile", "KAFKA_SSL_KEYFILE", None, p.existing_file, "client key (PEM)"),
    SettingSpec(
        "ssl_check_hostname",
        "KAFKA_SSL_CHECK_HOSTNAME",
        True,
        p.boolean,
        "check that the broker certificate names the host connected to",
    ),
    SettingSpec(
        "schema_registry_url",
        "KAFKA_SCHEMA_REGISTRY_URL",
        None,
        p.http_url,
        "Confluent-compatible schema registry (http[s]://host:port[/path])",
    ),
    SettingSpec(
        "schema_registry_username",
        "KAFKA_SCHEMA_REGISTRY_USERNAME",
        None,
        p.non_empty,
        "registry basic-auth user",
    ),
    SettingSpec(
        "schema_registry_password",
        "KAFKA_SCHEMA_REGISTRY_PASSWORD",
        None,
        p.non_empty,
        "registry basic-auth password",
        True,
    ),
    SettingSpec(
        "schema_registry_cafile",
        "KAFKA_SCHEMA_REGISTRY_CAFILE",
        None,
        p.existing_file,
        "CA certificate (PEM) for an https registry",
    ),
    SettingSpec("producer_acks", "KAFKA_PRODUCER_ACKS", "all", p.acks, "0, 1, all"),
    SettingSpec(
        "producer_idempotent",
        "KAFKA_PRODUCER_IDEMPOTENT",
        True,
        p.boolean,
        "idempotent producer (requires acks=all)",
    ),
    SettingSpec(
        "producer_retries",
        "KAFKA_PRODUCER_RETRIES",
        10,
        p.whole_number(0, p.INT32_MAX),
        "publish attempts on retriable errors",
    ),
    SettingSpec(
        "producer_compression",
        "KAFKA_PRODUCER_COMPRESSION",
        "none",
        p.choice(p.COMPRESSIONS),
        "none, gzip, snappy, lz4, zstd",
    ),
    SettingSpec(
        "producer_linger_ms",
        "KAFKA_PRODUCER_LINGER_MS",
        20,
        p.whole_number(0, 900_000),
        "batching delay",
    ),
    SettingSpec(
        "producer_batch_size",
        "KAFKA_PRODUCER_BATCH_SIZE",
        262144,
        p.whole_number(1, p.INT32_MAX),
        "batch size in bytes",
    ),
    SettingSpec(
        "consumer_group_id",
        "KAFKA_CONSUMER_GROUP_ID",
        None,
        p.group,
        "group (none: consume reads without one)",
    ),
    SettingSpec(
        "consumer_workers", "KAFKA_CONSUMER_WORKERS", 4, p.whole_number(1, 1024), "worker pool"
    ),
    SettingSpec(
        "consumer_fetch_min_bytes",
        "KAFKA_CONSUMER_FETCH_MIN_BYTES",
        None,
        p.whole_number(1, 100_000_000),
        "fetch.min.bytes",
    ),
    SettingSpec(
        "consumer_fetch_max_bytes",
        "KAFKA_CONSUMER_FETCH_MAX_BYTES",
        None,
        p.whole_number(1, 2_147_483_135),
        "fetch.max.bytes",
    ),
    SettingSpec(
        "consumer_max_poll_records",
        "KAFKA_CONSUMER_MAX_POLL_RECORDS",
        None,
        p.whole_number(1, 1_000_000),
        "max.poll.records",
    ),
    SettingSpec(
        "consumer_auto_offset_reset",
        "KAFKA_CONSUMER_AUTO_OFFSET_RESET",
        "earliest",
        p.choice(("earliest", "latest")),
        "earliest, latest",
    ),
    SettingSpec(
        "consumer_isolation_level",
        "KAFKA_CONSUMER_ISOLATION_LEVEL",
        None,
        p.choice(p.ISOLATION_LEVELS),
        "read_uncommitted, read_committed (default: read_committed for replay, else "
        "read_uncommitted); also --isolation-level",
    ),
    SettingSpec(
        "retry_delays", "KAFKA_RETRY_DELAYS", "1s,10s,60s", p.delays, "one delay per retry tier"
    ),
    SettingSpec(
        "retry_topic_template",
        "KAFKA_RETRY_TOPIC_TEMPLATE",
        "{topic}.{group}.retry.{n}",
        p.template({"topic", "n"}, {"topic", "group", "n"}),
        "retry tier names",
    ),
    SettingSpec(
        "dlq_topic_template",
        "KAFKA_DLQ_TOPIC_TEMPLATE",
        "{topic}.{group}.dlq",
        p.template({"topic"}, {"topic", "group"}),
        "DLQ name",
    ),
    SettingSpec(
        "reconnect_backoff_min", "KAFKA_RECONNECT_BACKOFF_MIN", "100ms", p.backoff, "first backoff"
    ),
    SettingSpec(
        "reconnect_backoff_max", "KAFKA_RECONNECT_BACKOFF_MAX", "30s", p.backoff, "longest backoff"
    ),
    SettingSpec(
        "connect_timeout",
        "KAFKA_CONNECT_TIMEOUT",
        "30s",
        p.duration,
        "give up connecting after this long (exit 3)",
    ),
    SettingSpec(
        "health_interval", "KAFKA_HEALTH_INTERVAL", "30s", p.duration, "health loop period"
    ),
    SettingSpec(
        "metrics_port",
        "KAFKA_METRICS_PORT",
        None,
        p.whole_number(0, 65535),
        "Prometheus /metrics port",
    ),
    SettingSpec(
        "log_level", "KAFKA_LOG_LEVEL", "INFO", p.choice(p.LOG_LEVELS, upper=True), "level"
    ),
    SettingSpec(
        "log_format", "KAFKA_LOG_FORMAT", "auto", p.choice(p.LOG_FORMATS), "json, pretty, auto"
    ),
)
SPEC_BY_NAME = {spec.name: spec for spec in SPECS}
SPEC_BY_FILE_KEY = {spec.file_key: spec for spec in SPECS}


def display_value(spec: SettingSpec, value: Any) -> str:
    """How a value is shown to a person (durations as `10s`, lists comma-joined, secrets masked)."""
    if value is None:
        return "-"
    if spec.secret:
        return MASK
    if spec.parse in (p.duration, p.backoff):
        return format_duration(value)
    if spec.parse is p.delays:
        return ",".join(format_duration(v) for v in value)
    if spec.parse in (p.extensions, p.client_options):
        return ",".join(shown_pairs(value))
    if isinstance(value, tuple):
        return ",".join(value)
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def secret_key(key: str) -> bool:
    """Whether a client setting (`-X key=value`) holds a secret, masked wherever shown."""
    name = key.lower()
    return "password" in name or "secret" in name or name.startswith(("sasl.", "sasl_"))


def shown_pairs(pairs: tuple[tuple[str, str], ...]) -> list[str]:
    """`key=value` per pair, the value masked when the key names a secret."""
    return [f"{k}={MASK if secret_key(k) else v}" for k, v in pairs]
