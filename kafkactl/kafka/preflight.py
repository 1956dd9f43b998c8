"""A raw look at a bootstrap server before kafka-python connects, so security mistakes fail fast.

kafka-python 3 turns most security mistakes into a 30 s "Unable to bootstrap" timeout: a wrong
SASL password, an untrusted certificate, or the wrong protocol for the port only show up in its
logs, and a TLS handshake with a silent peer can hang. This module talks to one bootstrap server
itself, with a socket timeout on every step, using the same settings as the clients:

- TCP connect, then (SSL, SASL_SSL) a TLS handshake with the client's SSL context;
- SASL_*: SaslHandshake and SaslAuthenticate (the mechanism classes of kafka-python);
- otherwise ApiVersions and an empty Metadata request.

A definite answer the operator must fix (bad credentials, certificate problem, plaintext where
TLS is expected, a SASL listener reached without SASL, ...) raises SecurityProblem with one line
that says what is wrong and what to do. Anything else (refused, timed out, odd bytes) is left to
the normal connect-with-backoff path: the probe never blocks a connection it does not understand.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kafkactl.config import Settings
from kafkactl.errors import ConfigError

# Kafka API keys and the (non-flexible) versions the probe speaks.
METADATA, SASL_HANDSHAKE, API_VERSIONS, SASL_AUTHENTICATE = 3, 17, 18, 36
ILLEGAL_SASL_STATE, UNSUPPORTED_SASL_MECHANISM = 34, 33
MAX_FRAME = 100 * 1024 * 1024
CLIENT_ID = b"kafkactl-preflight"


class SecurityProblem(Exception):
    """A configuration mistake the broker told us about; retrying cannot fix it (exit 3)."""


class Inconclusive(Exception):
    """The probe could not tell; the caller connects the normal way."""


class NoAnswer(Inconclusive):
    """The server did not answer in time (TCP connect, TLS handshake or a Kafka request).

    A client would wait just as long (and kafka-python's TLS handshake has no timeout at all),
    so the caller counts this as a failed attempt instead of letting a client try.
    """


class _NotKafka(Exception):
    """The peer answered with bytes that are not a Kafka response."""

    def __init__(self, head: bytes) -> None:
        super().__init__(head[:8].hex())
        self.head = head


@dataclass
class ProbeResult:
    """What the probe established about one server."""

    server: str
    detail: str


def check(settings: Settings, timeout: float) -> ProbeResult | None:
    """Probe the bootstrap servers in order until one answers; None when none could be probed.

    Raises SecurityProblem on a definite misconfiguration (ConfigError for unusable TLS files),
    and NoAnswer when the last server tried did not answer in time.
    """
    deadline = time.monotonic() + timeout
    last: Inconclusive | None = None
    for server in settings.brokers:
        if time.monotonic() >= deadline:
            break
        host, _, port = server.rpartition(":")
        try:
            return _probe(settings, host.strip("[]"), int(port), deadline)
        except (SecurityProblem, ConfigError):
            raise
        except Inconclusive as exc:
            last = exc
        except Exception as exc:  # a reply the probe does not understand: let a client try
            last = Inconclusive(f"{server}: {type(exc).__name__}: {exc}")
    if isinstance(last, NoAnswer):
        raise last
    return None


def _probe(settings: Settings, host: str, port: int, deadline: float) -> ProbeResult:
    protocol = settings.security_protocol
    server = f"{host}:{port}"
    tls = protocol in ("SSL", "SASL_SSL")
    context = client_ssl_context(settings) if tls else None
    sock = _connect(host, port, deadline)
    try:
        if context is not None:
            sock = _tls_handshake(context, sock, host, port, deadline, settings)
        if protocol.startswith("SASL_"):
            detail = _authenticate(sock, settings, server, deadline)
        else:
            detail = _plain_requests(sock, settings, server, deadline, context)
        return ProbeResult(server, detail)
    finally:
        _close(sock)


# --- TLS -------------------------------------------------------------------------------------


def client_ssl_context(settings: Settings) -> ssl.SSLContext:
    """The SSL context kafka-python builds from the same settings (transport.py)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.check_hostname = settings.ssl_check_hostname
    if settings.ssl_cafile:
        try:
            ctx.load_verify_locations(settings.ssl_cafile)
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError(
                "KAFKA_SSL_CAFILE",
                settings.sources.get("ssl_cafile", "?"),
                f"cannot use {settings.ssl_cafile!r} ({_ssl_reason(exc)}); "
                "it must hold PEM CA certificates",
            ) from None
    else:
        ctx.load_default_certs()
    if settings.ssl_certfile:
        try:
            ctx.load_cert_chain(settings.ssl_certfile, settings.ssl_keyfile)
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError(
                "KAFKA_SSL_CERTFILE",
                settings.sources.get("ssl_certfile", "?"),
                f"cannot use {settings.ssl_certfile!r} with KAFKA_SSL_KEYFILE "
                f"{settings.ssl_keyfile or '-'} ({_ssl_reason(exc)}); they must be the PEM "
                "client certificate and its unencrypted key",
            ) from None
    return ctx


def _tls_handshake(
    context: ssl.SSLContext,
    sock: socket.socket,
    host: str,
    port: int,
    deadline: float,
    settings: Settings,
) -> ssl.SSLSocket:
    server = f"{host}:{port}"
    sock.settimeout(_remaining(deadline))
    try:
        return context.wrap_socket(sock, server_hostname=host)
    except ssl.SSLCertVerificationError as exc:
        raise SecurityProblem(certificate_message(exc, server, settings)) from None
    except TimeoutError:
        raise NoAnswer(
            f"the TLS handshake with {server} got no answer in time; is {server} a TLS listener?"
        ) from None
    except (ssl.SSLError, OSError) as exc:
        reason = _ssl_reason(exc)
    # The handshake broke: a plaintext Kafka listener closes on a ClientHello (it reads it as an
    # oversized request). Ask the port in plaintext to tell the operator which one it is.
    if _answers_plaintext_kafka(host, port, deadline):
        use = "SASL_PLAINTEXT" if settings.security_protocol == "SASL_SSL" else "PLAINTEXT"
        raise SecurityProblem(
            f"{server} answered with plaintext Kafka, not TLS: it is not a TLS listener; "
            f"use the broker's {settings.security_protocol} port or set "
            f"KAFKA_SECURITY_PROTOCOL={use}"
        )
    raise SecurityProblem(f"the TLS handshake with {server} failed: {reason}")


def certificate_message(exc: ssl.SSLCertVerificationError, server: str, settings: Settings) -> str:
    """One line naming the certificate problem and the setting to fix."""
    why = str(getattr(exc, "verify_message", "") or _ssl_reason(exc)).rstrip(".")
    if "hostname mismatch" in why.lower() or "ip address mismatch" in why.lower():
        return (
            f"TLS certificate problem at {server}: hostname mismatch ({why}); connect with a "
            "name the broker certificate lists, or set KAFKA_SSL_CHECK_HOSTNAME=false "
            "(not for production)"
        )
    ca = settings.ssl_cafile or "the system CA store"
    return (
        f"TLS certificate problem at {server}: certificate verify failed ({why}); the broker "
        f"certificate is not trusted by {ca}: set KAFKA_SSL_CAFILE to the CA that signed it"
    )


def _ssl_reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError):
        return str(exc.reason or exc)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _answers_plaintext_kafka(host: str, port: int, deadline: float) -> bool:
    try:
        sock = _connect(host, port, deadline)
    except Inconclusive:
        return False
    try:
        _request(sock, API_VERSIONS, 0, b"", deadline)
        return True
    except (OSError, _NotKafka, EOFError):
        return False
    finally:
        _close(sock)


