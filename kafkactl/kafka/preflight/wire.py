"""The little of the Kafka wire protocol the probe speaks: framing (request header v1, sized
frames), socket steps bounded by a deadline, and the codecs of the requests and answers used."""

from __future__ import annotations

import contextlib
import socket
import struct
import time

from kafkactl.config.files import out_of_files
from kafkactl.kafka.preflight.outcomes import Inconclusive, NoAnswer

# Kafka API keys and the (non-flexible) versions the probe speaks.
METADATA, SASL_HANDSHAKE, API_VERSIONS, SASL_AUTHENTICATE = 3, 17, 18, 36
ILLEGAL_SASL_STATE, UNSUPPORTED_SASL_MECHANISM = 34, 33
MAX_FRAME = 100 * 1024 * 1024
CLIENT_ID = b"kafkactl-preflight"


class NotKafka(Exception):
    """The peer answered with bytes that are not a Kafka response."""

    def __init__(self, head: bytes) -> None:
        super().__init__(head[:8].hex())
        self.head = head


def remaining(deadline: float) -> float:
    return max(0.05, deadline - time.monotonic())


def open_connection(host: str, port: int, deadline: float) -> socket.socket:
    try:
        sock = socket.create_connection((host, port), timeout=remaining(deadline))
    except TimeoutError:
        raise NoAnswer(f"connecting to {host}:{port} timed out") from None
    except OSError as exc:
        full = out_of_files(exc)  # no descriptor left: no attempt can help
        if full is not None:
            raise full from None
        raise Inconclusive(f"cannot connect to {host}:{port}: {exc}") from None
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.close()


_correlation = iter(range(1, 1 << 31))


def request(sock: socket.socket, api_key: int, version: int, body: bytes, deadline: float) -> bytes:
    """Send one request (header v1) and return the response body after the correlation id."""
    cid = next(_correlation)
    header = struct.pack(">hhih", api_key, version, cid, len(CLIENT_ID)) + CLIENT_ID
    frame = header + body
    sock.settimeout(remaining(deadline))
    sock.sendall(struct.pack(">i", len(frame)) + frame)
    head = recv_exact(sock, 4, deadline, allow_short=True)
    (size,) = struct.unpack(">i", head)
    if size < 4 or size > MAX_FRAME:
        raise NotKafka(head)
    payload = recv_exact(sock, size, deadline)
    (got,) = struct.unpack(">i", payload[:4])
    if got != cid:
        raise NotKafka(head + payload[:4])
    return payload[4:]


def recv_exact(sock: socket.socket, n: int, deadline: float, allow_short: bool = False) -> bytes:
    data = b""
    while len(data) < n:
        sock.settimeout(remaining(deadline))
        chunk = sock.recv(n - len(data))
        if not chunk:
            if allow_short and data:
                raise NotKafka(data)
            raise EOFError("connection closed by the broker")
        data += chunk
    return data


def encode_string(text: str) -> bytes:
    raw = text.encode()
    return struct.pack(">h", len(raw)) + raw


def encode_bytes(raw: bytes) -> bytes:
    return struct.pack(">i", len(raw)) + raw


def parse_handshake(body: bytes) -> tuple[int, list[str]]:
    error, count = struct.unpack(">hi", body[:6])
    mechanisms, pos = [], 6
    for _ in range(max(count, 0)):
        (length,) = struct.unpack(">h", body[pos : pos + 2])
        mechanisms.append(body[pos + 2 : pos + 2 + length].decode(errors="replace"))
        pos += 2 + length
    return error, mechanisms


def parse_authenticate(body: bytes) -> tuple[int, str | None, bytes]:
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
