"""kafkactl: Kafka from the shell, with retry tiers, a dead-letter topic and DLQ replay."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kafkactl.errors import FatalError

if TYPE_CHECKING:
    from kafkactl.message import Message

__version__ = "0.1.0"

__all__ = ["FatalError", "Message", "__version__"]


def __getattr__(name: str) -> Any:
    """`kafkactl.Message` for handlers, imported on first use: every `kafkactl` run imports this
    package, and the message module (orjson, the topology and config modules) is not needed to
    parse flags or print --help."""
    if name == "Message":
        from kafkactl.message import Message

        return Message
    raise AttributeError(f"module 'kafkactl' has no attribute {name!r}")
