"""Bootstrapping a kafka-python client: its errors mapped for connect_with_backoff."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from kafkactl.config import Settings
from kafkactl.errors import UsageError
from kafkactl.kafka import preflight
from kafkactl.kafka.connect import RetryConnect, attempt_timeout, connect_with_backoff

T = TypeVar("T")


def connect(settings: Settings, factory: Callable[[], T], what: str = "Kafka") -> T:
    """Build a kafka-python client with backoff; security mistakes become one line (exit 3).

    The constructor runs under a deadline that never outlives the connect timeout
    (kafka-python's bootstrap can take longer than its bootstrap_timeout_ms, and its TLS
    handshake has no timeout at all); kafka-python's log is read for the real cause of a
    failed bootstrap.
    """
    from kafka import errors as kerr

    tls = settings.security_protocol in ("SSL", "SASL_SSL")
    brokers = ",".join(settings.brokers)

    attempt_s = attempt_timeout(settings)

    def attempt(remaining: float) -> T:
        with preflight.KafkaLogCapture() as captured:
            try:
                # The client bootstraps for up to attempt_s itself; the guard is for a
                # bootstrap or handshake that runs longer, and ends with the connect timeout.
                guard = min(attempt_s + 2.0, remaining) if tls else min(attempt_s + 1.0, remaining)
                return preflight.call_with_deadline(factory, guard)
            except kerr.KafkaConfigurationError as e:
                # Settings kafka-python refuses at construction (e.g. -X values that do not fit
                # together): no attempt can succeed, so say it now (exit 2), not after 30 s.
                raise UsageError(
                    f"kafka-python refused the client settings: {e}; check -X / "
                    "KAFKA_CLIENT_OPTIONS and the KAFKA_PRODUCER_* / KAFKA_CONSUMER_* settings"
                ) from e
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