# --- SASL ------------------------------------------------------------------------------------


def _authenticate(sock: socket.socket, settings: Settings, server: str, deadline: float) -> str:
    from kafka.net.sasl import get_sasl_mechanism

    mechanism_name = settings.sasl_mechanism or "PLAIN"
    user = settings.sasl_username
    tls = isinstance(sock, ssl.SSLSocket)
    try:
        body = _request(sock, SASL_HANDSHAKE, 1, _string(mechanism_name), deadline)
    except _NotKafka as exc:
        if exc.head[:2] == b"\x15\x03" and not tls:
            raise SecurityProblem(
                f"{server} speaks TLS: it is a TLS listener; set KAFKA_SECURITY_PROTOCOL=SASL_SSL "
                "(and KAFKA_SSL_CAFILE) or use the broker's SASL_PLAINTEXT port"
            ) from None
        raise Inconclusive(f"{server} did not answer the SASL handshake like Kafka") from None
    except TimeoutError:
        raise NoAnswer(f"{server} did not answer the SASL handshake in time") from None
    except (OSError, EOFError) as exc:
        raise Inconclusive(f"{server} closed the connection in the SASL handshake: {exc}") from None
    error, mechanisms = _parse_handshake(body)
    if error == ILLEGAL_SASL_STATE:
        use = "SSL" if tls else "PLAINTEXT"
        raise SecurityProblem(
            f"{server} is not a SASL listener (the broker refused the SASL handshake); "
            f"set KAFKA_SECURITY_PROTOCOL={use} or use the broker's "
            f"{settings.security_protocol} port"
        )
    if error == UNSUPPORTED_SASL_MECHANISM or (error == 0 and mechanism_name not in mechanisms):
        raise SecurityProblem(
            f"{server} does not enable SASL mechanism {mechanism_name} (it offers "
            f"{', '.join(mechanisms) or 'none'}); set KAFKA_SASL_MECHANISM to one of those"
        )
    if error != 0:
        raise Inconclusive(f"SASL handshake with {server} failed with error code {error}")

    config: dict[str, Any] = {
        "security_protocol": settings.security_protocol,
        "sasl_mechanism": mechanism_name,
        "sasl_plain_username": user,
        "sasl_plain_password": settings.sasl_password,
    }
    mechanism = get_sasl_mechanism(mechanism_name)(host=server.rpartition(":")[0], **config)
    while not mechanism.is_done():
        token = mechanism.auth_bytes()
        try:
            body = _request(sock, SASL_AUTHENTICATE, 0, _bytes(token), deadline)
        except TimeoutError:
            raise NoAnswer(f"{server} did not answer SASL authentication in time") from None
        except (OSError, EOFError, _NotKafka) as exc:
            raise Inconclusive(f"{server} closed the connection in SASL: {exc}") from None
        error, message, auth_bytes = _parse_authenticate(body)
        if error != 0:
            raise SecurityProblem(auth_failed_message(settings, server, message))
        try:
            mechanism.receive(auth_bytes)
        except (ValueError, KeyError) as exc:
            raise SecurityProblem(auth_failed_message(settings, server, str(exc))) from None
    if not mechanism.is_authenticated():
        raise SecurityProblem(auth_failed_message(settings, server, None))
    return f"authenticated as {user} via {mechanism_name}"


