"""The one place that turns settings into kafka-python configs, and connects with backoff.

kafka-python is imported inside functions only, so `kafkactl --help` stays fast.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from loguru import logger

from kafkactl.backoff import Backoff, retry_until
from kafkactl.config import Settings
from kafkactl.errors import ConnectError

# A single bootstrap attempt never waits longer than this; the backoff loop does the rest.
ATTEMPT_TIMEOUT_S = 5.0


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
        "bootstrap_timeout_ms": _attempt_timeout_ms(settings),
    }
    if settings.security_protocol.startswith("SASL_"):
        config.update(
            sasl_mechanism=settings.sasl_mechanism,
            sasl_plain_username=settings.sasl_username,
            sasl_plain_password=settings.sasl_password,
        )
        if settings.sasl_password:
            # kafka-python's DEBUG log prints the config dict (repr) and the PLAIN auth bytes
            # (bytes repr): mask the password in those spellings too.
            import json

            from kafkactl.log import register_secrets

            password = settings.sasl_password
            register_secrets(
                [
                    password,
                    repr(password)[1:-1],
                    repr(password.encode())[2:-1],
                    json.dumps(password)[1:-1],
                ]
            )
    if settings.security_protocol in ("SSL", "SASL_SSL"):
        config.update(
            ssl_cafile=settings.ssl_cafile,
            ssl_certfile=settings.ssl_certfile,
            ssl_keyfile=settings.ssl_keyfile,
            ssl_check_hostname=settings.ssl_check_hostname,
        )
    return config


def _attempt_timeout_ms(settings: Settings) -> int:
    return int(min(ATTEMPT_TIMEOUT_S, settings.connect_timeout) * 1000)


def admin_config(settings: Settings) -> dict[str, Any]:
    """Config for KafkaAdminClient, bootstrapping within one attempt's timeout."""
    return {**common_config(settings), "request_timeout_ms": 15_000}


def producer_config(settings: Settings, **overrides: Any) -> dict[str, Any]:
    """Config for KafkaProducer from the producer settings; `overrides` win."""
    config = {
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
        # Writing to a topic that does not exist is an operator error, not a reason to create it.
        "allow_auto_create_topics": False,
    }
    config.update(overrides)
    return config


def consumer_config(settings: Settings, group_id: str | None, **overrides: Any) -> dict[str, Any]:
    """Config for KafkaConsumer: manual commits, the group and backpressure settings."""
    config: dict[str, Any] = {
        **common_config(settings),
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": settings.consumer_auto_offset_reset,
        # Handlers run on workers, so the poll loop is never busy for long: a short session and
        # rebalance timeout let a killed member's partitions move on in seconds, not minutes
        # (a rebalance waits up to max_poll_interval_ms for every member it still knows).
        "session_timeout_ms": 10_000,
        "heartbeat_interval_ms": 3_000,
        "max_poll_interval_ms": 60_000,
    }
    optional = {
        "fetch_min_bytes": settings.consumer_fetch_min_bytes,
        "fetch_max_bytes": settings.consumer_fetch_max_bytes,
        "max_poll_records": settings.consumer_max_poll_records,
    }
    config.update({k: v for k, v in optional.items() if v is not None})
    config.update(overrides)
    return config


def explain_connect_failure(
    exc: BaseException, settings: Settings, cause: str | None = None
) -> str:
    """One line saying why connecting failed, in the operator's terms.

    `cause` is what kafka-python logged about the last failed attempt, if anything.
    """
    from kafka import errors as kerr

    from kafkactl import preflight
    from kafkactl.log import redact

    brokers = ",".join(settings.brokers)
    if isinstance(exc, preflight.SecurityProblem):
        return redact(str(exc))
    if isinstance(exc, kerr.SaslAuthenticationFailedError | kerr.UnsupportedSaslMechanismError):
        return preflight.auth_failed_message(settings, brokers, redact(str(exc)) or None)
    text = redact(str(exc) or type(exc).__name__)
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate" in text.lower():
        return (
            f"TLS certificate problem at {brokers}: {text}; check KAFKA_SSL_CAFILE "
            "(the CA that signed the broker certificate) and KAFKA_SSL_CHECK_HOSTNAME"
        )
    last = f"; last error: {redact(cause)}" if cause and cause not in text else ""
    return (
        f"cannot reach Kafka at {brokers} within {settings.connect_timeout:g}s ({text}{last}); "
        "check KAFKA_BROKERS / --brokers, KAFKA_SECURITY_PROTOCOL and that the broker is running"
    )


