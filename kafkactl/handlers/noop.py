"""The handler that does nothing (benchmarks: the cost of the pipeline alone)."""

from __future__ import annotations

from kafkactl.message import Message


class NoopHandler:
    """Does nothing and always succeeds (benchmarks: the cost of the pipeline alone)."""

    def handle(self, message: Message) -> None:
        """Succeed."""

    def close(self) -> None:
        """Nothing to release."""