def auth_failed_message(settings: Settings, server: str, why: str | None) -> str:
    """The one line for rejected credentials; never contains the password."""
    detail = f": {why.rstrip('.')}" if why else ""
    return (
        f"authentication failed for user {settings.sasl_username} "
        f"(mechanism {settings.sasl_mechanism}) at {server}{detail}; check KAFKA_SASL_USERNAME, "
        "KAFKA_SASL_PASSWORD (or KAFKA_SASL_PASSWORD_FILE) and KAFKA_SASL_MECHANISM"
    )


# --- PLAINTEXT / SSL without SASL ------------------------------------------------------------


def _plain_requests(
    sock: socket.socket,
    settings: Settings,
    server: str,
    deadline: float,
    context: ssl.SSLContext | None,
) -> str:
    try:
        _request(sock, API_VERSIONS, 0, b"", deadline)
    except _NotKafka as exc:
        if exc.head[:2] == b"\x15\x03" and context is None:
            raise SecurityProblem(
                f"{server} speaks TLS, not plaintext Kafka: it is a TLS listener; set "
                "KAFKA_SECURITY_PROTOCOL=SSL (or SASL_SSL) and KAFKA_SSL_CAFILE, or use the "
                "broker's PLAINTEXT port"
            ) from None
        raise Inconclusive(f"{server} does not answer like Kafka") from None
    except TimeoutError:
        raise NoAnswer(f"{server} did not answer a Kafka ApiVersions request in time") from None
    except (OSError, EOFError) as exc:
        raise Inconclusive(f"{server} closed the connection: {exc}") from None
    try:
        # Metadata v4 for no topics: a SASL listener closes the connection on it (unauthenticated).
        _request(sock, METADATA, 4, struct.pack(">ib", 0, 0), deadline)
        return "answered ApiVersions and Metadata"
    except (OSError, EOFError, _NotKafka):
        pass
    mechanisms = _offered_sasl_mechanisms(server, deadline, context)
    if mechanisms is None:
        raise Inconclusive(f"{server} closed the connection on a Metadata request")
    sasl = "SASL_SSL" if context is not None else "SASL_PLAINTEXT"
    raise SecurityProblem(
        f"{server} requires SASL authentication (it offers {', '.join(mechanisms) or 'none'}); "
        f"set KAFKA_SECURITY_PROTOCOL={sasl}, KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME and "
        "KAFKA_SASL_PASSWORD, or use the broker's "
        f"{settings.security_protocol} port"
    )


