"""produce's fast path (DESIGN §5.4): a block of lines at a time, one tight loop per format.

Taken when the engine hands a whole block over at once (librdkafka's errors-only producer,
`Publisher.batch_sender`) and a record is only its value and key: `--format json` or `raw`,
no schemas, no tracing, no per-record headers (`--header` flags are the same on every record).
Everything else goes through `ProduceJob.run`, line by line.

Per line: JSON validation (orjson) and the key in one expression; anything unusual (a bad or
blank line, a key that is not a string, a dotted field, a line too long, a record that may be
too large) falls to `_slow`, the job's own parser and checks, so the rules and the messages are
the same on both paths. Each block goes to the engine in one call, in order; a record that
fails comes back once, with its line number, through `_failed`: the only report path.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from itertools import repeat
from typing import IO, TYPE_CHECKING, Any

import orjson

from kafkactl.formats import FormatError
from kafkactl.gctune import fewer_collections, fewer_thread_switches
from kafkactl.ingest.linepath import PROGRESS_EVERY_S, produce_lines
from kafkactl.ingest.reading import LongLine, read_blocks, read_lines
from kafkactl.ingest.size import record_too_large
from kafkactl.ingest.summary import ProduceSummary
from kafkactl.kafka.ports import Delivery, SendBatch

if TYPE_CHECKING:
    from kafkactl.ingest.job import ProduceJob

# Below this a record cannot be over the producer's max request size (what the generic path
# checks too): the exact check runs only for records near the limit.
SIZE_MARGIN = 65_536
_STOP = object()  # _slow: stop reading (--strict, a line with no end)
_SKIP = object()  # _slow: nothing to send for this line (blank or invalid)


def produce_stream(job: ProduceJob, stream: IO[bytes]) -> ProduceSummary:
    """Produce every line of a binary stream through `job`: the fast path when the engine and
    the options allow it, else line by line (kafkactl.ingest.linepath); return its summary."""
    send = batch_sender(job)
    if send is None:
        return produce_lines(job, read_lines(stream, job.line_limit))
    job.errors_only = True
    with fewer_collections(), fewer_thread_switches():
        try:
            FastPath(job, send).run(stream)
        except KeyboardInterrupt:
            job.summary.interrupted = True
        finally:
            job.finish()
    return job.summary


def batch_sender(job: ProduceJob) -> SendBatch | None:
    """The engine's `send_batch` when `job` can take the fast path, else None."""
    o = job.options
    send = job.publisher.batch_sender()
    if send is None or o.format not in ("json", "raw") or o.schemas is not None:
        return None
    if job.traced or o.message_id is not None or o.message_id_field is not None:
        return None
    if o.format == "raw" and o.key_delimiter and o.key is not None:
        return None  # the fixed key replaces the split one: the line is no longer its record
    if any("\0" in name or not name.isascii() for name, _ in o.headers):
        return None  # names librdkafka cannot write go through the engine's own `send`
    return send


