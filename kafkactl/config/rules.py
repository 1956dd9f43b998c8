"""Rules across settings: an idempotent producer needs acks=all, backoffs in order, SASL
needs a mechanism and credentials, registry basic auth needs both user and password."""

from __future__ import annotations

from typing import Any

from kafkactl.config.parsers import SASL_MECHANISMS
from kafkactl.config.specs import SPEC_BY_NAME
from kafkactl.errors import ConfigError


def check_combinations(values: dict[str, Any], sources: dict[str, str]) -> None:
    """Cross-setting rules; an idempotent producer needs acks=all."""
    if values["producer_idempotent"] and values["producer_acks"] != "all":
        if sources["producer_idempotent"] == "default":
            # acks was lowered on purpose: idempotence is off rather than an error.
            values["producer_idempotent"] = False
            sources["producer_idempotent"] = f"default (off: acks={values['producer_acks']})"
        else:
            raise ConfigError(
                "KAFKA_PRODUCER_IDEMPOTENT",
                sources["producer_idempotent"],
                f"an idempotent producer requires acks=all, but acks is "
                f"{values['producer_acks']} (from {sources['producer_acks']}); "
                "set acks=all or turn idempotence off",
            )
    if values["reconnect_backoff_min"] > values["reconnect_backoff_max"]:
        raise ConfigError(
            "KAFKA_RECONNECT_BACKOFF_MIN",
            sources["reconnect_backoff_min"],
            "must not be longer than KAFKA_RECONNECT_BACKOFF_MAX",
        )
    mechanism = values["sasl_mechanism"]
    if values["security_protocol"].startswith("SASL_"):
        if not mechanism:
            raise ConfigError(
                "KAFKA_SASL_MECHANISM",
                sources["sasl_mechanism"],
                f"required with {values['security_protocol']}; use one of "
                + ", ".join(SASL_MECHANISMS),
            )
        if mechanism == "OAUTHBEARER":
            check_oauth(values, sources)
        for name in ("sasl_username", "sasl_password"):
            if mechanism != "OAUTHBEARER" and not values[name]:
                hint = " (or KAFKA_SASL_PASSWORD_FILE)" if name == "sasl_password" else ""
                raise ConfigError(
                    SPEC_BY_NAME[name].env,
                    sources[name],
                    f"required with {values['security_protocol']} ({mechanism}){hint}",
                )
    _check_registry(values, sources)


# What each way of getting OAUTHBEARER tokens needs, and the settings that pick it.
OAUTH_NEEDS = {
    "oidc": ("sasl_oauth_token_endpoint_url", "sasl_oauth_client_id", "sasl_oauth_client_secret"),
    "command": ("sasl_oauth_token_command",),
    "aws-msk-iam": (),
}


def check_oauth(values: dict[str, Any], sources: dict[str, str]) -> None:
    """OAUTHBEARER: one way to get tokens (inferred from the settings given when
    KAFKA_SASL_OAUTH_METHOD is unset) and everything that way needs."""
    method = values["sasl_oauth_method"]
    if method is None:
        given = [
            m
            for m, key in (
                ("command", "sasl_oauth_token_command"),
                ("oidc", "sasl_oauth_token_endpoint_url"),
            )
            if values[key]
        ]
        if not given:
            raise ConfigError(
                "KAFKA_SASL_MECHANISM",
                sources["sasl_mechanism"],
                "OAUTHBEARER needs a way to get tokens: KAFKA_SASL_OAUTH_TOKEN_ENDPOINT_URL "
                "(OIDC client credentials), KAFKA_SASL_OAUTH_TOKEN_COMMAND, or "
                "KAFKA_SASL_OAUTH_METHOD=aws-msk-iam",
            )
        if len(given) > 1:
            raise ConfigError(
                "KAFKA_SASL_OAUTH_TOKEN_COMMAND",
                sources["sasl_oauth_token_command"],
                "both a token command and a token endpoint are set; unset one, or choose with "
                "KAFKA_SASL_OAUTH_METHOD=oidc|command",
            )
        method = values["sasl_oauth_method"] = given[0]
        key = "sasl_oauth_token_command" if method == "command" else "sasl_oauth_token_endpoint_url"
        sources["sasl_oauth_method"] = f"default (from {SPEC_BY_NAME[key].env})"
    for name in OAUTH_NEEDS[method]:
        if not values[name]:
            hint = " (or KAFKA_SASL_OAUTH_CLIENT_SECRET_FILE)" if name.endswith("secret") else ""
            raise ConfigError(
                SPEC_BY_NAME[name].env,
                sources[name],
                f"required with KAFKA_SASL_MECHANISM=OAUTHBEARER and method {method}{hint}",
            )
    if method == "aws-msk-iam" and values["security_protocol"] != "SASL_SSL":
        raise ConfigError(
            "KAFKA_SECURITY_PROTOCOL",
            sources["security_protocol"],
            "MSK IAM authentication needs SASL_SSL (MSK's IAM listeners are TLS only)",
        )


def _check_registry(values: dict[str, Any], sources: dict[str, str]) -> None:
    """Registry basic auth needs a user and a password together."""
    user, password = values["schema_registry_username"], values["schema_registry_password"]
    if bool(user) != bool(password):
        missing = "schema_registry_password" if user else "schema_registry_username"
        given = "schema_registry_username" if user else "schema_registry_password"
        raise ConfigError(
            SPEC_BY_NAME[missing].env,
            sources[missing],
            f"required with {SPEC_BY_NAME[given].env} (registry basic auth needs both)",
        )
