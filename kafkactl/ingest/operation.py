"""produce as one operation: open the input and reject file, check the topic, build the schema
stage, publish every line under the signal handlers, and return the summary (DESIGN §5).

The caller supplies the options (flags already checked) and how progress shows; a bad partition
is an OptionError naming the `partition` field, for the caller to word as its flag.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, BinaryIO, Protocol

from kafkactl.errors import UsageError

if TYPE_CHECKING:
    from kafkactl.config import Settings
    from kafkactl.ingest.options import ProduceOptions
    from kafkactl.ingest.summary import ProduceSummary
    from kafkactl.schemas.model import SchemaRegistry
    from kafkactl.schemas.stage import SchemaStage

# Builds the schema stage (None: nothing to check) and the registry it holds (closed after).
StageFactory = Callable[[], "tuple[SchemaStage | None, SchemaRegistry | None]"]


class ProgressDisplay(Protocol):
    """Shows the summary as it grows (a few times a second) while it is entered."""

    def __enter__(self) -> object: ...

    def __exit__(self, *exc: object) -> object: ...

    def update(self, snapshot: ProduceSummary) -> None: ...


# A progress display over the input: (its size and read position when it is a file, its name).
ProgressFactory = Callable[[int | None, Callable[[], int] | None, str], ProgressDisplay]


@dataclass(frozen=True)
class ProduceRequest:
    """What to publish: the options (partitions, schemas and flush bound filled in here), where
    the lines come from (None or "-": stdin) and where rejected lines go."""

    options: ProduceOptions
    input_path: str | None = None
    reject_path: str | None = None


def produce_records(
    settings: Settings,
    request: ProduceRequest,
    progress: ProgressFactory,
    *,
    build_stage: StageFactory,
    on_reading_terminal: Callable[[], None] | None = None,
) -> ProduceSummary:
    """Publish every line of the request's input to its topic and return the summary; the
    caller renders it. An input or reject file that cannot be opened is a UsageError."""
    from kafkactl.ingest.fastpath import produce_stream
    from kafkactl.ingest.flush import flush_timeout_for
    from kafkactl.ingest.job import ProduceJob
    from kafkactl.ingest.rejects import RejectFile, log_rejection
    from kafkactl.ingest.target import partition_count
    from kafkactl.kafka.client_options import delivery_timeout_s
    from kafkactl.producer import Publisher
    from kafkactl.signals import STOP_SIGNALS, stopping_on_signals

    with contextlib.ExitStack() as cleanup:
        stream = _open_input(request.input_path)
        if stream is not sys.stdin.buffer:
            cleanup.callback(stream.close)
        rejects = None
        if request.reject_path is not None:
            try:
                rejects = RejectFile(request.reject_path)
            except OSError as exc:
                raise UsageError(
                    f"cannot write --reject-file {request.reject_path!r}: {exc.strerror}"
                ) from None
            cleanup.callback(rejects.close)
        topic, partition = request.options.topic, request.options.partition
        count = partition_count(settings, topic, partition)
        stage, registry = build_stage()
        if registry is not None:
            cleanup.callback(registry.close)
        options = replace(
            request.options,
            partitions=count,
            schemas=stage,
            flush_timeout=flush_timeout_for(delivery_timeout_s(settings)),
        )
        if on_reading_terminal is not None and request.input_path is None and sys.stdin.isatty():
            on_reading_terminal()
        publisher = Publisher(settings, errors_only=True)
        size = _regular_file_size(stream)
        named = request.input_path not in (None, "-")
        description = os.path.basename(request.input_path or "") if named else "stdin"
        view = progress(size, stream.tell if size is not None else None, description)
        # On a terminal the log sink prints above the live progress line (kafkactl/log.py).
        job = ProduceJob(
            publisher,
            options,
            on_reject=log_rejection,
            reject_file=rejects,
            on_progress=view.update,
        )
        # Signals stop the job (what was read is flushed, briefly); a second one forces exit.
        with stopping_on_signals(job.on_signal, announce=_say_stopping, force_on=STOP_SIGNALS):
            try:
                with view:
                    return produce_stream(job, stream)
            finally:
                publisher.close()


def _say_stopping(signal_name: str) -> None:
    """One line when the first SIGINT/SIGTERM arrives (from the signal handler: a plain write)."""
    with contextlib.suppress(OSError):
        os.write(
            2,
            f"kafkactl: {signal_name} received, stopping; what was read gets a short flush "
            "(again to force)\n".encode(),
        )


def _regular_file_size(stream: BinaryIO) -> int | None:
    """The input's size when it is a regular file (a pipe or a terminal has none)."""
    try:
        info = os.fstat(stream.fileno())
        stream.tell()
    except (OSError, ValueError):
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


def _open_input(path: str | None) -> BinaryIO:
    """stdin (None or "-") or the file at `path`; one that cannot be read is a UsageError."""
    if path is None or path == "-":
        return sys.stdin.buffer
    try:
        return open(path, "rb", buffering=1024 * 1024)
    except OSError as exc:
        raise UsageError(f"cannot read --input {path!r}: {exc.strerror}") from None
