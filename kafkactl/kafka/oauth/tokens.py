"""OAUTHBEARER tokens: what a token source returns, the cache every client of a run shares,
and what a token says about itself (a JWT's claims, read without checking the signature)."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from loguru import logger

from kafkactl.errors import ConnectError

# A token is fetched again once this share of its lifetime has passed (librdkafka and the Java
# client refresh at 80 % too), and never later than this many seconds before it expires.
REFRESH_AT = 0.8
REFRESH_MARGIN_S = 5.0


class TokenError(ConnectError):
    """No token could be had (a refused secret, an unreachable endpoint, a failed command)."""


@dataclass(frozen=True)
class Token:
    """A bearer token, when it expires (epoch seconds) and the principal it names."""

    value: str
    expires_at: float
    principal: str


def jwt_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT (its middle part), unverified; {} when the token is not a JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, UnicodeDecodeError):
        return {}
    return claims if isinstance(claims, dict) else {}


def principal_of(token: str, default: str = "kafkactl") -> str:
    """The principal a token names (a JWT's `sub`), for librdkafka, which wants one."""
    sub = jwt_claims(token).get("sub")
    return sub if isinstance(sub, str) and sub else default


def register_token(value: str) -> None:
    """A token is a credential: masked in every log line from now on."""
    from kafkactl.log import register_secrets

    register_secrets([value, json.dumps(value)[1:-1]])


class TokenCache:
    """The current token of one source, fetched on first use and again before it expires.

    Shared by every client of a run (the admin client, producers, consumers, the preflight
    probe): one token request serves them all. A refresh that fails while the current token
    is still valid is logged and retried on the next use; past expiry, the error is raised.
    """

    def __init__(self, fetch: Callable[[], Token], what: str) -> None:
        self._fetch = fetch
        self.what = what
        self._lock = threading.Lock()
        self._token: Token | None = None
        self._refresh_at = 0.0

    def token(self) -> Token:
        """A token valid now, fetched when the cached one is due for a refresh."""
        with self._lock:
            now = time.time()
            current = self._token
            if current is not None and now < self._refresh_at:
                return current
            try:
                fresh = self._fetch()
            except TokenError as exc:
                if current is not None and now < current.expires_at - 1.0:
                    logger.warning(
                        "refreshing the OAuth token failed (kept the current one): {}", exc
                    )
                    self._refresh_at = now + min(30.0, (current.expires_at - now) / 2)
                    return current
                raise
            register_token(fresh.value)
            lifetime = max(0.0, fresh.expires_at - now)
            self._refresh_at = now + min(lifetime * REFRESH_AT, lifetime - REFRESH_MARGIN_S)
            self._token = fresh
            logger.debug(
                "OAuth token from {} for {}, valid {:.0f}s", self.what, fresh.principal, lifetime
            )
            return fresh

    def current(self) -> Token | None:
        """The token last handed out, if any (for telling why a broker refused it)."""
        return self._token
