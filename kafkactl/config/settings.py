"""`Settings`: the effective configuration, typed, with the source of every value.

One field per row of the SPECS table (specs.py), in the table's order, then the bookkeeping
fields; tests/unit/test_config.py checks that the fields, their types and the table agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kafkactl.config.specs import MASK, SPECS, display_value, secret_key, shown_pairs


@dataclass(frozen=True)
class Settings:
    """The effective configuration, typed, with the source of every value."""

    brokers: tuple[str, ...]
    client_id: str
    engine: str
    security_protocol: str
    sasl_mechanism: str | None
    sasl_username: str | None
    sasl_password: str | None = field(repr=False)
    sasl_password_file: str | None
    sasl_oauth_method: str | None
    sasl_oauth_token_endpoint_url: str | None
    sasl_oauth_client_id: str | None
    sasl_oauth_client_secret: str | None = field(repr=False)
    sasl_oauth_client_secret_file: str | None
    sasl_oauth_scope: str | None
    sasl_oauth_extensions: tuple[tuple[str, str], ...] | None
    sasl_oauth_token_command: str | None
    sasl_oauth_aws_region: str | None
    client_options: tuple[tuple[str, str], ...] | None = field(repr=False)
    ssl_cafile: str | None
    ssl_certfile: str | None
    ssl_keyfile: str | None
    ssl_check_hostname: bool
    schema_registry_url: str | None
    schema_registry_username: str | None
    schema_registry_password: str | None = field(repr=False)
    schema_registry_cafile: str | None
    producer_acks: int | str
    producer_idempotent: bool
    producer_retries: int
    producer_compression: str
    producer_linger_ms: int
    producer_batch_size: int
    consumer_group_id: str | None
    consumer_workers: int
    consumer_fetch_min_bytes: int | None
    consumer_fetch_max_bytes: int | None
    consumer_max_poll_records: int | None
    consumer_auto_offset_reset: str
    consumer_isolation_level: str | None
    retry_delays: tuple[float, ...]
    retry_topic_template: str
    dlq_topic_template: str
    reconnect_backoff_min: float
    reconnect_backoff_max: float
    connect_timeout: float
    health_interval: float
    metrics_port: int | None
    log_level: str
    log_format: str
    sources: dict[str, str] = field(default_factory=dict, compare=False)
    context: str | None = None
    config_file: str | None = None

    def secrets(self) -> list[str]:
        """Secret values that must never be printed or logged."""
        found = [str(getattr(self, s.name)) for s in SPECS if s.secret and getattr(self, s.name)]
        found += [v for k, v in self.client_options or () if secret_key(k) and v]
        return found

    def rows(self) -> list[tuple[str, str, str]]:
        """(environment variable, displayed value, source) per setting, secrets masked."""
        return [
            (s.env, display_value(s, getattr(self, s.name)), self.sources[s.name]) for s in SPECS
        ]

    def as_dict(self) -> dict[str, dict[str, Any]]:
        """JSON-ready view: setting -> value (secrets masked), env, source."""
        out: dict[str, dict[str, Any]] = {}
        for spec in SPECS:
            value = getattr(self, spec.name)
            if spec.secret and value:
                value = MASK
            elif spec.name in ("client_options", "sasl_oauth_extensions") and value:
                value = shown_pairs(value)
            elif isinstance(value, tuple):
                value = list(value)
            out[spec.name] = {"value": value, "env": spec.env, "source": self.sources[spec.name]}
        return out
