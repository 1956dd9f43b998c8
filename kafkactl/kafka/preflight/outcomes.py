"""What a probe can conclude: a definite security problem, no answer, or nothing definite."""

from __future__ import annotations

from dataclasses import dataclass


class SecurityProblem(Exception):
    """A configuration mistake the broker told us about; retrying cannot fix it (exit 3)."""


class Inconclusive(Exception):
    """The probe could not tell; the caller connects the normal way."""


class NoAnswer(Inconclusive):
    """The server did not answer in time (TCP connect, TLS handshake or a Kafka request).

    A client would wait just as long (and kafka-python's TLS handshake has no timeout at all),
    so the caller counts this as a failed attempt instead of letting a client try.
    """


@dataclass
class ProbeResult:
    """What the probe established about one server."""

    server: str
    detail: str
