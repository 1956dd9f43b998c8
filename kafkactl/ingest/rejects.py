"""Lines that did not make it into the topic: reported on stderr and kept in `--reject-file`."""

from __future__ import annotations

import base64
import threading
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from loguru import logger

# invalid: the line could not be read into a record; failed: the record was not delivered.
RejectKind = Literal["invalid", "failed"]


@dataclass(frozen=True)
class Rejection:
    """A line that did not make it into the topic: invalid input, or not delivered."""

    line: int
    input: bytes
    error: str
    kind: RejectKind
    truncated: bool = False  # `input` is only the start of a line too long to keep

    def as_json(self) -> bytes:
        """The reject-file line: {"line", "input", "error"} (+ input_encoding for binary,
        input_truncated when only the start of the line is kept)."""
        doc: dict[str, Any] = {"line": self.line}
        try:
            doc["input"] = self.input.decode("utf-8")
        except UnicodeDecodeError:
            doc["input"] = base64.b64encode(self.input).decode("ascii")
            doc["input_encoding"] = "base64"
        if self.truncated:
            doc["input_truncated"] = True
        doc["error"] = self.error
        return orjson.dumps(doc)


class RejectFile:
    """`--reject-file`: one JSON object per rejected line; safe to call from any thread."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._file = open(path, "ab")  # noqa: SIM115 - closed by close()
        self._lock = threading.Lock()
        self.error: str | None = None  # set when a write failed: later rejects are not kept

    def write(self, rejection: Rejection) -> bool:
        """Append one rejection and flush it, so it survives a crash; False (and `error` set)
        when the file cannot be written (a full disk): never raises."""
        data = rejection.as_json() + b"\n"
        with self._lock:
            if self.error is not None:
                return False
            try:
                self._file.write(data)
                self._file.flush()
            except (OSError, ValueError) as exc:
                reason = getattr(exc, "strerror", None) or str(exc)
                self.error = f"cannot write --reject-file {self.path!r}: {reason}"
                return False
        return True

    def close(self) -> None:
        """Close the file (what a failed write left in its buffer is dropped)."""
        with self._lock, suppress(OSError, ValueError):
            self._file.close()


def log_rejection(rejection: Rejection) -> None:
    """Report a rejected line on stderr (one log line, with its line number and reason)."""
    if rejection.kind == "invalid":
        from kafkactl.dlq.triage import normalize_message

        reason = normalize_message(rejection.error)
        fold = (("invalid", reason), f"invalid lines skipped: {reason}")
        logger.bind(line=rejection.line, fold=fold).warning(
            "line {}: invalid, skipped: {}", rejection.line, rejection.error
        )
    else:
        logger.bind(line=rejection.line).error(
            "line {}: not delivered: {}", rejection.line, rejection.error
        )