def _offered_sasl_mechanisms(
    server: str, deadline: float, context: ssl.SSLContext | None
) -> list[str] | None:
    host, _, port = server.rpartition(":")
    try:
        sock = _connect(host, int(port), deadline)
    except Inconclusive:
        return None
    try:
        if context is not None:
            sock.settimeout(_remaining(deadline))
            sock = context.wrap_socket(sock, server_hostname=host)
        body = _request(sock, SASL_HANDSHAKE, 1, _string("PLAIN"), deadline)
        error, mechanisms = _parse_handshake(body)
    except (OSError, EOFError, _NotKafka, struct.error):
        return None
    finally:
        _close(sock)
    return mechanisms if error in (0, UNSUPPORTED_SASL_MECHANISM) else None


# --- wire helpers ----------------------------------------------------------------------------


def _remaining(deadline: float) -> float:
    return max(0.05, deadline - time.monotonic())


def _connect(host: str, port: int, deadline: float) -> socket.socket:
    try:
        sock = socket.create_connection((host, port), timeout=_remaining(deadline))
    except TimeoutError:
        raise NoAnswer(f"connecting to {host}:{port} timed out") from None
    except OSError as exc:
        raise Inconclusive(f"cannot connect to {host}:{port}: {exc}") from None
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.close()


_correlation = iter(range(1, 1 << 31))


def _request(
    sock: socket.socket, api_key: int, version: int, body: bytes, deadline: float
) -> bytes:
    """Send one request (header v1) and return the response body after the correlation id."""
    cid = next(_correlation)
    header = struct.pack(">hhih", api_key, version, cid, len(CLIENT_ID)) + CLIENT_ID
    frame = header + body
    sock.settimeout(_remaining(deadline))
    sock.sendall(struct.pack(">i", len(frame)) + frame)
    head = _recv_exact(sock, 4, deadline, allow_short=True)
    (size,) = struct.unpack(">i", head)
    if size < 4 or size > MAX_FRAME:
        raise _NotKafka(head)
    payload = _recv_exact(sock, size, deadline)
    (got,) = struct.unpack(">i", payload[:4])
    if got != cid:
        raise _NotKafka(head + payload[:4])
    return payload[4:]


def _recv_exact(sock: socket.socket, n: int, deadline: float, allow_short: bool = False) -> bytes:
    data = b""
    while len(data) < n:
        sock.settimeout(_remaining(deadline))
        chunk = sock.recv(n - len(data))
        if not chunk:
            if allow_short and data:
                raise _NotKafka(data)
            raise EOFError("connection closed by the broker")
        data += chunk
    return data


def _string(text: str) -> bytes:
    raw = text.encode()
    return struct.pack(">h", len(raw)) + raw


def _bytes(raw: bytes) -> bytes:
    return struct.pack(">i", len(raw)) + raw


def _parse_handshake(body: bytes) -> tuple[int, list[str]]:
    error, count = struct.unpack(">hi", body[:6])
    mechanisms, pos = [], 6
    for _ in range(max(count, 0)):
        (length,) = struct.unpack(">h", body[pos : pos + 2])
        mechanisms.append(body[pos + 2 : pos + 2 + length].decode(errors="replace"))
        pos += 2 + length
    return error, mechanisms


