"""The probe of the bootstrap servers: connect, TLS, then SASL or ApiVersions and Metadata."""

from __future__ import annotations

import socket
import ssl
import struct
import time

from kafkactl.config import Settings
from kafkactl.errors import KafkactlError
from kafkactl.kafka.preflight.outcomes import Inconclusive, NoAnswer, ProbeResult, SecurityProblem
from kafkactl.kafka.preflight.sasl import authenticate, offered_sasl_mechanisms
from kafkactl.kafka.preflight.tls import client_ssl_context, tls_handshake
from kafkactl.kafka.preflight.wire import (
    API_VERSIONS,
    METADATA,
    NotKafka,
    close,
    open_connection,
    request,
)


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
            return probe(settings, host.strip("[]"), int(port), deadline)
        except (SecurityProblem, KafkactlError):
            raise  # a definite answer, a usage error, no token to be had: no other server helps
        except Inconclusive as exc:
            last = exc
        except Exception as exc:  # a reply the probe does not understand: let a client try
            last = Inconclusive(f"{server}: {type(exc).__name__}: {exc}")
    if isinstance(last, NoAnswer):
        raise last
    return None


def probe(settings: Settings, host: str, port: int, deadline: float) -> ProbeResult:
    protocol = settings.security_protocol
    server = f"{host}:{port}"
    tls = protocol in ("SSL", "SASL_SSL")
    context = client_ssl_context(settings) if tls else None
    sock = open_connection(host, port, deadline)
    try:
        if context is not None:
            sock = tls_handshake(context, sock, host, port, deadline, settings)
        if protocol.startswith("SASL_"):
            detail = authenticate(sock, settings, server, deadline)
        else:
            detail = plain_requests(sock, settings, server, deadline, context)
        return ProbeResult(server, detail)
    finally:
        close(sock)


def plain_requests(
    sock: socket.socket,
    settings: Settings,
    server: str,
    deadline: float,
    context: ssl.SSLContext | None,
) -> str:
    try:
        request(sock, API_VERSIONS, 0, b"", deadline)
    except NotKafka as exc:
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
        request(sock, METADATA, 4, struct.pack(">ib", 0, 0), deadline)
        return "answered ApiVersions and Metadata"
    except (OSError, EOFError, NotKafka):
        pass
    mechanisms = offered_sasl_mechanisms(server, deadline, context)
    if mechanisms is None:
        raise Inconclusive(f"{server} closed the connection on a Metadata request")
    sasl = "SASL_SSL" if context is not None else "SASL_PLAINTEXT"
    raise SecurityProblem(
        f"{server} requires SASL authentication (it offers {', '.join(mechanisms) or 'none'}); "
        f"set KAFKA_SECURITY_PROTOCOL={sasl}, KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME and "
        "KAFKA_SASL_PASSWORD, or use the broker's "
        f"{settings.security_protocol} port"
    )
