"""Logging on stderr with loguru: pretty on a terminal, JSON lines otherwise, secrets redacted."""

from __future__ import annotations

import logging
import sys
from typing import Any

import orjson
from loguru import logger

# Record fields that a JSON log line carries when the code bound them (logger.bind(...)).
CONTEXT_FIELDS = ("topic", "partition", "offset", "key", "message_id", "group", "attempt")

_secrets: set[str] = set()


def register_secrets(values: list[str]) -> None:
    """Values (passwords) that must be replaced by *** wherever they would appear in a log line."""
    _secrets.update(v for v in values if v)


def redact(text: str) -> str:
    """The text with every registered secret masked."""
    # Longest first, so a secret that contains another is masked whole.
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, "***")
    return text


def _json_sink(message: Any) -> None:
    record = message.record
    line: dict[str, Any] = {
        "ts": record["time"].isoformat(timespec="milliseconds"),
        "level": record["level"].name,
        "msg": redact(record["message"]),
    }
    for name, value in record["extra"].items():
        line[name] = redact(value) if isinstance(value, str) else value
    if record["exception"] is not None:
        line["exception"] = redact(str(record["exception"].value))
    sys.stderr.write(orjson.dumps(line, default=str).decode() + "\n")


def _patch(record: Any) -> None:
    record["message"] = redact(record["message"])


def setup_logging(level: str = "INFO", fmt: str = "auto") -> None:
    """Route loguru to stderr; `auto` is pretty on a terminal and JSON lines elsewhere."""
    if fmt == "auto":
        fmt = "pretty" if sys.stderr.isatty() else "json"
    if fmt == "json":
        handler: dict[str, Any] = {"sink": _json_sink, "level": level, "diagnose": False}
    else:
        handler = {
            "sink": sys.stderr,
            "level": level,
            "colorize": sys.stderr.isatty(),
            "format": "<dim>{time:HH:mm:ss}</dim> <level>{level: <7}</level> {message}",
            "backtrace": level in ("TRACE", "DEBUG"),
            "diagnose": False,
        }
    logger.configure(handlers=[handler], patcher=_patch)  # type: ignore[list-item]
    _route_library_logging(level)


class _InterceptHandler(logging.Handler):
    """Sends kafka-python's stdlib logging through loguru, so there is one format and redaction."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        logger.opt(exception=record.exc_info).log(level, "kafka: {}", record.getMessage())


def _route_library_logging(level: str) -> None:
    # kafka-python logs every failed connection attempt as a warning or error; the client layer
    # reports those itself in one line, so the library speaks only when debugging.
    kafka_logger = logging.getLogger("kafka")
    kafka_logger.handlers = [_InterceptHandler()]
    kafka_logger.propagate = False
    kafka_logger.setLevel(logging.DEBUG if level in ("TRACE", "DEBUG") else logging.CRITICAL)
