"""The produce job (DESIGN §5): read lines → parse → publish, streaming, with backpressure.

Two paths feed it: `linepath` (one line at a time, any engine and format: the Publisher
bounds the records in flight and the job their bytes) and `fastpath` (blocks of lines handed
to librdkafka at once, which bounds its own queue). The job owns what both share: the
counters, the reports, the end of the run. Each record that fails is reported with its line
number. Invalid lines and undelivered records are counted, reported (log line and optional
reject file, kafkactl.ingest.rejects) and never dropped silently; the run ends with a bounded
flush (kafkactl.ingest.flush).

No Typer or Rich here: the CLI renders the progress and the summary.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from kafkactl.errors import DeliveryError
from kafkactl.formats import (
    parser_for,
    strip_newline,
)
from kafkactl.ingest.flush import (
    INTERRUPTED,
    UNKNOWN_OUTCOME,
    describe,
    flush_bounded,
)
from kafkactl.ingest.options import ProduceOptions, PublisherLike
from kafkactl.ingest.reading import LongLine
from kafkactl.ingest.rejects import RejectFile, Rejection, RejectKind, log_rejection
from kafkactl.ingest.size import line_limit, line_too_long
from kafkactl.ingest.summary import ProduceSummary
from kafkactl.kafka.ports import Delivery
from kafkactl.tracing import SendBatch, tracer


class ProduceJob:
    """Reads lines, parses them per the format, publishes them, counts and reports.

    `kafkactl.ingest.produce_stream` and `produce_lines` run it and return the summary;
    `progress()` gives live counters (any thread); `stop()` ends the run after the current
    line (what was read is still flushed).
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
        self.on_progress = on_progress
        self.lock = threading.Lock()
        self._started = time.monotonic()
        self._stop = False
        self.sent_bytes = 0  # written by the reading thread only
        self.settled_bytes = 0  # written under _lock by delivery callbacks
        self.sent = 0
        self.settled = 0
        self.errors_only = False
        self._failed_count = 0  # errors-only: failures reported so far, and their bytes
        self._failed_bytes = 0
        self.reading = False
        self.cancelled = False  # SIGINT/SIGTERM: stop waiting for the broker too
        self.max_record_bytes = publisher.max_record_bytes
        # Lines longer than this are dropped as they are read (kafkactl.ingest.read_lines).
        self.line_limit = line_limit(self.max_record_bytes, options.format)
        # Spans on: a `send` span per batch of records (linked to each); they start a trace
        # of their own, like --trace, since a span needs one.
        self._tracer = tracer()
        self.spans: SendBatch | None = (
            self._tracer.send_batch(options.topic) if self._tracer.enabled else None
        )
        self.parse = parser_for(
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
        self.publisher.cancel()

    def on_signal(self, name: str) -> None:
        """The first SIGINT/SIGTERM (called from the signal handler): interrupt the run; a read
        blocked waiting for input is left at once (nothing of that line was read)."""
        self.interrupt()
        if self.reading:
            raise KeyboardInterrupt

    def fault(self) -> str | None:
        """Why the publisher can no longer deliver (a dead sender thread, a fatal client error),
        or None."""
        return self.publisher.fault()

    def fail_run(self, reason: str) -> None:
        """The run fails as a whole (exit 1): stop reading; keep the first reason."""
        self._stop = True
        if self.summary.error is None:
            self.summary.error = reason

    @property
    def stopping(self) -> bool:
        """True once the run was asked to stop reading."""
        return self._stop

    @property
    def traced(self) -> bool:
        """Records get a traceparent (--trace, or spans on)."""
        return self.options.trace or self.spans is not None

    def count_sent(self, records: int, size: int) -> None:
        """The fast path handed `records` of `size` bytes to the engine (reading thread)."""
        self.sent += records
        self.sent_bytes += size

    def count_unsent(self, number: int, line: bytes, reason: str) -> None:
        """A line read but never handed to the engine: failed and reported."""
        with self.lock:
            self.summary.failed += 1
        self.reject(number, line, reason, "failed", count=False)

    def long_line(self, number: int, line: LongLine) -> bool:
        """A line too long to send: invalid, only its start kept; True when reading stops."""
        reason = line_too_long(line.length, line.ended, line.limit, self.max_record_bytes)
        self.reject(number, line.head, reason, "invalid", truncated=True)
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

    def finish(self) -> None:
        if self.spans is not None:
            self.spans.end()
        try:
            reason = flush_bounded(self, self.options.flush_timeout)
        except KeyboardInterrupt:
            self.summary.interrupted = True
            reason = INTERRUPTED
        if reason is not None:
            # Every record still unacknowledged is reported now, with its line number, as not
            # delivered; the publisher will not report it again.
            self.publisher.abandon(f"{reason}; {UNKNOWN_OUTCOME}")
        rejects = self._reject_file
        if rejects is not None and rejects.error is not None:
            self.fail_run(f"{rejects.error}; the rejected lines from then on are only on stderr")
        with self.lock:
            if self.errors_only:
                self._settle_unreported(self.publisher.in_flight)
            self.summary.in_flight = self.sent - self.settled
            self.summary.seconds = time.monotonic() - self._started
        if self.on_progress is not None:
            self.on_progress(self.progress())

    def delivered(self, number: int, size: int, original: bytes | None, delivery: Delivery) -> None:
        """Delivery callback (producer IO thread): count, and report a failure."""
        with self.lock:
            self.settled += 1
            self.settled_bytes += size
            if delivery.error is None:
                self.summary.published += 1
                self.summary.bytes += size
                return
            self.summary.failed += 1
        error = delivery.error
        reason = error.reason if isinstance(error, DeliveryError) else describe(error)
        self.reject(number, self.original_line(original), reason, "failed", count=False)

    def failed(self, number: int, size: int, original: bytes | None, delivery: Delivery) -> None:
        """Failure report of an errors-only Publisher (its acknowledged records report nothing)."""
        with self.lock:
            self._failed_count += 1
            self._failed_bytes += size
        self.delivered(number, size, original, delivery)

    def _settle_unreported(self, pending: int) -> None:
        """Errors-only: every record sent, not failed and no longer pending was acknowledged
        (called under the lock)."""
        self.settled = self.summary.settle_errors_only(
            self.sent, self.sent_bytes, self._failed_count, self._failed_bytes, pending
        )

    def original_line(self, original: bytes | None) -> bytes:
        """The input line of a record (or its value, where that is the line), without newline."""
        if original is None:
            return b""
        if self.options.format == "raw":
            return original[:-1] if original.endswith(b"\n") else original
        return strip_newline(original)

    def reject(
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
        with self.lock:
            if self.errors_only:
                self._settle_unreported(self.publisher.in_flight)
            snap = ProduceSummary(**{**self.summary.__dict__})
            snap.in_flight = self.sent - self.settled
        snap.seconds = time.monotonic() - self._started
        return snap
