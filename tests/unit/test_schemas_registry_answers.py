"""Answers no schema registry gives (empty, not JSON, wrong shape, a redirect, compressed, too
large, server errors) are one kafkactl error each, against a local HTTP server in a thread."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Callable, Iterator

import pytest

from kafkactl.errors import EXIT_FAILED, EXIT_UNREACHABLE, KafkactlError, RecordDecodeError
from kafkactl.kafka.schemas import answers
from kafkactl.kafka.schemas.decoder import RecordDecoder
from kafkactl.kafka.schemas.registry import RegistryClient as Registry

Answer = Callable[[http.server.BaseHTTPRequestHandler], None]


def _send(status: int, body: bytes = b"", **headers: str) -> Answer:
    def answer(handler: http.server.BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        named = {name.replace("_", "-"): value for name, value in headers.items()}
        for name, value in {"Content-Length": str(len(body)), **named}.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)

    return answer


def _endless(handler: http.server.BaseHTTPRequestHandler) -> None:
    """A chunked body that goes on far past the cap (without a length to refuse it by)."""
    handler.send_response(200)
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    chunk = b"[" * (1024 * 1024)
    try:
        for _ in range(64):
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        handler.wfile.write(b"0\r\n\r\n")
    except OSError:
        pass  # the client hung up at the cap, as it should


@pytest.fixture
def registry_answering() -> Iterator[Callable[[Answer], Registry]]:
    """A Registry pointed at a local server that answers every request with `answer`."""
    servers: list[http.server.ThreadingHTTPServer] = []
    registries: list[Registry] = []

    def start(answer: Answer) -> Registry:
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                answer(self)

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        registry = Registry(f"http://127.0.0.1:{server.server_address[1]}")
        registries.append(registry)
        return registry

    yield start
    for registry in registries:
        registry.close()
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (_send(200), "answered HTTP 200 with an empty body"),
        (_send(200, b"  \n"), "answered HTTP 200 with an empty body"),
        (_send(200, b"<html>hi</html>"), "with a body that is not JSON ('<html>hi</html>'"),
        (_send(200, b"[1, 2]"), "answered with a document no registry gives"),
        (_send(302, Location="/elsewhere"), "redirect (HTTP 302 to /elsewhere)"),
        (_send(301, Location="\x1b[2J"), "redirect (HTTP 301 to \\x1b[2J)"),
        (_send(200, b"{}", Content_Encoding="gzip"), "gzip-compressed body"),
        (_send(200, b"", Content_Length=str(2**40)), "body over 16 MiB"),
        (_endless, "body over 16 MiB"),
    ],
)
def test_an_answer_no_registry_gives_is_one_line_exit_1(registry_answering, answer, says) -> None:
    registry = registry_answering(answer)
    with pytest.raises(KafkactlError) as excinfo:
        registry.latest("orders-value")
    message = str(excinfo.value)
    assert excinfo.value.exit_code == EXIT_FAILED
    assert says in message and "\n" not in message and "\x1b" not in message
    assert message.startswith(f"schema registry at {registry.url} ")
    assert "while fetching the latest version of orders-value" in message


def test_a_server_error_is_retried_then_exit_3_with_a_short_reason(registry_answering) -> None:
    registry = registry_answering(_send(503, b"x" * 100_000))
    with pytest.raises(KafkactlError) as excinfo:
        registry.subjects()
    assert excinfo.value.exit_code == EXIT_UNREACHABLE
    assert "kept failing while listing subjects" in str(excinfo.value)
    assert "HTTP 503" in str(excinfo.value) and len(str(excinfo.value)) < 500


def test_decoding_with_a_registry_that_answers_garbage_is_a_decode_error(
    registry_answering,
) -> None:
    registry = registry_answering(_send(200, b"not json"))
    with pytest.raises(RecordDecodeError, match=r"not JSON .* while fetching a schema"):
        RecordDecoder(registry).decode(b"\x00\x00\x00\x00\x07\x02hi", "t", "value")


def test_the_body_cap_is_16_mib() -> None:
    assert answers.MAX_BODY_BYTES == 16 * 1024 * 1024


def test_a_registry_answer_passes_the_checks_unchanged(registry_answering) -> None:
    schema = '{"type": "string"}'
    doc = {"subject": "orders-value", "version": 3, "id": 7, "schema": schema}
    registry = registry_answering(_send(200, json.dumps(doc).encode()))
    latest = registry.latest("orders-value")
    assert (latest.schema_id, latest.version, latest.schema.schema_str) == (7, 3, schema)
