"""SASL/OAUTHBEARER for both engines (DESIGN §3.5): one token cache per run, fed by
an OIDC token endpoint, a token command or AWS MSK IAM, handed to kafka-python as a token
provider and to librdkafka as its `oauth_cb`; and the one line for a token a broker refused.

tokens.py    Token, TokenCache (refresh before expiry), TokenError (exit 3), JWT claims
sources.py   OidcSource, CommandSource, MskIamSource
"""

from __future__ import annotations

import time
from typing import Any

from kafkactl.config import Settings
from kafkactl.kafka.oauth.sources import (
    COMMAND_TIMEOUT_S,
    CommandSource,
    MskIamSource,
    OidcSource,
)
from kafkactl.kafka.oauth.tokens import Token, TokenCache, TokenError, jwt_claims

__all__ = [
    "Token",
    "TokenCache",
    "TokenError",
    "extensions",
    "librdkafka_callback",
    "refused_message",
    "token_cache",
]

# HTTP timeout of one token request: an identity provider answers in well under a second.
TOKEN_REQUEST_TIMEOUT_S = 10.0

_caches: dict[tuple[Any, ...], TokenCache] = {}


def token_cache(settings: Settings) -> TokenCache:
    """The token cache for these settings, shared by every client of the run."""
    key = (
        settings.sasl_oauth_method,
        settings.sasl_oauth_token_endpoint_url,
        settings.sasl_oauth_client_id,
        settings.sasl_oauth_client_secret,
        settings.sasl_oauth_scope,
        settings.sasl_oauth_token_command,
        settings.sasl_oauth_aws_region,
    )
    cache = _caches.get(key)
    if cache is None:
        source = _source(settings)
        cache = _caches[key] = TokenCache(source.fetch, source.what)
    return cache


def _source(settings: Settings) -> OidcSource | CommandSource | MskIamSource:
    method = settings.sasl_oauth_method
    if method == "command":
        assert settings.sasl_oauth_token_command is not None  # checked by config.rules
        return CommandSource(
            settings.sasl_oauth_token_command, min(COMMAND_TIMEOUT_S, settings.connect_timeout)
        )
    if method == "aws-msk-iam":
        return MskIamSource(settings.sasl_oauth_aws_region)
    url, client, secret = (
        settings.sasl_oauth_token_endpoint_url,
        settings.sasl_oauth_client_id,
        settings.sasl_oauth_client_secret,
    )
    assert url and client and secret  # checked by config.rules
    timeout = min(TOKEN_REQUEST_TIMEOUT_S, settings.connect_timeout)
    return OidcSource(url, client, secret, settings.sasl_oauth_scope, timeout)


def extensions(settings: Settings) -> dict[str, str]:
    """The SASL extensions sent with the token (Confluent Cloud's logicalCluster, ...)."""
    return dict(settings.sasl_oauth_extensions or ())


def librdkafka_callback(settings: Settings) -> Any:
    """librdkafka's `oauth_cb`: (token, expiry in epoch seconds, principal, extensions)."""
    cache = token_cache(settings)
    ext = extensions(settings)

    def oauth_cb(_config: str) -> tuple[str, float, str, dict[str, str]]:
        token = cache.token()
        return token.value, token.expires_at, token.principal, ext

    return oauth_cb


def refused_message(settings: Settings, server: str, why: str | None) -> str:
    """The one line for a token the broker refused, saying whether it had expired."""
    detail = f"; the broker said: {_broker_reason(why)}" if why else ""
    where = f"token from {token_cache(settings).what}"
    current = token_cache(settings).current()
    exp = jwt_claims(current.value).get("exp") if current else None
    if isinstance(exp, int | float) and exp <= time.time():
        ago = time.time() - exp
        return (
            f"the broker at {server} refused the OAuth token: it expired {ago:.0f}s ago "
            f"({where}{detail}); the token source must hand out fresh tokens (check the "
            "clock too)"
        )
    return (
        f"the broker at {server} refused the OAuth token ({where}{detail}): its signature, "
        "issuer, audience or scope is not what the broker accepts; check the identity "
        "provider the broker trusts (its JWKS) and KAFKA_SASL_OAUTH_SCOPE"
    )


def _broker_reason(why: str) -> str:
    """The broker's reason: the `status` of its JSON error answer, else the text as it is."""
    import json

    try:
        answer = json.loads(why)
    except ValueError:
        return why.rstrip(".")
    if isinstance(answer, dict) and isinstance(answer.get("status"), str):
        return str(answer["status"])
    return why.rstrip(".")
