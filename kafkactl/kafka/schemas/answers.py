"""What the registry client accepts as an answer: checked on the HTTP session before the client
sees it, so an empty, non-JSON, redirecting or endless answer is one clear line (RegistryAnswer)
and a body never takes more than MAX_BODY_BYTES of memory."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from kafkactl.terminal_text import safe_for_terminal

try:  # the HTTP library confluent-kafka's registry client uses (httpx2, else httpx)
    from httpx2 import SyncByteStream
except ImportError:  # pragma: no cover - older confluent-kafka
    from httpx import SyncByteStream  # type: ignore[no-redef,unused-ignore]

# Schemas are kilobytes; the longest subject list of a large registry is some hundreds of KiB.
MAX_BODY_BYTES = 16 * 1024 * 1024


ODD_ADVICE = "is KAFKA_SCHEMA_REGISTRY_URL the address of a schema registry?"


class RegistryAnswer(Exception):
    """The registry's answer is not one a schema registry gives: `what` it was, and `advice`."""

    def __init__(self, what: str, advice: str = ODD_ADVICE) -> None:
        super().__init__(what)
        self.what = what
        self.advice = advice


class _CappedStream(SyncByteStream):
    """A response body that raises RegistryAnswer past MAX_BODY_BYTES (read chunk by chunk)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        total = 0
        for chunk in self._stream:
            total += len(chunk)
            if total > MAX_BODY_BYTES:
                self.close()
                raise RegistryAnswer(_too_large())
            yield chunk

    def close(self) -> None:
        self._stream.close()


def _too_large() -> str:
    return f"answered with a body over {MAX_BODY_BYTES // 2**20} MiB (no schema is that large)"


def check_answer(response: Any) -> None:
    """Response hook of the registry's HTTP session: refuse redirects, bodies over the cap, and
    2xx answers that are empty or not JSON, before the client parses them."""
    status = int(response.status_code)
    if 300 <= status < 400:
        response.close()
        where = safe_for_terminal(str(response.headers.get("location", "")))[:200] or "nowhere"
        raise RegistryAnswer(
            f"answered with a redirect (HTTP {status} to {where})",
            "kafkactl does not follow redirects: set KAFKA_SCHEMA_REGISTRY_URL to the "
            "registry's own address",
        )
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        response.close()
        raise RegistryAnswer(
            f"answered with a {safe_for_terminal(encoding)[:40]}-compressed body although "
            "none was asked"
        )
    length = response.headers.get("content-length", "")
    if length.isascii() and length.isdigit() and int(length) > MAX_BODY_BYTES:
        response.close()
        raise RegistryAnswer(_too_large())
    response.stream = _CappedStream(response.stream)
    if not 200 <= status < 300:
        return  # the client reads the registry's error document itself
    body = response.read()
    if not body.strip():
        raise RegistryAnswer(f"answered HTTP {status} with an empty body")
    try:
        json.loads(body)
    except ValueError:
        start = safe_for_terminal(body[:60].decode("utf-8", "replace"))
        raise RegistryAnswer(
            f"answered HTTP {status} with a body that is not JSON ({start!r}...)"
        ) from None


def install(session: Any) -> None:
    """Check every answer of `session` (an httpx Client) and ask for uncompressed bodies, so
    the cap bounds memory (a compressed body could expand a thousand times)."""
    session.headers["Accept-Encoding"] = "identity"
    session.event_hooks = {
        "request": session.event_hooks.get("request", []),
        "response": [*session.event_hooks.get("response", []), check_answer],
    }
