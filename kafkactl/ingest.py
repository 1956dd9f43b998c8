"""The produce job (SPEC §6) as a library: read lines → parse → publish, streaming.

One line is read, parsed and handed to the Publisher at a time; the Publisher bounds the
records in flight and this job also bounds their bytes, so memory stays flat however long the
input is. Each record's delivery is reported by callback with its line number. Invalid lines
and undelivered records are counted, reported (log line and optional reject file) and never
dropped silently.

No Typer or Rich here: the CLI renders the progress and the summary.
"""

from __future__ import annotations

import base64
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import partial
from typing import IO, Any, Protocol

import orjson
from loguru import logger

from kafkactl.errors import DeliveryError
from kafkactl.formats import (
    FORMATS,
    FormatError,
    ParsedRecord,
    has_message_id,
    new_message_id,
    parse_envelope_line,
    parse_json_line,
    parse_raw_line,
    strip_newline,
)
from kafkactl.gctune import fewer_collections, fewer_thread_switches
from kafkactl.headers import MESSAGE_ID

# Bytes of records in flight (sent, not yet acknowledged) before reading pauses; together with
# the Publisher's record bound this caps memory for large records too.
MAX_BYTES_IN_FLIGHT = 64 * 1024 * 1024
PROGRESS_EVERY_S = 0.25
# The final flush is bounded: both engines fail a record not acknowledged within their
# delivery timeout (120 s), so a flush still waiting after that plus a margin waits on a client
# that stopped reporting. What is still unacknowledged then is reported, line by line.
FLUSH_TIMEOUT_S = 135.0
# After SIGINT/SIGTERM, what was read gets at most this long to be acknowledged.
INTERRUPTED_FLUSH_TIMEOUT_S = 10.0
FLUSH_SLICE_S = 0.2  # flush in slices: signals and a failed client are noticed between them
# Bytes a record takes in a request beyond its key, value and header bytes: the record
# batch header (61) and the record's own framing (varints, at most 36), and per header two
# length varints (at most 10). A record whose total is over the producer's max request size
# can never be sent.
RECORD_FRAMING_BYTES = 61 + 36
HEADER_FRAMING_BYTES = 10
UNKNOWN_OUTCOME = "it may or may not have been written"


class PublisherLike(Protocol):
    """What the job needs from kafkactl.producer.Publisher (a fake in unit tests)."""

    def publish(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
        partition: int | None = None,
        timestamp_ms: int | None = None,
        on_delivery: Callable[[Any], None] | None = None,
    ) -> None: ...

    def flush(self, timeout: float | None = None) -> bool: ...

    @property
    def in_flight(self) -> int: ...


@dataclass
class ProduceOptions:
    """What to produce and how to read it."""

    topic: str
    format: str = "json"
    key_field: str | None = None
    key: str | None = None
    key_delimiter: bytes | None = None
    message_id_field: str | None = None
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    partition: int | None = None
    partitions: int | None = None  # the topic's partition count, to check record partitions
    strict: bool = False
    max_bytes_in_flight: int = MAX_BYTES_IN_FLIGHT
    flush_timeout: float = FLUSH_TIMEOUT_S

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"unknown format {self.format!r}; use one of {', '.join(FORMATS)}")


@dataclass(frozen=True)
class Rejection:
    """A line that did not make it into the topic: invalid input, or not delivered."""

    line: int
    input: bytes
    error: str
    kind: str  # "invalid" | "failed"

    def as_json(self) -> bytes:
        """The reject-file line: {"line", "input", "error"} (+ input_encoding for binary)."""
        doc: dict[str, Any] = {"line": self.line}
        try:
            doc["input"] = self.input.decode("utf-8")
        except UnicodeDecodeError:
            doc["input"] = base64.b64encode(self.input).decode("ascii")
            doc["input_encoding"] = "base64"
        doc["error"] = self.error
        return orjson.dumps(doc)


