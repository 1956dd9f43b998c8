"""The preflight probe against scripted peers on local sockets (no broker): the wire codec, what
each kind of listener answer concludes, and the guards around a client constructor."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kafkactl.config import Settings, load_settings
from kafkactl.kafka import preflight
from kafkactl.kafka.preflight import wire

TLS_ALERT = b"\x15\x03\x03\x00\x02\x02\x46"  # what a TLS listener sends back to a Kafka request
# answer(api_key, version, body) -> a response body, None to close, or bytes to send raw.
Answer = Callable[[int, int, bytes], "bytes | Raw | None"]


class Raw(bytes):
    """Bytes a peer sends as they are, not framed as a Kafka response."""


class Peer:
    """A local listener that answers Kafka requests with a script, one thread per connection."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests: list[tuple[int, int, bytes]] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            while True:
                head = _read(conn, 4)
                if head is None:
                    return
                frame = _read(conn, struct.unpack(">i", head)[0]) or b""
                api_key, version, cid, id_len = struct.unpack(">hhih", frame[:10])
                body = frame[10 + id_len :]
                self.requests.append((api_key, version, body))
                reply = self.answer(api_key, version, body)
                if reply is None:
                    return
                if isinstance(reply, Raw):
                    conn.sendall(reply)
                    continue
                payload = struct.pack(">i", cid) + reply
                conn.sendall(struct.pack(">i", len(payload)) + payload)

    def close(self) -> None:
        self.sock.close()


def _read(conn: socket.socket, n: int) -> bytes | None:
    data = b""
    while len(data) < n:
        try:
            chunk = conn.recv(n - len(data))
        except OSError:  # the probe reset the connection
            return None
        if not chunk:
            return None
        data += chunk
    return data


def handshake_body(error: int, mechanisms: list[str]) -> bytes:
    return struct.pack(">hi", error, len(mechanisms)) + b"".join(
        wire.encode_string(m) for m in mechanisms
    )


def authenticate_body(error: int, message: str | None, auth: bytes = b"") -> bytes:
    text = struct.pack(">h", -1) if message is None else wire.encode_string(message)
    return struct.pack(">h", error) + text + wire.encode_bytes(auth) + struct.pack(">q", 0)


@pytest.fixture
def peers() -> Iterator[Callable[[Answer], Peer]]:
    started: list[Peer] = []

    def start(answer: Answer) -> Peer:
        started.append(Peer(answer))
        return started[-1]

    yield start
    for peer in started:
        peer.close()


def settings_for(port: int, tmp_path: Path, **env: str) -> Settings:
    return load_settings(
        env={"KAFKA_BROKERS": f"127.0.0.1:{port}", "XDG_CONFIG_HOME": str(tmp_path), **env},
        config_path=None,
    )


SASL = {
    "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
    "KAFKA_SASL_MECHANISM": "PLAIN",
    "KAFKA_SASL_USERNAME": "alice",
    "KAFKA_SASL_PASSWORD": "pw-S3cret",
}


# --- the wire codec --------------------------------------------------------------------------


def test_strings_and_bytes_are_length_prefixed() -> None:
    assert wire.encode_string("PLAIN") == b"\x00\x05PLAIN"
    assert wire.encode_bytes(b"\x00ab") == b"\x00\x00\x00\x03\x00ab"


def test_a_handshake_answer_decodes_to_its_error_and_mechanisms() -> None:
    body = handshake_body(0, ["PLAIN", "SCRAM-SHA-256"])
    assert wire.parse_handshake(body) == (0, ["PLAIN", "SCRAM-SHA-256"])
    assert wire.parse_handshake(handshake_body(34, [])) == (34, [])


def test_an_authenticate_answer_decodes_with_and_without_a_message() -> None:
    assert wire.parse_authenticate(authenticate_body(58, "bad credentials")) == (
        58,
        "bad credentials",
        b"",
    )
    assert wire.parse_authenticate(authenticate_body(0, None, b"token")) == (0, None, b"token")


def test_a_request_is_framed_with_header_v1_and_its_answer_matched_by_correlation_id() -> None:
    client, server = socket.socketpair()
    with client, server:
        answered: list[bytes] = []

        def serve() -> None:
            (size,) = struct.unpack(">i", _read(server, 4) or b"")
            frame = _read(server, size) or b""
            answered.append(frame)
            payload = frame[4:8] + b"answer"  # the request's correlation id, then the body
            server.sendall(struct.pack(">i", len(payload)) + payload)

        thread = threading.Thread(target=serve)
        thread.start()
        body = wire.request(client, wire.API_VERSIONS, 0, b"xyz", time.monotonic() + 5)
        thread.join()
    frame = answered[0]
    assert struct.unpack(">hh", frame[:4]) == (wire.API_VERSIONS, 0)
    assert frame[8 : 10 + len(wire.CLIENT_ID)] == wire.encode_string(wire.CLIENT_ID.decode())
    assert frame.endswith(b"xyz")
    assert body == b"answer"


def test_tls_bytes_instead_of_a_kafka_answer_are_not_kafka() -> None:
    client, server = socket.socketpair()
    with client, server:
        server.sendall(TLS_ALERT)
        server.shutdown(socket.SHUT_WR)
        with pytest.raises(wire.NotKafka) as excinfo:
            wire.request(client, wire.API_VERSIONS, 0, b"", time.monotonic() + 5)
    assert excinfo.value.head[:2] == b"\x15\x03"


def test_a_peer_that_closes_at_once_is_end_of_file() -> None:
    client, server = socket.socketpair()
    with client:
        server.close()
        with pytest.raises((EOFError, OSError)):
            wire.request(client, wire.API_VERSIONS, 0, b"", time.monotonic() + 5)