def connect_with_backoff(
    settings: Settings, factory: Callable[[], Any], what: str = "Kafka"
) -> Any:
    """Call `factory` (it bootstraps a client) with backoff until connect timeout; else exit 3.

    Before the first client, a raw probe of a bootstrap server (kafkactl.preflight) turns
    security mistakes into one precise line at once: bad credentials, untrusted certificate,
    hostname mismatch, TLS against a plaintext port and the reverse. Those are not retried.
    With TLS, every client constructor runs under a deadline (kafka-python's TLS handshake has
    none), and kafka-python's log is read for the real cause of a failed bootstrap.
    """
    from kafka import errors as kerr

    from kafkactl import preflight

    deadline = time.monotonic() + settings.connect_timeout
    backoff = Backoff(settings.reconnect_backoff_min, settings.reconnect_backoff_max)
    fatal = (
        kerr.SaslAuthenticationFailedError,
        kerr.UnsupportedSaslMechanismError,
        preflight.SecurityProblem,
    )
    tls = settings.security_protocol in ("SSL", "SASL_SSL")
    attempt_s = _attempt_timeout_ms(settings) / 1000
    state: dict[str, Any] = {"probed": False, "cause": None}

    def attempt() -> Any:
        remaining = max(0.0, deadline - time.monotonic())
        if not state["probed"]:
            try:
                result = preflight.check(settings, min(attempt_s, max(remaining, 0.5)))
            except preflight.NoAnswer as exc:
                state["cause"] = str(exc)
                raise _RetryConnect(exc) from exc
            if result is not None:
                state["probed"] = True
                logger.debug("preflight {}: {}", result.server, result.detail)
        with preflight.KafkaLogCapture() as captured:
            try:
                if tls:
                    guard = max(1.0, min(attempt_s + 2.0, deadline - time.monotonic() + 0.5))
                    return preflight.call_with_deadline(factory, guard)
                return factory()
            except fatal:
                raise
            except (kerr.KafkaError, OSError, preflight.ClientTimeout) as exc:
                why = captured.auth_failure()
                if why is not None:
                    raise preflight.SecurityProblem(
                        preflight.auth_failed_message(settings, ",".join(settings.brokers), why)
                    ) from exc
                cert = captured.certificate_failure()
                if cert is not None:
                    raise preflight.SecurityProblem(
                        f"TLS certificate problem at {','.join(settings.brokers)}: certificate "
                        f"verify failed ({cert}); check KAFKA_SSL_CAFILE and "
                        "KAFKA_SSL_CHECK_HOSTNAME"
                    ) from exc
                state["cause"] = captured.last_failure() or state["cause"]
                raise _RetryConnect(exc) from exc

    def log_failure(n: int, exc: Exception, delay: float) -> None:
        cause = exc.__cause__ or exc
        logger.warning(
            "connecting to {} at {} failed (attempt {}): {}; retrying in {:.1f}s",
            what,
            ",".join(settings.brokers),
            n,
            cause,
            delay,
        )

    try:
        return retry_until(attempt, backoff, deadline, log_failure, retry_on=(_RetryConnect,))
    except _RetryConnect as exc:
        raise ConnectError(
            explain_connect_failure(exc.__cause__ or exc, settings, state["cause"])
        ) from None
    except fatal as exc:
        raise ConnectError(explain_connect_failure(exc, settings)) from None


class _RetryConnect(Exception):
    """Marks a connection failure worth another attempt."""


def connect_admin(settings: Settings) -> Any:
    """A connected KafkaAdminClient; exits 3 when the cluster stays unreachable."""
    from kafka import KafkaAdminClient

    return connect_with_backoff(
        settings, lambda: KafkaAdminClient(**admin_config(settings)), "the cluster"
    )


class HealthLoop:
    """Background thread that probes the cluster every interval and logs loss and recovery."""

    def __init__(
        self, probe: Callable[[], Any], interval: float, name: str = "kafka-health"
    ) -> None:
        self._probe = probe
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.healthy = True
        self.last_error: str | None = None
        self.checks = 0

    def start(self) -> HealthLoop:
        """Start probing in the background."""
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop probing and wait for the thread to end."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def check_once(self) -> bool:
        """Run one probe now, log a state change, and return whether the cluster answered."""
        self.checks += 1
        try:
            try:
                self._probe()
            except Exception:
                # An idle connection the broker closed fails the first request; ask once more.
                if self._stop.wait(1.0):
                    return self.healthy
                self._probe()
        except Exception as exc:
            self.last_error = str(exc) or type(exc).__name__
            if self.healthy:
                logger.warning("lost contact with the Kafka cluster: {}", self.last_error)
            self.healthy = False
            return False
        if not self.healthy:
            logger.info("Kafka cluster reachable again")
        self.healthy = True
        self.last_error = None
        return True

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.check_once()