@dataclass
class ProduceSummary:
    """Counts of one produce run (SPEC §6)."""

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

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form with the counters of SPEC §6."""
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
        logger.bind(line=rejection.line).warning(
            "line {}: invalid, skipped: {}", rejection.line, rejection.error
        )
    else:
        logger.bind(line=rejection.line).error(
            "line {}: not delivered: {}", rejection.line, rejection.error
        )


def parse_header_flag(text: str) -> tuple[str, bytes]:
    """A `--header k=v` flag as a header; ValueError when it is not k=v."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise ValueError(f"{text!r} is not k=v (e.g. --header source=import)")
    try:
        return name.strip().encode("utf-8").decode("utf-8"), value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{text!r} is not UTF-8 text") from None


class ProduceJob:
    """Reads lines, parses them per the format, publishes them, counts and reports.

    `run()` returns the summary; `progress()` gives live counters (any thread); `stop()`
    ends the run after the current line (what was read is still flushed).
    """

    def __init__(
        self,
        publisher: PublisherLike,
        options: ProduceOptions,
        on_reject: Callable[[Rejection], None] | None = log_rejection,
        reject_file: RejectFile | None = None,
        on_progress: Callable[[ProduceSummary], None] | None = None,
    ) -> None:
        self.publisher = publisher
        self.options = options
        self.summary = ProduceSummary(options.topic)
        self._on_reject = on_reject
        self._reject_file = reject_file
        self._on_progress = on_progress
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._stop = False
        self._sent_bytes = 0  # written by the reading thread only
        self._settled_bytes = 0  # written under _lock by delivery callbacks
        self._sent = 0
        self._settled = 0
        self._errors_only = False
        self._failed_count = 0  # errors-only: failures reported so far, and their bytes
        self._failed_bytes = 0
        self.reading = False
        self._cancelled = False  # SIGINT/SIGTERM: stop waiting for the broker too
        self._max_record_bytes: int | None = getattr(publisher, "max_record_bytes", None)
        self._parse = self._parser()

    # --- parsing ---------------------------------------------------------------------------

    def _parser(self) -> Callable[[bytes], ParsedRecord]:
        o = self.options
        if o.format == "json":
            return partial(
                parse_json_line,
                key_field=o.key_field,
                fixed_key=o.key,
                message_id_field=o.message_id_field,
            )
        if o.format == "envelope":
            return partial(
                parse_envelope_line,
                key_field=o.key_field,
                fixed_key=o.key,
                message_id_field=o.message_id_field,
            )
        delimiter = o.key_delimiter
        fixed = o.key.encode("utf-8") if o.key is not None else None

        def raw(line: bytes) -> ParsedRecord:
            record = parse_raw_line(line, delimiter)
            if fixed is not None:
                record.key = fixed
            return record

        return raw

    def _headers(self, record: ParsedRecord) -> list[tuple[str, bytes]]:
        """The record's headers, the --header flags (replacing same-named ones), and a
        message-id (kept if present, else a new UUID)."""
        headers = record.headers
        flags = self.options.headers
        if flags:
            names = {name for name, _ in flags}
            headers = [h for h in headers if h[0] not in names] + flags
        elif not headers:
            return [(MESSAGE_ID, new_message_id())]
        if not has_message_id(headers):
            headers = [*headers, (MESSAGE_ID, new_message_id())]
        return headers

    # --- the run ---------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop reading after the current line; what was read is still flushed."""
        self._stop = True

    def interrupt(self) -> None:
        """SIGINT/SIGTERM: stop reading; what was read gets a short flush
        (INTERRUPTED_FLUSH_TIMEOUT_S), and a flush or a wait for room under way ends now."""
        self._stop = True
        self._cancelled = True
        self.summary.interrupted = True
        cancel = getattr(self.publisher, "cancel", None)
        if cancel is not None:
            cancel()

    def _fault(self) -> str | None:
        """Why the publisher can no longer deliver (a dead sender thread, a fatal client error),
        or None."""
        fault = getattr(self.publisher, "fault", None)
        return fault() if fault is not None else None

    def _fail_run(self, reason: str) -> None:
        """The run fails as a whole (exit 1): stop reading; keep the first reason."""
        self._stop = True
        if self.summary.error is None:
            self.summary.error = reason

    def run(self, lines: Iterable[bytes]) -> ProduceSummary:
        """Produce every line of `lines` (binary, newline-terminated); flush; return counts."""
        with fewer_collections(), fewer_thread_switches():
            return self._run(lines)

    def _run(self, lines: Iterable[bytes]) -> ProduceSummary:
        o = self.options
        topic = o.topic
        publish = self.publisher.publish
        parse = self._parse
        headers_for = self._headers
        forced_partition = o.partition
        partitions = o.partitions
        limit = o.max_bytes_in_flight
        max_record = self._max_record_bytes
        summary = self.summary
        progress = self._on_progress
        next_progress = time.monotonic() + PROGRESS_EVERY_S
        keep_lines = o.format == "envelope" or (o.format == "raw" and bool(o.key_delimiter))
        # A Publisher that reports failures only (librdkafka) bounds its own queue in records
        # and bytes; acknowledged records are counted at the end, not one callback each.
        errors_only = bool(getattr(self.publisher, "errors_only", False))
        self._errors_only = errors_only
        delivered = self._failed if errors_only else self._delivered
        # Blank lines carry no record and are skipped (counted as `blank`); in raw input only
        # empty lines are blank, like kcat, since spaces may be a value.
        strip_blank = o.format != "raw"
        number = 0
        iterator = iter(lines)
        try:
            while not self._stop:
                self.reading = True
                try:
                    line = next(iterator, None)
                finally:
                    self.reading = False
                if line is None:
                    break
                number += 1
                if not (line.strip() if strip_blank else line.rstrip(b"\n")):
                    summary.blank += 1
                    continue
                summary.read += 1
                try:
                    record = parse(line)
                    partition = (
                        forced_partition if forced_partition is not None else record.partition
                    )
                    if partition is not None and partitions is not None and partition >= partitions:
                        raise FormatError(
                            f"partition {partition} does not exist "
                            f"({topic} has {partitions} partitions; use --partition N, or "
                            "drop the field: jq -c 'del(.partition)')"
                        )
                except FormatError as exc:
                    self._reject(number, strip_newline(line), exc.reason, "invalid")
                    if o.strict:
                        summary.stopped_at_line = number
                        break
                    continue
                key = record.key
                value = record.value
                size = (len(value) if value is not None else 0) + (len(key) if key else 0)
                headers = headers_for(record)
                if max_record is not None and (size > max_record - 65_536 or record.headers):
                    too_large = self._too_large(key, value, headers, max_record)
                    if too_large:
                        self._reject(number, strip_newline(line), too_large, "invalid")
                        if o.strict:
                            summary.stopped_at_line = number
                            break
                        continue
                if not errors_only:
                    inflight = self._sent_bytes - self._settled_bytes
                    if inflight and inflight + size > limit:
                        self._wait_for_bytes(limit - size)
                self._sent_bytes += size
                self._sent += 1
                # The reject file needs the input of a record that fails; where the value is
                # that input (json, raw without a key delimiter) the line is not kept twice.
                original = line if keep_lines else value
                try:
                    publish(
                        topic,
                        value,
                        key,
                        headers,
                        partition,
                        record.timestamp_ms,
                        partial(delivered, number, size, original),
                    )
                except BaseException as exc:
                    # Not queued: this line is reported here, the run ends.
                    self._sent_bytes -= size
                    self._sent -= 1
                    if isinstance(exc, KeyboardInterrupt):
                        reason = "not sent: interrupted"
                    elif isinstance(exc, DeliveryError):
                        reason = f"not sent: {exc.reason}"
                        self._fail_run(exc.reason)
                    elif isinstance(exc, Exception):
                        reason = f"not sent: the producer failed: {_describe(exc)}"
                        self._fail_run(f"the producer failed: {_describe(exc)}")
                    else:
                        raise
                    with self._lock:
                        summary.failed += 1
                    self._reject(number, self._original(original), reason, "failed", count=False)
                    if isinstance(exc, KeyboardInterrupt):
                        raise
                    break
                if not number & 0xFF:
                    fault = self._fault()
                    if fault:
                        self._fail_run(f"the producer failed: {fault}")
                        break
                    if progress is not None:
                        now = time.monotonic()
                        if now >= next_progress:
                            next_progress = now + PROGRESS_EVERY_S
                            progress(self.progress())
        except KeyboardInterrupt:
            summary.interrupted = True
        finally:
            self._finish()
        return summary

    def _too_large(
        self, key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes]], limit: int
    ) -> str | None:
        """Why a record is over the producer's max request size (it can never be sent), or
        None when it fits."""
        header_bytes = sum(
            HEADER_FRAMING_BYTES + len(name.encode("utf-8", "surrogateescape")) + len(data)
            for name, data in headers
        )
        key_bytes = len(key) if key else 0
        value_bytes = len(value) if value is not None else 0
        total = key_bytes + value_bytes + header_bytes + RECORD_FRAMING_BYTES
        if total <= limit:
            return None
        return (
            f"record too large: {total:,} bytes (key {key_bytes:,}, value {value_bytes:,}, "
            f"headers {header_bytes:,}, framing {RECORD_FRAMING_BYTES}); the producer sends at "
            f"most {limit:,} bytes per record (its max request size)"
        )

    def _wait_for_bytes(self, target: int) -> None:
        """Backpressure on bytes: wait until the bytes in flight are at most `target`."""
        checked = time.monotonic()
        while self._sent_bytes - self._settled_bytes > max(target, 0):
            time.sleep(0.002)
            if self._sent == self._settled:
                return
            if self._cancelled:
                raise KeyboardInterrupt
            now = time.monotonic()
            if now - checked >= FLUSH_SLICE_S:
                checked = now
                fault = self._fault()
                if fault:
                    raise DeliveryError(f"the producer failed: {fault}", False, "producer-failed")

    def _flush(self) -> str | None:
        """Flush in slices until everything settled (None), or why the rest is given up: the
        bound passed, the publisher failed, or a signal came."""
        bound = self.options.flush_timeout
        if self.summary.interrupted:
            bound = min(bound, INTERRUPTED_FLUSH_TIMEOUT_S)
        deadline = time.monotonic() + bound
        while True:
            fault = self._fault()
            if fault:
                self._fail_run(f"the producer failed: {fault}")
                return self.summary.error
            try:
                if self.publisher.flush(FLUSH_SLICE_S):
                    return None
            except KeyboardInterrupt:
                self.summary.interrupted = True
                self._cancelled = True
            except Exception as exc:
                self._fail_run(f"the producer failed while flushing: {_describe(exc)}")
                return self.summary.error
            if self._cancelled:
                return "interrupted before the broker acknowledged it"
            if time.monotonic() >= deadline:
                reason = f"not acknowledged within {bound:g} s of the end of input"
                if not self.summary.interrupted:
                    self._fail_run(reason)
                return reason

    def _finish(self) -> None:
        try:
            reason = self._flush()
        except KeyboardInterrupt:
            self.summary.interrupted = True
            reason = "interrupted before the broker acknowledged it"
        if reason is not None:
            # Every record still unacknowledged is reported now, with its line number, as not
            # delivered; the publisher will not report it again.
            abandon = getattr(self.publisher, "abandon", None)
            if abandon is not None:
                abandon(f"{reason}; {UNKNOWN_OUTCOME}")
        rejects = self._reject_file
        if rejects is not None and rejects.error is not None:
            self._fail_run(f"{rejects.error}; the rejected lines from then on are only on stderr")
        with self._lock:
            if self._errors_only:
                self._settle_unreported(self.publisher.in_flight)
            self.summary.in_flight = self._sent - self._settled
            self.summary.seconds = time.monotonic() - self._started
        if self._on_progress is not None:
            self._on_progress(self.progress())

    def _delivered(self, number: int, size: int, original: bytes | None, delivery: Any) -> None:
        """Delivery callback (producer IO thread): count, and report a failure."""
        with self._lock:
            self._settled += 1
            self._settled_bytes += size
            if delivery.error is None:
                self.summary.published += 1
                self.summary.bytes += size
                return
            self.summary.failed += 1
        error = delivery.error
        reason = error.reason if isinstance(error, DeliveryError) else _describe(error)
        self._reject(number, self._original(original), reason, "failed", count=False)

    def _failed(self, number: int, size: int, original: bytes | None, delivery: Any) -> None:
        """Failure report of an errors-only Publisher (its acknowledged records report nothing)."""
        with self._lock:
            self._failed_count += 1
            self._failed_bytes += size
        self._delivered(number, size, original, delivery)

    def _settle_unreported(self, pending: int) -> None:
        """Errors-only: every record sent, not failed and no longer pending was acknowledged.

        Called under the lock. Bytes of records still pending (a flush that timed out) cannot
        be told apart, so they are left out of `bytes` only approximately.
        """
        sent_ok = self._sent - self._failed_count
        acked = max(0, sent_ok - pending)
        self.summary.published = acked
        self.summary.bytes = (
            max(0, self._sent_bytes - self._failed_bytes)
            if not pending
            else ((self._sent_bytes - self._failed_bytes) * acked // max(sent_ok, 1))
        )
        self._settled = self._failed_count + acked

    def _original(self, original: bytes | None) -> bytes:
        """The input line of a record (or its value, where that is the line), without newline."""
        if original is None:
            return b""
        if self.options.format == "raw":
            return original[:-1] if original.endswith(b"\n") else original
        return strip_newline(original)

    def _reject(self, number: int, text: bytes, reason: str, kind: str, count: bool = True) -> None:
        if count:
            self.summary.invalid += 1
        rejection = Rejection(number, text, reason, kind)
        if self._on_reject is not None:
            self._on_reject(rejection)
        rejects = self._reject_file
        if rejects is not None and not rejects.write(rejection):
            # The rejects can no longer be recorded: stop reading, fail the run (exit 1).
            self._fail_run(
                f"{rejects.error}; stopped reading at line {number}: the rejected lines "
                "could no longer be recorded"
            )

    def progress(self) -> ProduceSummary:
        """A snapshot of the counters so far (seconds = time since start)."""
        with self._lock:
            if self._errors_only:
                self._settle_unreported(self.publisher.in_flight)
            snap = ProduceSummary(**{**self.summary.__dict__})
            snap.in_flight = self._sent - self._settled
        snap.seconds = time.monotonic() - self._started
        return snap


def read_lines(stream: IO[bytes]) -> Iterator[bytes]:
    """Lines of a binary stream, one at a time (never the whole input), bytes as they are:
    a byte order mark is not dropped (a JSON line with one is invalid; in raw input it is data)."""
    yield from stream


def _describe(exc: BaseException) -> str:
    """An exception as one line: its type, and its message when it has one."""
    text = str(exc)
    name = type(exc).__name__
    if not text:
        return name
    return text if text.startswith(name) else f"{name}: {text}"


@contextmanager
def stop_on_signals(
    job: ProduceJob, on_first: Callable[[str], None] | None = None
) -> Iterator[None]:
    """SIGINT/SIGTERM stop the job cleanly (what was read is flushed, the summary prints); a
    second signal forces exit. Only in the main thread; elsewhere a no-op."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def handler(signum: int, _frame: Any) -> None:
        received.append(signum)
        if len(received) > 1:
            os.write(2, b"kafkactl: second signal, exiting now\n")
            os._exit(130)
        if on_first is not None:
            on_first(signal.Signals(signum).name)
        job.interrupt()
        if job.reading:
            # Blocked waiting for input: nothing of this line was read, so leave the read.
            raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
