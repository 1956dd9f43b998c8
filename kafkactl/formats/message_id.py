"""The `message-id` of `produce --message-id uuid`: a new UUID4 per record (DESIGN §5.2)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

from kafkactl.headers import MESSAGE_ID

_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


def _message_ids() -> Iterator[bytes]:
    """Fresh UUID4s in canonical text form, from batched os.urandom (a third of uuid4's cost)."""
    while True:
        pool = os.urandom(16 * 4096).hex()
        for p in range(0, len(pool), 32):
            h = pool[p : p + 32]
            # Version 4 in the 13th digit, the RFC 4122 variant in the 17th.
            yield f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}".encode()


_next_message_id = _message_ids().__next__
_message_id_lock = threading.Lock()


def new_message_id() -> bytes:
    """A new UUID4 message id (`xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx`); thread-safe."""
    with _message_id_lock:
        return _next_message_id()


def has_message_id(headers: list[tuple[str, bytes]]) -> bool:
    """True when the headers carry a `message-id`."""
    return any(k == MESSAGE_ID for k, _ in headers)
