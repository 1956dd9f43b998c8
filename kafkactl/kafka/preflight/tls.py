"""TLS: the client's SSL context and the handshake, with a plaintext Kafka listener told apart
from a failed handshake."""

from __future__ import annotations

import socket
import ssl

from kafkactl.config import Settings
from kafkactl.errors import ConfigError
from kafkactl.kafka.preflight.messages import certificate_message, ssl_reason
from kafkactl.kafka.preflight.outcomes import Inconclusive, NoAnswer, SecurityProblem
from kafkactl.kafka.preflight.wire import (
    API_VERSIONS,
    NotKafka,
    close,
    open_connection,
    remaining,
    request,
)


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
                f"cannot use {settings.ssl_cafile!r} ({ssl_reason(exc)}); "
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
                f"{settings.ssl_keyfile or '-'} ({ssl_reason(exc)}); they must be the PEM "
                "client certificate and its unencrypted key",
            ) from None
    return ctx


def tls_handshake(
    context: ssl.SSLContext,
    sock: socket.socket,
    host: str,
    port: int,
    deadline: float,
    settings: Settings,
) -> ssl.SSLSocket:
    server = f"{host}:{port}"
    sock.settimeout(remaining(deadline))
    try:
        return context.wrap_socket(sock, server_hostname=host)
    except ssl.SSLCertVerificationError as exc:
        raise SecurityProblem(certificate_message(exc, server, settings)) from None
    except TimeoutError:
        raise NoAnswer(
            f"the TLS handshake with {server} got no answer in time; is {server} a TLS listener?"
        ) from None
    except (ssl.SSLError, OSError) as exc:
        reason = ssl_reason(exc)
    # The handshake broke: a plaintext Kafka listener closes on a ClientHello (it reads it as an
    # oversized request). Ask the port in plaintext to tell the operator which one it is.
    if answers_plaintext_kafka(host, port, deadline):
        use = "SASL_PLAINTEXT" if settings.security_protocol == "SASL_SSL" else "PLAINTEXT"
        raise SecurityProblem(
            f"{server} answered with plaintext Kafka, not TLS: it is not a TLS listener; "
            f"use the broker's {settings.security_protocol} port or set "
            f"KAFKA_SECURITY_PROTOCOL={use}"
        )
    raise SecurityProblem(f"the TLS handshake with {server} failed: {reason}")


def answers_plaintext_kafka(host: str, port: int, deadline: float) -> bool:
    try:
        sock = open_connection(host, port, deadline)
    except Inconclusive:
        return False
    try:
        request(sock, API_VERSIONS, 0, b"", deadline)
        return True
    except (OSError, NotKafka, EOFError):
        return False
    finally:
        close(sock)
