"""The line-by-line path of `produce` (DESIGN §5): read a line, parse it, check it, publish it.

Any engine and any input format go this way; the fast path (`fastpath.py`) takes blocks of
lines when the engine and the options allow it. The job (`job.py`) owns the counters, the
reports and the end of the run; this loop feeds it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING

from kafkactl.errors import DeliveryError, KafkactlError
from kafkactl.formats import FormatError, strip_newline
from kafkactl.gctune import fewer_collections, fewer_thread_switches
from kafkactl.ingest.flush import FLUSH_SLICE_S, describe
from kafkactl.ingest.options import record_headers
from kafkactl.ingest.reading import LongLine
from kafkactl.ingest.size import record_too_large
from kafkactl.ingest.summary import ProduceSummary
from kafkactl.tracing import ensure_traceparent

if TYPE_CHECKING:
    from kafkactl.ingest.job import ProduceJob

PROGRESS_EVERY_S = 0.25


def produce_lines(job: ProduceJob, lines: Iterable[bytes | LongLine]) -> ProduceSummary:
    """Produce every line of `lines` (binary, newline-terminated) through `job`; flush; return
    its summary."""
    with fewer_collections(), fewer_thread_switches():
        return run_lines(job, lines)


def run_lines(job: ProduceJob, lines: Iterable[bytes | LongLine]) -> ProduceSummary:
    """The line-by-line path: parse, check and publish one line at a time (any engine, any
    format); flush at the end. Returns the job's summary."""
    o = job.options
    topic = o.topic
    publish = job.publisher.publish
    parse = job.parse
    flag_headers = o.headers
    new_ids = o.message_id == "uuid"
    forced_partition = o.partition
    partitions = o.partitions
    limit = o.max_bytes_in_flight
    max_record = job.max_record_bytes
    summary = job.summary
    progress = job.on_progress
    next_progress = time.monotonic() + PROGRESS_EVERY_S
    stage = o.schemas
    # With schemas the value becomes wire-format bytes: the reject file needs the line.
    keep_lines = (
        o.format == "envelope" or (o.format == "raw" and bool(o.key_delimiter)) or stage is not None
    )
    # A Publisher that reports failures only (librdkafka) bounds its own queue in records
    # and bytes; acknowledged records are counted at the end, not one callback each.
    errors_only = job.publisher.errors_only
    job.errors_only = errors_only
    delivered = job.failed if errors_only else job.delivered
    # Blank lines carry no record and are skipped (counted as `blank`); in raw input only
    # empty lines are blank, like kcat, since spaces may be a value.
    strip_blank = o.format != "raw"
    traced = job.traced
    sends = job.spans
    number = 0
    iterator = iter(lines)
    try:
        while not job.stopping:
            job.reading = True
            try:
                line = next(iterator, None)
            except OSError as exc:  # EIO: the terminal hung up; what was read is flushed
                if not summary.interrupted:
                    job.fail_run(f"cannot read the input: {exc.strerror or exc}")
                break
            finally:
                job.reading = False
            if line is None:
                break
            number += 1
            if isinstance(line, LongLine):
                summary.read += 1
                if job.long_line(number, line):
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
                partition = forced_partition if forced_partition is not None else record.partition
                if partition is not None and partitions is not None and partition >= partitions:
                    raise FormatError(
                        f"partition {partition} does not exist "
                        f"({topic} has {partitions} partitions; use --partition N, or "
                        "drop the field: jq -c 'del(.partition)')"
                    )
            except FormatError as exc:
                job.reject(number, strip_newline(line), exc.reason, "invalid")
                if o.strict:
                    summary.stopped_at_line = number
                    break
                continue
            except KafkactlError as exc:
                # The schema registry failed mid-run (unreachable, refused): the run fails.
                with job.lock:
                    summary.failed += 1
                job.reject(number, strip_newline(line), f"not sent: {exc}", "failed", count=False)
                job.fail_run(str(exc))
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
                    job.reject(number, strip_newline(line), too_large, "invalid")
                    if o.strict:
                        summary.stopped_at_line = number
                        break
                    continue
            if not errors_only:
                inflight = job.sent_bytes - job.settled_bytes
                if inflight and inflight + size > limit:
                    wait_for_bytes(job, limit - size)
            job.sent_bytes += size
            job.sent += 1
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
                job.sent_bytes -= size
                job.sent -= 1
                if isinstance(exc, KeyboardInterrupt):
                    reason = "not sent: interrupted"
                elif isinstance(exc, DeliveryError):
                    reason = f"not sent: {exc.reason}"
                    job.fail_run(exc.reason)
                elif isinstance(exc, Exception):
                    reason = f"not sent: the producer failed: {describe(exc)}"
                    job.fail_run(f"the producer failed: {describe(exc)}")
                else:
                    raise
                with job.lock:
                    summary.failed += 1
                job.reject(number, job.original_line(original), reason, "failed", count=False)
                if isinstance(exc, KeyboardInterrupt):
                    raise
                break
            if sends is not None:
                sends.add(headers)
            if not number & 0xFF:
                fault = job.fault()
                if fault:
                    job.fail_run(f"the producer failed: {fault}")
                    break
                if progress is not None:
                    now = time.monotonic()
                    if now >= next_progress:
                        next_progress = now + PROGRESS_EVERY_S
                        progress(job.progress())
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        job.finish()
    return summary


def wait_for_bytes(job: ProduceJob, target: int) -> None:
    """Backpressure on bytes: wait until the bytes in flight are at most `target`."""
    checked = time.monotonic()
    while job.sent_bytes - job.settled_bytes > max(target, 0):
        time.sleep(0.002)
        if job.sent == job.settled:
            return
        if job.cancelled:
            raise KeyboardInterrupt
        now = time.monotonic()
        if now - checked >= FLUSH_SLICE_S:
            checked = now
            fault = job.fault()
            if fault:
                raise DeliveryError(f"the producer failed: {fault}", False, "producer-failed")