class FastPath:
    """One run of the fast path over a stream, counting into its job."""

    def __init__(self, job: ProduceJob, send: SendBatch) -> None:
        o = job.options
        self.job = job
        self.send = send
        self.topic = o.topic
        self.headers = o.headers or None
        self.partition = o.partition
        self.delimiter = o.key_delimiter if o.format == "raw" else None
        fixed = o.key.encode("utf-8") if o.key is not None else None
        # key_field without a dot: the key is document[field]; a dotted one (a path) is
        # walked by the job's parser, line by line.
        self.field = o.key_field
        self.dotted = bool(o.key_field and "." in o.key_field)
        self.every_key = None if o.key_field or self.delimiter else fixed
        self.blank = 0
        max_record = job.max_record_bytes
        self.size_guard = (
            max_record - SIZE_MARGIN - len(fixed or b"") if max_record is not None else 1 << 62
        )

    def run(self, stream: IO[bytes]) -> None:
        """Read, check and send every block of `stream`; the job flushes afterwards."""
        job = self.job
        o = job.options
        summary = job.summary
        block = self._json_block if o.format == "json" else self._raw_block
        blocks = read_blocks(stream, job.line_limit, crlf=o.format == "json")
        next_progress = time.monotonic()
        number = 0
        while not job.stopping:
            lines = self._next(blocks)
            if lines is None:
                break
            number, go_on = block(lines, number)
            summary.read = number - self.blank
            summary.blank = self.blank
            if not go_on:
                break
            fault = job.fault()
            if fault:
                job.fail_run(f"the producer failed: {fault}")
                break
            if job.on_progress is not None and time.monotonic() >= next_progress:
                next_progress = time.monotonic() + PROGRESS_EVERY_S
                job.on_progress(job.progress())

    def _next(self, blocks: Iterator[list[bytes | LongLine]]) -> list[bytes | LongLine] | None:
        """The next block of lines, or None at the end (or when the input cannot be read)."""
        job = self.job
        job.reading = True
        try:
            return next(blocks, None)
        except OSError as exc:  # EIO: the terminal hung up; what was read is flushed
            if not job.summary.interrupted:
                job.fail_run(f"cannot read the input: {exc.strerror or exc}")
            return None
        finally:
            job.reading = False

    def _json_block(self, lines: list[Any], number: int) -> tuple[int, bool]:
        """One block of JSON lines, validated and keyed in one expression and sent as it was
        read; a block with any unusual line goes line by line. Returns (last number, go on)."""
        loads, field = orjson.loads, self.field
        keys: Any
        try:
            if self.dotted:
                raise ValueError("a key path")
            if field is None:
                deque(map(loads, lines), 0)
                keys = repeat(self.every_key)
            else:
                keys = [loads(line)[field].encode() for line in lines]
            if max(map(len, lines)) > self.size_guard:
                raise ValueError("a record near the size limit")
        except Exception:
            return self._line_by_line(lines, number, self._json_record)
        first = number + 1
        return number + len(lines), self._send(lines, keys, range(first, first + len(lines)))

    def _raw_block(self, lines: list[Any], number: int) -> tuple[int, bool]:
        """One block of raw lines: each line the value (split at the key delimiter)."""
        delimiter = self.delimiter
        keys: Any
        values: list[Any] = lines
        try:
            if min(map(len, lines)) == 0 or max(map(len, lines)) > self.size_guard:
                raise ValueError("a blank line, or a record near the size limit")
            if delimiter:
                parts = [line.partition(delimiter) for line in lines]
                keys = [key if found else None for key, found, _ in parts]
                values = [value if found else key for key, found, value in parts]
            else:
                keys = repeat(self.every_key)
        except Exception:
            return self._line_by_line(lines, number, self._raw_record)
        first = number + 1
        return number + len(lines), self._send(values, keys, range(first, first + len(lines)))

    def _json_record(self, line: bytes) -> tuple[bytes | None, bytes]:
        """One JSON line's (key, value); raises for a line `_slow` must look at."""
        if len(line) > self.size_guard or self.dotted:
            raise ValueError("a record near the size limit, or a key path")
        if self.field is None:
            orjson.loads(line)
            return self.every_key, line
        return orjson.loads(line)[self.field].encode(), line

    def _raw_record(self, line: bytes) -> tuple[bytes | None, bytes]:
        """One raw line's (key, value); raises for a line `_slow` must look at."""
        if not line or len(line) > self.size_guard:
            raise ValueError("a blank line, or a record near the size limit")
        if self.delimiter:
            key, found, value = line.partition(self.delimiter)
            if found:
                return key, value
        return self.every_key, line

    def _line_by_line(
        self, lines: list[Any], number: int, record_of: Callable[[bytes], tuple[Any, Any]]
    ) -> tuple[int, bool]:
        """A block with unusual lines: each line on its own, the unusual ones through `_slow`."""
        values: list[bytes | None] = []
        keys: list[bytes | None] = []
        numbers: list[int] = []
        go_on = True
        for line in lines:
            number += 1
            try:
                key, value = record_of(line)
            except Exception:
                record = self._slow(number, line)
                if record is _SKIP:
                    continue
                if record is _STOP:
                    go_on = False
                    break
                key, value = record
            values.append(value)
            keys.append(key)
            numbers.append(number)
        return number, self._send(values, keys, numbers) and go_on

    def _slow(self, number: int, line: bytes | LongLine) -> Any:
        """A line the tight loop could not take: (key, value) to send, _SKIP or _STOP."""
        job = self.job
        if isinstance(line, LongLine):
            return _STOP if job.long_line(number, line) or job.stopping else _SKIP
        if not (line.strip() if self.delimiter is None and job.options.format == "json" else line):
            self.blank += 1
            return _SKIP
        try:
            record = job.parse(line)
            key, value = record.key, record.value
            limit = job.max_record_bytes
            if limit is not None:
                too_large = record_too_large(key, value, self.headers or [], limit)
                if too_large:
                    raise FormatError(too_large)
        except FormatError as exc:
            job.reject(number, line, exc.reason, "invalid")
            if job.options.strict:
                job.summary.stopped_at_line = number
                return _STOP
            # A reject that could not be recorded stops reading at this line.
            return _STOP if job.stopping else _SKIP
        return key, value

    def _send(self, values: list[Any], keys: Any, numbers: Sequence[int]) -> bool:
        """Hand a block to the engine; False when it could not take all of it (the rest is
        reported, each line as not sent) and reading must stop."""
        if not values:
            return True
        job = self.job
        done = self.send(
            self.topic, values, keys, numbers, self.headers, self.partition, self._failed
        )
        constant = isinstance(keys, repeat)
        key_bytes = len(self.every_key or b"") * done if constant else _bytes(keys[:done])
        job.count_sent(done, _bytes(values[:done]) + key_bytes)
        if done == len(values):
            return True
        if job.cancelled:
            reason = "not sent: interrupted"
        else:
            fault = job.fault() or "it stopped taking records"
            reason = f"not sent: the producer failed: {fault}"
            job.fail_run(f"the producer failed: {fault}")
        for i in range(done, len(values)):
            key = self.every_key if constant else keys[i]
            job.count_unsent(numbers[i], self._line(values[i], key), reason)
        if job.cancelled:
            raise KeyboardInterrupt
        return False

    def _failed(self, number: int, value: bytes | None, key: bytes | None, error: Any) -> None:
        """A record the engine did not deliver (its delivery thread): reported with its line."""
        size = len(value or b"") + len(key or b"")
        self.job.failed(
            number, size, self._line(value, key), Delivery(self.topic, None, None, error)
        )

    def _line(self, value: bytes | None, key: bytes | None) -> bytes:
        """The input line of a record, for the reject file."""
        if self.delimiter and key is not None:
            return key + self.delimiter + (value or b"")
        return value or b""


def _bytes(parts: list[bytes | None]) -> int:
    return sum(map(len, filter(None, parts)))
