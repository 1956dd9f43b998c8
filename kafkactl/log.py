"""Logging on stderr with loguru: pretty on a terminal, JSON lines otherwise, secrets redacted."""

from __future__ import annotations

import atexit
import logging
import sys
import traceback
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson
from loguru import logger

from kafkactl.logfold import Folder
from kafkactl.terminal_text import safe_for_terminal

# Record fields that a JSON log line carries when the code bound them (logger.bind(...)).
CONTEXT_FIELDS = ("topic", "partition", "offset", "key", "message_id", "group", "attempt")

# Bound by callers whose lines repeat (handler failures, invalid input lines): a
# (key, label) pair the terminal sink folds by; never written to JSON log lines.
FOLD = "fold"

# The message (and traceback) of a pretty log line, its control characters escaped (set by
# `_pretty_format`); never written to JSON log lines.
SHOWN = "_shown"
SHOWN_TRACE = "_shown_trace"
_PRETTY = (
    "<dim>{time:HH:mm:ss}</dim> <level>{level: <7}</level> {extra[_shown]}\n{extra[_shown_trace]}"
)

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
        if name in (FOLD, SHOWN, SHOWN_TRACE):
            continue
        line[name] = redact(value) if isinstance(value, str) else value
    if record["exception"] is not None:
        line["exception"] = redact(str(record["exception"].value))
    sys.stderr.write(orjson.dumps(line, default=str).decode() + "\n")


def _patch(record: Any) -> None:
    record["message"] = redact(record["message"])


def _pretty_format(record: Any) -> str:
    """The pretty line's format, with the message (which may quote keys, headers, error text)
    made safe for a terminal: one log record is one line, no escape sequence gets through."""
    record["extra"][SHOWN] = safe_for_terminal(record["message"])
    trace = ""
    if record["exception"] is not None:
        kind, value, tb = record["exception"]
        trace = "".join(traceback.format_exception(kind, value, tb))
    record["extra"][SHOWN_TRACE] = safe_for_terminal(redact(trace), keep_lines=True)
    return _PRETTY


def _write_line(text: str) -> None:
    """A log line straight to stderr (when the caller gives no printer)."""
    sys.stderr.write(text.rstrip("\n") + "\n")


class TerminalSink:
    """Log lines on the terminal through `print_line`: the CLI passes the Rich console's
    printer that draws the live view (render.log_line), so they print above it and never
    into it; repeated kinds are folded (all shown when `fold` is None, as with --log-level
    DEBUG). The printer is given, not imported: render sits above log (DESIGN §2)."""

    def __init__(
        self, folder: Folder | None, print_line: Callable[[str], None] = _write_line
    ) -> None:
        self.folder = folder
        self._print_line = print_line

    def __call__(self, message: Any) -> None:
        record = message.record
        fold = record["extra"].get(FOLD)
        if self.folder is not None:
            self.flush()
            if fold is not None:
                key, label = fold
                if not self.folder.offer(key, label, record["level"].name):
                    return
                line = str(message)
                if self.folder.is_last_in_full(key):
                    # On the next line, under the message: the line is long enough already.
                    interval = f"{self.folder.interval:g}s"
                    line = (
                        f"{line.rstrip()}\n\x1b[2m(more like this: one count every {interval}; "
                        "--log-level DEBUG shows each)\x1b[0m"
                    )
                self._print(line)
                return
        self._print(str(message))

    def flush(self, final: bool = False) -> None:
        """Print the folded counts that are due (all of them when `final`)."""
        if self.folder is None:
            return
        for folded in self.folder.due(final):
            now = datetime.now().strftime("%H:%M:%S")
            colour = "\x1b[31m" if folded.level in ("ERROR", "CRITICAL") else "\x1b[33m"
            level = f"{folded.level: <7}"
            text = safe_for_terminal(redact(folded.text()))
            self._print(f"\x1b[2m{now}\x1b[0m {colour}{level}\x1b[0m {text}")

    def _print(self, text: str) -> None:
        self._print_line(text)


_terminal_sink: TerminalSink | None = None


def flush_folded(final: bool = False) -> None:
    """Print folded log counts that are due; the live views call it as they redraw."""
    if _terminal_sink is not None:
        _terminal_sink.flush(final)


def _flush_at_exit() -> None:
    flush_folded(final=True)


def setup_logging(
    level: str = "INFO", fmt: str = "auto", print_line: Callable[[str], None] = _write_line
) -> None:
    """Route loguru to stderr; `auto` is pretty on a terminal (each line through
    `print_line`) and JSON lines elsewhere."""
    global _terminal_sink
    _terminal_sink = None
    if fmt == "auto":
        fmt = "pretty" if sys.stderr.isatty() else "json"
    if fmt == "json":
        handler: dict[str, Any] = {"sink": _json_sink, "level": level, "diagnose": False}
    elif sys.stderr.isatty():
        debugging = level in ("TRACE", "DEBUG")
        _terminal_sink = TerminalSink(None if debugging else Folder(), print_line)
        handler = {
            "sink": _terminal_sink,
            "level": level,
            "colorize": True,
            "format": _pretty_format,
            "backtrace": debugging,
            "diagnose": False,
        }
    else:
        handler = {
            "sink": sys.stderr,
            "level": level,
            "colorize": sys.stderr.isatty(),
            "format": _pretty_format,
            "backtrace": level in ("TRACE", "DEBUG"),
            "diagnose": False,
        }
    logger.configure(handlers=[handler], patcher=_patch)  # type: ignore[list-item]
    atexit.unregister(_flush_at_exit)
    if _terminal_sink is not None:
        atexit.register(_flush_at_exit)
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