# --- what the probe concludes ----------------------------------------------------------------


def test_a_plaintext_kafka_listener_passes(peers: Callable[[Answer], Peer], tmp_path: Path) -> None:
    peer = peers(lambda key, version, body: b"\x00\x00")
    result = preflight.check(settings_for(peer.port, tmp_path), timeout=5)
    assert result == preflight.ProbeResult(
        f"127.0.0.1:{peer.port}", "answered ApiVersions and Metadata"
    )
    assert [key for key, _, _ in peer.requests] == [wire.API_VERSIONS, wire.METADATA]


def test_a_tls_listener_reached_in_plaintext_is_a_security_problem(
    peers: Callable[[Answer], Peer], tmp_path: Path
) -> None:
    peer = peers(lambda key, version, body: Raw(TLS_ALERT))
    with pytest.raises(preflight.SecurityProblem, match="speaks TLS, not plaintext Kafka"):
        preflight.check(settings_for(peer.port, tmp_path), timeout=5)


def test_a_sasl_listener_reached_without_sasl_names_its_mechanisms(
    peers: Callable[[Answer], Peer], tmp_path: Path
) -> None:
    def answer(key: int, version: int, body: bytes) -> bytes | None:
        if key == wire.METADATA:
            return None  # a SASL listener closes on an unauthenticated request
        if key == wire.SASL_HANDSHAKE:
            return handshake_body(0, ["SCRAM-SHA-512"])
        return b"\x00\x00"

    peer = peers(answer)
    with pytest.raises(preflight.SecurityProblem) as excinfo:
        preflight.check(settings_for(peer.port, tmp_path), timeout=5)
    assert str(excinfo.value).startswith(
        f"127.0.0.1:{peer.port} requires SASL authentication (it offers SCRAM-SHA-512); "
        "set KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT"
    )


def test_sasl_against_a_listener_without_sasl_is_a_security_problem(
    peers: Callable[[Answer], Peer], tmp_path: Path
) -> None:
    peer = peers(lambda key, version, body: handshake_body(wire.ILLEGAL_SASL_STATE, []))
    with pytest.raises(preflight.SecurityProblem, match="is not a SASL listener"):
        preflight.check(settings_for(peer.port, tmp_path, **SASL), timeout=5)


def test_a_mechanism_the_listener_does_not_enable_is_named(
    peers: Callable[[Answer], Peer], tmp_path: Path
) -> None:
    peer = peers(lambda key, version, body: handshake_body(0, ["SCRAM-SHA-256"]))
    with pytest.raises(preflight.SecurityProblem) as excinfo:
        preflight.check(settings_for(peer.port, tmp_path, **SASL), timeout=5)
    assert "does not enable SASL mechanism PLAIN (it offers SCRAM-SHA-256)" in str(excinfo.value)


def test_rejected_credentials_are_one_line_without_the_password(
    peers: Callable[[Answer], Peer], tmp_path: Path
) -> None:
    def answer(key: int, version: int, body: bytes) -> bytes:
        if key == wire.SASL_HANDSHAKE:
            return handshake_body(0, ["PLAIN"])
        return authenticate_body(58, "Authentication failed: Invalid username or password")

    peer = peers(answer)
    with pytest.raises(preflight.SecurityProblem) as excinfo:
        preflight.check(settings_for(peer.port, tmp_path, **SASL), timeout=5)
    message = str(excinfo.value)
    assert message.startswith(
        f"authentication failed for user alice (mechanism PLAIN) at 127.0.0.1:{peer.port}: "
        "Authentication failed: Invalid username or password; check KAFKA_SASL_USERNAME"
    )
    assert "pw-S3cret" not in message


def test_a_refused_connection_is_left_to_the_clients(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe_port:
        port = probe_port.getsockname()[1]
    assert preflight.check(settings_for(port, tmp_path), timeout=2) is None


def test_a_silent_peer_is_no_answer(tmp_path: Path) -> None:
    with (
        socket.create_server(("127.0.0.1", 0)) as silent,
        pytest.raises(preflight.NoAnswer, match="did not answer a Kafka ApiVersions"),
    ):
        preflight.check(settings_for(silent.getsockname()[1], tmp_path), timeout=0.5)


# --- guards ----------------------------------------------------------------------------------


def test_a_constructor_past_its_deadline_times_out_and_its_late_client_is_closed() -> None:
    closed = threading.Event()
    release = threading.Event()

    class Client:
        def close(self) -> None:
            closed.set()

    def slow() -> Client:
        release.wait(5)
        return Client()

    with pytest.raises(preflight.ClientTimeout):
        preflight.call_with_deadline(slow, 0.05)
    release.set()
    assert closed.wait(5)


def test_a_constructor_in_time_returns_its_client_or_raises_its_error() -> None:
    assert preflight.call_with_deadline(lambda: 42, 5) == 42
    with pytest.raises(ValueError, match="boom"):
        preflight.call_with_deadline(lambda: (_ for _ in ()).throw(ValueError("boom")), 5)


def test_no_descriptor_left_is_one_line_at_once_not_a_retry(monkeypatch) -> None:
    import errno

    from kafkactl.config.files import TooManyOpenFiles

    def exhausted(*args: object, **kwargs: object) -> socket.socket:
        raise OSError(errno.EMFILE, "Too many open files")

    monkeypatch.setattr(socket, "create_connection", exhausted)
    with pytest.raises(TooManyOpenFiles) as excinfo:
        wire.open_connection("127.0.0.1", 9, time.monotonic() + 5)
    assert str(excinfo.value).startswith("too many open files (the limit is ")
    assert "ulimit -n" in str(excinfo.value) and excinfo.value.exit_code == 1
