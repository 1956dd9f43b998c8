"""The produce job (DESIGN §5) as a library: read lines → parse → publish, streaming.

`produce_stream` / `produce_lines` run a `job` (backpressure, deliveries, counts) through the
fast path (blocks to librdkafka) or line by line, `options` says what to do, `rejects` reports
and keeps the lines that did not make it, `flush` ends the run within a bound, `summary` holds
the counts, `size` says whether a record can be sent at all, `reading` streams the input and
`target` checks the topic (and partition) records go to. Signals: kafkactl.signals.
"""

from __future__ import annotations

from kafkactl.ingest.fastpath import produce_stream
from kafkactl.ingest.flush import FLUSH_TIMEOUT_S, INTERRUPTED_FLUSH_TIMEOUT_S
from kafkactl.ingest.job import ProduceJob
from kafkactl.ingest.linepath import produce_lines
from kafkactl.ingest.options import (
    MAX_BYTES_IN_FLIGHT,
    ProduceOptions,
    PublisherLike,
    parse_header_flag,
)
from kafkactl.ingest.reading import LongLine, read_lines
from kafkactl.ingest.rejects import RejectFile, Rejection, log_rejection
from kafkactl.ingest.summary import ProduceSummary

__all__ = [
    "FLUSH_TIMEOUT_S",
    "INTERRUPTED_FLUSH_TIMEOUT_S",
    "MAX_BYTES_IN_FLIGHT",
    "LongLine",
    "ProduceJob",
    "ProduceOptions",
    "ProduceSummary",
    "PublisherLike",
    "RejectFile",
    "Rejection",
    "log_rejection",
    "parse_header_flag",
    "produce_lines",
    "produce_stream",
    "read_lines",
]
