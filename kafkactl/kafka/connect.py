"""Connecting with backoff (DESIGN §3.5), the same for every engine, and the background health loop.

An engine supplies one `attempt(remaining)` that builds and bootstraps a client within one
attempt's time (`attempt_timeout`) and never past `remaining` seconds. It raises
`RetryConnect` for a failure worth another try and `preflight.SecurityProblem` for a mistake
the operator must fix; everything else is the engine's bug and propagates.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from loguru import logger

from kafkactl.backoff import Backoff, retry_until
from kafkactl.config import Settings
from kafkactl.errors import ConnectError
from kafkactl.kafka import preflight

T = TypeVar("T")

# A single bootstrap attempt never waits longer than this; the backoff loop does the rest.
ATTEMPT_TIMEOUT_S = 5.0
# No attempt starts with less time than this left before the connect timeout.
MIN_ATTEMPT_S = 0.05
# The first connection of a CLI run counts its timeout from the start of the process, by at
# most this much (see connect_deadline).
MAX_STARTUP_CREDIT_S = 1.0
_startup: dict[str, float | None] = {"started": None}


class RetryConnect(Exception):
    """A connection attempt failed in a way another attempt may fix; `cause` says why."""

    def __init__(self, cause: str, error: BaseException | None = None) -> None:
        super().__init__(cause)
        self.cause = cause
        self.error = error


def connect_deadline(settings: Settings) -> float:
    """The monotonic time at which connecting gives up.

    The first connection of a CLI run counts from when the command started (see
    `count_from_process_start`), so `--connect-timeout 3s` ends the command about 3 s after it
    was started, start-up included; any later connection (the producer after the admin
    client) gets the full time.
    """
    return time.monotonic() - take_startup_credit() + settings.connect_timeout


def count_from_process_start() -> None:
    """Called by the CLI at start: its first connection's timeout includes the start-up."""
    _startup["started"] = time.monotonic() - _process_age()


def take_startup_credit() -> float:
    """Seconds the first connection started late after the process did (0.0 after that)."""
    started, _startup["started"] = _startup["started"], None
    if started is None:
        return 0.0
    return max(0.0, min(time.monotonic() - started, MAX_STARTUP_CREDIT_S))


def _process_age() -> float:
    """Seconds since this process started (0.0 where /proc cannot tell)."""
    import os

    try:
        with open("/proc/self/stat", encoding="ascii") as stat:
            start_ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime", encoding="ascii") as uptime:
            up = float(uptime.read().split()[0])
        return max(0.0, up - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return 0.0


def attempt_timeout(settings: Settings) -> float:
    """How long one bootstrap attempt may take."""
    return min(ATTEMPT_TIMEOUT_S, settings.connect_timeout)


def register_password(settings: Settings) -> None:
    """Mask the SASL password in every spelling a library may log it in (repr, bytes, JSON)."""
    if not settings.sasl_password:
        return
    import json

    from kafkactl.log import register_secrets

    password = settings.sasl_password
    register_secrets(
        [password, repr(password)[1:-1], repr(password.encode())[2:-1], json.dumps(password)[1:-1]]
    )


def unreachable_message(settings: Settings, text: str, cause: str | None = None) -> str:
    """One line saying the cluster could not be reached, in the operator's terms."""
    from kafkactl.log import redact

    brokers = ",".join(settings.brokers)
    text = redact(text)
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify" in text.lower():
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
    settings: Settings, attempt: Callable[[float], T], what: str = "Kafka"
) -> T:
    """Call `attempt` (it bootstraps a client) with backoff until connect timeout; else exit 3.

    Before the first client, a raw probe of a bootstrap server (kafkactl.kafka.preflight) turns
    security mistakes into one precise line at once: bad credentials, untrusted certificate,
    hostname mismatch, TLS against a plaintext port and the reverse. Those are not retried.

    Every step gets only the time left before the deadline (an engine's `attempt` must not
    outlive its `remaining`), and no attempt starts once the deadline is reached, so giving up
    takes the connect timeout plus the time to close a client, well under a second.
    """
    from kafkactl.config.files import out_of_files
    from kafkactl.log import redact

    deadline = connect_deadline(settings)
    backoff = Backoff(settings.reconnect_backoff_min, settings.reconnect_backoff_max)
    attempt_s = attempt_timeout(settings)
    state: dict[str, Any] = {"probed": False, "cause": None, "last": None}

    def time_left() -> float:
        remaining = deadline - time.monotonic()
        if remaining < MIN_ATTEMPT_S:
            last = state["last"]
            raise last if last is not None else RetryConnect("connect timeout reached")
        return remaining

    def once() -> T:
        remaining = time_left()
        if not state["probed"]:
            try:
                result = preflight.check(settings, min(attempt_s, remaining))
            except preflight.NoAnswer as exc:
                state["cause"] = str(exc)
                state["last"] = RetryConnect(str(exc), exc)
                raise state["last"] from exc
            if result is not None:
                state["probed"] = True
                logger.debug("preflight {}: {}", result.server, result.detail)
        try:
            return attempt(time_left())
        except RetryConnect as exc:
            full = out_of_files(exc.error or exc)  # the process's limit: no retry can help
            if full is not None:
                raise full from None
            state["cause"] = exc.cause or state["cause"]
            state["last"] = exc
            raise

    def log_failure(n: int, exc: Exception, delay: float) -> None:
        logger.warning(
            "connecting to {} at {} failed (attempt {}): {}; retrying in {:.1f}s",
            what,
            ",".join(settings.brokers),
            n,
            redact(str(exc)),
            delay,
        )

    try:
        return retry_until(once, backoff, deadline, log_failure, retry_on=(RetryConnect,))
    except RetryConnect as exc:
        text = str(exc.error or exc) or type(exc.error or exc).__name__
        raise ConnectError(unreachable_message(settings, text, state["cause"])) from None
    except preflight.SecurityProblem as exc:
        raise ConnectError(redact(str(exc))) from None


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
