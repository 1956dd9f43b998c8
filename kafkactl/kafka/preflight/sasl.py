"""SASL: the handshake and authentication (the client side in `sasl_client.py`), and the
mechanisms a listener offers."""

from __future__ import annotations

import socket
import ssl
import struct

from kafkactl.config import Settings
from kafkactl.kafka.preflight.messages import auth_failed_message
from kafkactl.kafka.preflight.outcomes import Inconclusive, NoAnswer, SecurityProblem
from kafkactl.kafka.preflight.sasl_client import sasl_client
from kafkactl.kafka.preflight.wire import (
    ILLEGAL_SASL_STATE,
    SASL_AUTHENTICATE,
    SASL_HANDSHAKE,
    UNSUPPORTED_SASL_MECHANISM,
    NotKafka,
    close,
    encode_bytes,
    encode_string,
    open_connection,
    parse_authenticate,
    parse_handshake,
    remaining,
    request,
)


def authenticate(sock: socket.socket, settings: Settings, server: str, deadline: float) -> str:
    mechanism_name = settings.sasl_mechanism or "PLAIN"
    tls = isinstance(sock, ssl.SSLSocket)
    try:
        body = request(sock, SASL_HANDSHAKE, 1, encode_string(mechanism_name), deadline)
    except NotKafka as exc:
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
    error, mechanisms = parse_handshake(body)
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

    mechanism, user = sasl_client(settings)
    while not mechanism.is_done():
        token = mechanism.auth_bytes()
        try:
            body = request(sock, SASL_AUTHENTICATE, 0, encode_bytes(token), deadline)
        except TimeoutError:
            raise NoAnswer(f"{server} did not answer SASL authentication in time") from None
        except (OSError, EOFError, NotKafka) as exc:
            raise Inconclusive(f"{server} closed the connection in SASL: {exc}") from None
        error, message, auth_bytes = parse_authenticate(body)
        if error != 0:
            raise SecurityProblem(auth_failed_message(settings, server, message))
        try:
            mechanism.receive(auth_bytes)
        except (ValueError, KeyError) as exc:
            raise SecurityProblem(auth_failed_message(settings, server, str(exc))) from None
    return f"authenticated as {user} via {mechanism_name}"


def offered_sasl_mechanisms(
    server: str, deadline: float, context: ssl.SSLContext | None
) -> list[str] | None:
    host, _, port = server.rpartition(":")
    try:
        sock = open_connection(host, int(port), deadline)
    except Inconclusive:
        return None
    try:
        if context is not None:
            sock.settimeout(remaining(deadline))
            sock = context.wrap_socket(sock, server_hostname=host)
        body = request(sock, SASL_HANDSHAKE, 1, encode_string("PLAIN"), deadline)
        error, mechanisms = parse_handshake(body)
    except (OSError, EOFError, NotKafka, struct.error):
        return None
    finally:
        close(sock)
    return mechanisms if error in (0, UNSUPPORTED_SASL_MECHANISM) else None
