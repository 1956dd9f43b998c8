"""Guarding a client constructor: a deadline around kafka-python's own connect."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any


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
