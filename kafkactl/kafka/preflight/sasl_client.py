"""The client side of the SASL mechanisms kafkactl offers (PLAIN, SCRAM-SHA-256/512,
OAUTHBEARER), for the preflight probe's own exchange with a listener: no Kafka library, so a
librdkafka run's preflight loads no kafka-python module.

Each mechanism is the same small state machine: `auth_bytes()` is what to send next,
`receive(bytes)` reads the server's answer (ValueError when it is wrong), `is_done()` says
when the exchange is over.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Protocol

from kafkactl.config import Settings

SCRAM_HASHES = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}
# A server asking for more PBKDF2 rounds than this is not one to spend seconds on.
MAX_SCRAM_ITERATIONS = 1_000_000


class SaslClient(Protocol):
    """One SASL exchange, client side."""

    def auth_bytes(self) -> bytes:
        """The next message to send."""
        ...

    def receive(self, data: bytes) -> None:
        """Read the server's answer to the last message (ValueError: it is wrong)."""
        ...

    def is_done(self) -> bool:
        """True when the exchange is over (and succeeded: failures raise or are answered)."""
        ...


def sasl_client(settings: Settings) -> tuple[SaslClient, str]:
    """The SASL client for the configured mechanism, and who it authenticates as."""
    mechanism = settings.sasl_mechanism or "PLAIN"
    user, password = settings.sasl_username or "", settings.sasl_password or ""
    if mechanism in SCRAM_HASHES:
        return ScramClient(user, password, SCRAM_HASHES[mechanism]), user
    if mechanism == "OAUTHBEARER":
        from kafkactl.kafka import oauth

        cache = oauth.token_cache(settings)
        token = cache.token().value
        return OAuthBearerClient(token, oauth.extensions(settings)), f"the token from {cache.what}"
    return PlainClient(user, password), user


class PlainClient:
    """SASL/PLAIN (RFC 4616): one message with the user and password."""

    def __init__(self, user: str, password: str) -> None:
        self._message = b"\0" + user.encode() + b"\0" + password.encode()
        self._done = False

    def auth_bytes(self) -> bytes:
        """The user and password."""
        return self._message

    def receive(self, data: bytes) -> None:
        """The broker accepted them (a refusal comes as an error code, not here)."""
        self._done = True

    def is_done(self) -> bool:
        """True once answered."""
        return self._done


class OAuthBearerClient:
    """SASL/OAUTHBEARER (RFC 7628): the token and its extensions in one message."""

    def __init__(self, token: str, extensions: dict[str, str]) -> None:
        pairs = "".join(f"\x01{k}={v}" for k, v in extensions.items())
        self._message = f"n,,\x01auth=Bearer {token}{pairs}\x01\x01".encode()
        self._done = False

    def auth_bytes(self) -> bytes:
        """The bearer token message."""
        return self._message

    def receive(self, data: bytes) -> None:
        """An empty answer is success; anything else is the server's error document."""
        if data:
            raise ValueError(data.decode("utf-8", "replace"))
        self._done = True

    def is_done(self) -> bool:
        """True once accepted."""
        return self._done


class ScramClient:
    """SASL/SCRAM-SHA-256 and -512 (RFC 5802, RFC 7677), without channel binding."""

    def __init__(self, user: str, password: str, hash_name: str, nonce: str | None = None) -> None:
        name = user.replace("=", "=3D").replace(",", "=2C")
        self._hash = hash_name
        self._password = password.encode()
        self._nonce = nonce or secrets.token_urlsafe(18)
        self._first_bare = f"n={name},r={self._nonce}"
        self._final = b""
        self._server_signature = b""
        self._step = 0

    def auth_bytes(self) -> bytes:
        """client-first, then client-final."""
        return b"n,," + self._first_bare.encode() if self._step == 0 else self._final

    def receive(self, data: bytes) -> None:
        """server-first (salt, rounds, nonce), then server-final (its signature)."""
        fields = dict(part.split("=", 1) for part in data.decode().split(",") if "=" in part)
        if self._step == 0:
            self._prove(data.decode(), fields)
        elif "e" in fields:
            raise ValueError(f"the server refused the proof: {fields['e']}")
        elif base64.b64decode(fields.get("v", "")) != self._server_signature:
            raise ValueError("the server's SCRAM signature is wrong")
        self._step += 1

    def is_done(self) -> bool:
        """True once the server's signature checked out."""
        return self._step == 2

    def _prove(self, server_first: str, fields: dict[str, str]) -> None:
        nonce, rounds = fields.get("r", ""), int(fields.get("i", "0"))
        if not nonce.startswith(self._nonce) or not 0 < rounds <= MAX_SCRAM_ITERATIONS:
            raise ValueError("the server's SCRAM challenge is not valid")
        salted = hashlib.pbkdf2_hmac(
            self._hash, self._password, base64.b64decode(fields["s"]), rounds
        )
        without_proof = f"c=biws,r={nonce}"
        message = f"{self._first_bare},{server_first},{without_proof}".encode()
        client_key = self._hmac(salted, b"Client Key")
        signature = self._hmac(hashlib.new(self._hash, client_key).digest(), message)
        proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
        self._server_signature = self._hmac(self._hmac(salted, b"Server Key"), message)
        self._final = f"{without_proof},p={base64.b64encode(proof).decode()}".encode()

    def _hmac(self, key: bytes, message: bytes) -> bytes:
        return hmac.new(key, message, self._hash).digest()