def _parse_authenticate(body: bytes) -> tuple[int, str | None, bytes]:
    (error,) = struct.unpack(">h", body[:2])
    (length,) = struct.unpack(">h", body[2:4])
    pos = 4
    message = None
    if length >= 0:
        message = body[pos : pos + length].decode(errors="replace")
        pos += length
    (size,) = struct.unpack(">i", body[pos : pos + 4])
    auth = body[pos + 4 : pos + 4 + size] if size > 0 else b""
    return error, message, auth


# --- guarding kafka-python's own connect -----------------------------------------------------


class ClientTimeout(Exception):
    """A client constructor did not return within its deadline (it was left to finish alone)."""


def call_with_deadline(factory: Callable[[], Any], timeout: float) -> Any:
    """Run `factory` on a daemon thread and wait at most `timeout` seconds for it.

    kafka-python's TLS handshake has no timeout; a constructor stuck in one must not hold the
    command past its connect timeout. A client that arrives after we stopped waiting is closed.
    """
    state: dict[str, Any] = {}
    lock = threading.Lock()
    done = threading.Event()

    def run() -> None:
        try:
            state["value"] = factory()
        except BaseException as exc:
            state["error"] = exc
        with lock:
            done.set()
            late = state.get("abandoned", False)
        if late and "value" in state:
            with contextlib.suppress(Exception):
                state["value"].close()

    threading.Thread(target=run, name="kafkactl-connect", daemon=True).start()
    done.wait(timeout)
    with lock:
        if not done.is_set():
            state["abandoned"] = True
            raise ClientTimeout(f"the client did not finish connecting within {timeout:.0f}s")
    if "error" in state:
        raise state["error"]
    return state["value"]


class KafkaLogCapture(logging.Handler):
    """Collects kafka-python's warnings and errors while a client connects.

    kafka-python reports why a bootstrap failed (bad credentials, certificate errors) only in its
    logs. While capturing, the `kafka` logger lets WARNING through to this handler; the handlers
    it already had still see only what they saw before (nothing new reaches the user's log).
    Messages are kept with secrets redacted.
    """

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []
        self._logger = logging.getLogger("kafka")
        self._saved_level = self._logger.level
        self._threshold = self._logger.getEffectiveLevel()

    def emit(self, record: logging.LogRecord) -> None:
        from kafkactl.log import redact

        with contextlib.suppress(Exception):
            self.messages.append(redact(record.getMessage()))

    def _old_handlers_filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= self._threshold

    def __enter__(self) -> KafkaLogCapture:
        for handler in self._logger.handlers:
            handler.addFilter(self._old_handlers_filter)
        self._logger.addHandler(self)
        if self._threshold > logging.WARNING:
            self._logger.setLevel(logging.WARNING)
        return self

    def __exit__(self, *exc: object) -> None:
        self._logger.removeHandler(self)
        self._logger.setLevel(self._saved_level)
        for handler in self._logger.handlers:
            handler.removeFilter(self._old_handlers_filter)

    def auth_failure(self) -> str | None:
        """The broker's reason, when kafka-python saw the SASL authentication fail."""
        for message in self.messages:
            for marker in ("SaslAuthenticationFailedError: ", "UnsupportedSaslMechanismError"):
                if marker in message:
                    return message.split(marker, 1)[1].split(" (backoff", 1)[0] or marker
        return None

    def certificate_failure(self) -> str | None:
        """The certificate error kafka-python logged, if any."""
        for message in self.messages:
            if "CERTIFICATE_VERIFY_FAILED" in message:
                return message.split("CERTIFICATE_VERIFY_FAILED]", 1)[-1].strip(" :")
        return None

    def last_failure(self) -> str | None:
        """The last "Bootstrap connection to X failed: <reason>" kafka-python logged."""
        for message in reversed(self.messages):
            if "Bootstrap connection to" in message and " failed: " in message:
                return message.split(" failed: ", 1)[1].split(" (backoff", 1)[0]
        return None
