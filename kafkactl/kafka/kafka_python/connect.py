"""Bootstrapping a kafka-python client: its errors mapped for connect_with_backoff."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from kafkactl.config import Settings
from kafkactl.kafka import preflight
from kafkactl.kafka.connect import RetryConnect, attempt_timeout, connect_with_backoff

T = TypeVar("T")


def connect(settings: Settings, factory: Callable[[], T], what: str = "Kafka") -> T:
    """Build a kafka-python client with backoff; security mistakes become one line (exit 3).

    With TLS the constructor runs under a deadline (kafka-python's TLS handshake has none),
    and kafka-python's log is read for the real cause of a failed bootstrap.
    """
    from kafka import errors as kerr

    tls = settings.security_protocol in ("SSL", "SASL_SSL")
    brokers = ",".join(settings.brokers)

    attempt_s = attempt_timeout(settings)

    def attempt(remaining: float) -> T:
        with preflight.KafkaLogCapture() as captured:
            try:
                if tls:
                    # The client bootstraps for up to attempt_s itself; the guard is for a
                    # handshake that never ends, and never outlives the connect timeout.
                    guard = max(1.0, min(attempt_s + 2.0, remaining + 0.5))
                    return preflight.call_with_deadline(factory, guard)
                return factory()
            except (kerr.SaslAuthenticationFailedError, kerr.UnsupportedSaslMechanismError) as e:
                raise preflight.SecurityProblem(
                    preflight.auth_failed_message(settings, brokers, str(e) or None)
                ) from e
            except (kerr.KafkaError, OSError, preflight.ClientTimeout) as exc:
                why = captured.auth_failure()
                if why is not None:
                    raise preflight.SecurityProblem(
                        preflight.auth_failed_message(settings, brokers, why)
                    ) from exc
                cert = captured.certificate_failure()
                if cert is not None:
                    raise preflight.SecurityProblem(
                        f"TLS certificate problem at {brokers}: certificate verify failed "
                        f"({cert}); check KAFKA_SSL_CAFILE and KAFKA_SSL_CHECK_HOSTNAME"
                    ) from exc
                cause = captured.last_failure() or str(exc) or type(exc).__name__
                raise RetryConnect(cause, exc) from exc

    return connect_with_backoff(settings, attempt, what)
