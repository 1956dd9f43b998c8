"""The handler that does nothing (benchmarks: the cost of the pipeline alone)."""

from __future__ import annotations

from kafkactl.handlers.base import HandlerBase
from kafkactl.message import Message


class NoopHandler(HandlerBase):
    """Does nothing and always succeeds (benchmarks: the cost of the pipeline alone)."""

    def handle(self, message: Message) -> None:
        """Succeed."""

    def close(self) -> None:
        """Nothing to release."""
