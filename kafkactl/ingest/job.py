"""The produce job (DESIGN §5): read lines → parse → publish, streaming, with backpressure.

One line is read, parsed (kafkactl.formats) and handed to the Publisher at a time; the
Publisher bounds the records in flight and this job also bounds their bytes, so memory stays
flat however long the input is. Each record's delivery is reported by callback with its line
number. Invalid lines and undelivered records are counted, reported (log line and optional
reject file, kafkactl.ingest.rejects) and never dropped silently; the run ends with a bounded
flush (kafkactl.ingest.flush).

No Typer or Rich here: the CLI renders the progress and the summary.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from functools import partial

from kafkactl.errors import DeliveryError, KafkactlError
from kafkactl.formats import (
    FormatError,
    parser_for,
    strip_newline,
)
from kafkactl.gctune import fewer_collections, fewer_thread_switches
from kafkactl.ingest.flush import (
    FLUSH_SLICE_S,
    INTERRUPTED,
    UNKNOWN_OUTCOME,
    describe,
    flush_bounded,
)
from kafkactl.ingest.options import ProduceOptions, PublisherLike, record_headers
from kafkactl.ingest.reading import LongLine
from kafkactl.ingest.rejects import RejectFile, Rejection, RejectKind, log_rejection
from kafkactl.ingest.size import line_limit, line_too_long, record_too_large
from kafkactl.ingest.summary import ProduceSummary
from kafkactl.kafka.ports import Delivery
from kafkactl.tracing import SendBatch, ensure_traceparent, tracer

PROGRESS_EVERY_S = 0.25


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
        self.cancelled = False  # SIGINT/SIGTERM: stop waiting for the broker too
        self._max_record_bytes: int | None = getattr(publisher, "max_record_bytes", None)
        # Lines longer than this are dropped as they are read (kafkactl.ingest.read_lines).
        self.line_limit = line_limit(self._max_record_bytes, options.format)
        # Spans on: a `send` span per batch of records (linked to each); they start a trace
        # of their own, like --trace, since a span needs one.
        self._tracer = tracer()
        self._sends: SendBatch | None = (
            self._tracer.send_batch(options.topic) if self._tracer.enabled else None
        )
        self._parse = parser_for(
            options.format,
            key_field=options.key_field,
            key=options.key,
            key_delimiter=options.key_delimiter,
            message_id_field=options.message_id_field,
        ).parse

    # --- the run ---------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop reading after the current line; what was read is still flushed."""
        self._stop = True

    def interrupt(self) -> None:
        """SIGINT/SIGTERM: stop reading; what was read gets a short flush
        (INTERRUPTED_FLUSH_TIMEOUT_S), and a flush or a wait for room under way ends now."""
        self._stop = True
        self.cancelled = True
        self.summary.interrupted = True
        cancel = getattr(self.publisher, "cancel", None)
        if cancel is not None:
            cancel()

    def on_signal(self, name: str) -> None:
        """The first SIGINT/SIGTERM (called from the signal handler): interrupt the run; a read
        blocked waiting for input is left at once (nothing of that line was read)."""
        self.interrupt()
        if self.reading:
            raise KeyboardInterrupt

    def fault(self) -> str | None:
        """Why the publisher can no longer deliver (a dead sender thread, a fatal client error),
        or None."""
        fault = getattr(self.publisher, "fault", None)
        return fault() if fault is not None else None

    def fail_run(self, reason: str) -> None:
        """The run fails as a whole (exit 1): stop reading; keep the first reason."""
        self._stop = True
        if self.summary.error is None:
            self.summary.error = reason

    def run(self, lines: Iterable[bytes | LongLine]) -> ProduceSummary:
        """Produce every line of `lines` (binary, newline-terminated); flush; return counts."""
        with fewer_collections(), fewer_thread_switches():
            return self._run(lines)

    def _run(self, lines: Iterable[bytes | LongLine]) -> ProduceSummary:
        o = self.options
        topic = o.topic
        publish = self.publisher.publish
        parse = self._parse
        flag_headers = o.headers
        new_ids = o.message_id == "uuid"
        forced_partition = o.partition
        partitions = o.partitions
        limit = o.max_bytes_in_flight
        max_record = self._max_record_bytes
        summary = self.summary
        progress = self._on_progress
        next_progress = time.monotonic() + PROGRESS_EVERY_S
        stage = o.schemas
        # With schemas the value becomes wire-format bytes: the reject file needs the line.
        keep_lines = (
            o.format == "envelope"
            or (o.format == "raw" and bool(o.key_delimiter))
            or stage is not None
        )
        # A Publisher that reports failures only (librdkafka) bounds its own queue in records
        # and bytes; acknowledged records are counted at the end, not one callback each.
        errors_only = bool(getattr(self.publisher, "errors_only", False))
        self._errors_only = errors_only
        delivered = self._failed if errors_only else self._delivered
        # Blank lines carry no record and are skipped (counted as `blank`); in raw input only
        # empty lines are blank, like kcat, since spaces may be a value.
        strip_blank = o.format != "raw"
        traced = o.trace or self._sends is not None
        sends = self._sends
        number = 0
        iterator = iter(lines)
        try:
            while not self._stop:
                self.reading = True
                try:
                    line = next(iterator, None)
                except OSError as exc:  # EIO: the terminal hung up; what was read is flushed
                    if not summary.interrupted:
                        self.fail_run(f"cannot read the input: {exc.strerror or exc}")
                    break
                finally:
                    self.reading = False
                if line is None:
                    break
                number += 1
                if isinstance(line, LongLine):
                    summary.read += 1
                    if self._long_line(number, line):
                        break
                    continue
                if not (line.strip() if strip_blank else line.rstrip(b"\n")):
                    summary.blank += 1
                    continue
                summary.read += 1
                try:
                    record = parse(line)
                    if stage is not None:
                        stage.apply(record)
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
                except KafkactlError as exc:
                    # The schema registry failed mid-run (unreachable, refused): the run fails.
                    with self._lock:
                        summary.failed += 1
                    self._reject(
                        number, strip_newline(line), f"not sent: {exc}", "failed", count=False
                    )
                    self.fail_run(str(exc))
                    break
                key = record.key
                value = record.value
                size = (len(value) if value is not None else 0) + (len(key) if key else 0)
                headers = record_headers(record, flag_headers, new_ids)
                if traced:
                    headers = ensure_traceparent(headers)
                if max_record is not None and (size > max_record - 65_536 or record.headers):
                    too_large = record_too_large(key, value, headers, max_record)
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
                        self.fail_run(exc.reason)
                    elif isinstance(exc, Exception):
                        reason = f"not sent: the producer failed: {describe(exc)}"
                        self.fail_run(f"the producer failed: {describe(exc)}")
                    else:
                        raise
                    with self._lock:
                        summary.failed += 1
                    self._reject(number, self._original(original), reason, "failed", count=False)
                    if isinstance(exc, KeyboardInterrupt):
                        raise
                    break
                if sends is not None:
                    sends.add(headers)
                if not number & 0xFF:
                    fault = self.fault()
                    if fault:
                        self.fail_run(f"the producer failed: {fault}")
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

    def _long_line(self, number: int, line: LongLine) -> bool:
        """A line too long to send: invalid, only its start kept; True when reading stops."""
        reason = line_too_long(line.length, line.ended, line.limit, self._max_record_bytes)
        self._reject(number, line.head, reason, "invalid", truncated=True)
        if not line.ended:
            self.fail_run(
                f"line {number} has no end of line in its first {line.length:,} bytes: the "
                "input is not lines of text (a device, binary data?); stopped reading"
            )
            return True
        if self.options.strict:
            self.summary.stopped_at_line = number
            return True
        return False

    def _wait_for_bytes(self, target: int) -> None:
        """Backpressure on bytes: wait until the bytes in flight are at most `target`."""
        checked = time.monotonic()
        while self._sent_bytes - self._settled_bytes > max(target, 0):
            time.sleep(0.002)
            if self._sent == self._settled:
                return
            if self.cancelled:
                raise KeyboardInterrupt
            now = time.monotonic()
            if now - checked >= FLUSH_SLICE_S:
                checked = now
                fault = self.fault()
                if fault:
                    raise DeliveryError(f"the producer failed: {fault}", False, "producer-failed")

    def _finish(self) -> None:
        if self._sends is not None:
            self._sends.end()
        try:
            reason = flush_bounded(self, self.options.flush_timeout)
        except KeyboardInterrupt:
            self.summary.interrupted = True
            reason = INTERRUPTED
        if reason is not None:
            # Every record still unacknowledged is reported now, with its line number, as not
            # delivered; the publisher will not report it again.
            abandon = getattr(self.publisher, "abandon", None)
            if abandon is not None:
                abandon(f"{reason}; {UNKNOWN_OUTCOME}")
        rejects = self._reject_file
        if rejects is not None and rejects.error is not None:
            self.fail_run(f"{rejects.error}; the rejected lines from then on are only on stderr")
        with self._lock:
            if self._errors_only:
                self._settle_unreported(self.publisher.in_flight)
            self.summary.in_flight = self._sent - self._settled
            self.summary.seconds = time.monotonic() - self._started
        if self._on_progress is not None:
            self._on_progress(self.progress())

    def _delivered(
        self, number: int, size: int, original: bytes | None, delivery: Delivery
    ) -> None:
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
        reason = error.reason if isinstance(error, DeliveryError) else describe(error)
        self._reject(number, self._original(original), reason, "failed", count=False)

    def _failed(self, number: int, size: int, original: bytes | None, delivery: Delivery) -> None:
        """Failure report of an errors-only Publisher (its acknowledged records report nothing)."""
        with self._lock:
            self._failed_count += 1
            self._failed_bytes += size
        self._delivered(number, size, original, delivery)

    def _settle_unreported(self, pending: int) -> None:
        """Errors-only: every record sent, not failed and no longer pending was acknowledged
        (called under the lock)."""
        self._settled = self.summary.settle_errors_only(
            self._sent, self._sent_bytes, self._failed_count, self._failed_bytes, pending
        )

    def _original(self, original: bytes | None) -> bytes:
        """The input line of a record (or its value, where that is the line), without newline."""
        if original is None:
            return b""
        if self.options.format == "raw":
            return original[:-1] if original.endswith(b"\n") else original
        return strip_newline(original)

    def _reject(
        self,
        number: int,
        text: bytes,
        reason: str,
        kind: RejectKind,
        count: bool = True,
        truncated: bool = False,
    ) -> None:
        if count:
            self.summary.invalid += 1
        rejection = Rejection(number, text, reason, kind, truncated)
        if self._on_reject is not None:
            self._on_reject(rejection)
        rejects = self._reject_file
        if rejects is not None and not rejects.write(rejection):
            # The rejects can no longer be recorded: stop reading, fail the run (exit 1).
            self.fail_run(
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
