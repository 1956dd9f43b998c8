"""The counts of a produce run (DESIGN §5.5) and the exit code they make."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class ProduceSummary:
    """Counts of one produce run (DESIGN §5.5)."""

    topic: str
    read: int = 0
    published: int = 0
    invalid: int = 0
    failed: int = 0
    bytes: int = 0
    seconds: float = 0.0
    blank: int = 0
    in_flight: int = 0
    stopped_at_line: int | None = None
    interrupted: bool = False
    error: str | None = None  # why the run failed as a whole (the producer, the reject file)

    @property
    def records_per_s(self) -> float:
        """Published records per second of the run."""
        return self.published / self.seconds if self.seconds > 0 else 0.0

    @property
    def exit_code(self) -> int:
        """0 when every line read was delivered; 1 for any invalid or undelivered record;
        130 when interrupted."""
        if self.interrupted:
            return 130
        return 1 if self.invalid or self.failed or self.in_flight or self.error else 0

    def settle_errors_only(
        self, sent: int, sent_bytes: int, failed: int, failed_bytes: int, pending: int
    ) -> int:
        """Count as published every record sent, not failed and no longer pending (a
        Publisher that reports failures only); returns the records settled.

        Bytes of records still pending (a flush that timed out) cannot be told apart, so they
        are left out of `bytes` only approximately.
        """
        sent_ok = sent - failed
        acked = max(0, sent_ok - pending)
        self.published = acked
        ok_bytes = max(0, sent_bytes - failed_bytes)
        self.bytes = ok_bytes if not pending else ok_bytes * acked // max(sent_ok, 1)
        return failed + acked

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form with the counters of DESIGN §5.5."""
        doc: dict[str, Any] = {
            "topic": self.topic,
            "read": self.read,
            "published": self.published,
            "invalid": self.invalid,
            "failed": self.failed,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
            "records_per_s": round(self.records_per_s, 1),
            "blank": self.blank,
        }
        if self.in_flight:
            doc["unsettled"] = self.in_flight
        if self.stopped_at_line is not None:
            doc["stopped_at_line"] = self.stopped_at_line
        if self.interrupted:
            doc["interrupted"] = True
        if self.error:
            doc["error"] = self.error
        return doc
