"""The reader's fast path (the default envelope printed straight from the engine's records):
the same bytes as `encode_envelope` and as a Message per record gives, cut at --count and --to
within a batch."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kafkactl.handlers import PrintHandler
from kafkactl.handlers.printer import _envelope_encoder
from kafkactl.kafka.ports import header_name
from kafkactl.positions import Position
from tests.fakes import FakeCluster
from tests.unit.test_reader import Lines, read

# Text, binary, empty and null keys and values; headers text, binary, empty, null, repeated,
# with a name that is not UTF-8; both timestamp types' worth of times.
RECORDS: list[tuple[bytes | None, bytes | None, list[tuple[str, Any]]]] = [
    (b"k", b'{"id":1}', [("n", b"1")]),
    (None, b"plain", []),
    (b"\xff\xfe", b"\x00\x1b[31mred", [("bin", b"\x80\x81")]),
    (b"k2", None, [("a", b"1"), ("a", b"2"), ("empty", b"")]),
    ("é".encode(), "\u2028 line".encode(), [(header_name(b"\xffname"), b"v")]),
    (b"", b"", [("none", None)]),
]


@pytest.mark.parametrize("timestamp_type", [0, 1, 2, -1])
@pytest.mark.parametrize("timestamp", [0, -1, 1_700_000_000_000])
def test_the_fast_encoder_writes_the_envelope_byte_for_byte(
    timestamp_type: int, timestamp: int
) -> None:
    from kafkactl.formats.envelope_codec import encode_envelope, envelope_line

    for key, value, headers in RECORDS:
        for given in (headers, None, []):
            fast = envelope_line("t", 3, 42, key, value, given, timestamp, timestamp_type)
            full = encode_envelope("t", 3, 42, timestamp, timestamp_type, key, value, given)
            assert fast == full + b"\n"


def _cluster(copies: int = 100) -> FakeCluster:
    cluster = FakeCluster()
    cluster.create_topic("t", 2)
    for i in range(copies):
        for n, (key, value, headers) in enumerate(RECORDS):
            cluster.produce("t", value, key, headers, n % 2, 1_000 + i)
    return cluster


def _printed(cluster: FakeCluster, fast: bool, **options: Any) -> tuple[bytes, Any]:
    stream = Lines()
    # an encoder of its own takes the per-record path: a Message per record
    handler = PrintHandler(stream) if fast else PrintHandler(stream, encoder=_envelope_encoder())
    assert (handler.record_encoder is not None) is fast
    summary = read(cluster, handler, **options)
    return stream.flushed + stream.buffered, summary


def _by_partition(output: bytes) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for line in output.splitlines():
        doc = json.loads(line)
        out.setdefault(doc["partition"], []).append(doc["offset"])
    return out


def test_the_fast_path_prints_the_same_bytes_as_a_message_per_record() -> None:
    cluster = _cluster()
    fast, fast_summary = _printed(cluster, fast=True)
    slow, slow_summary = _printed(cluster, fast=False)
    assert sorted(fast.splitlines()) == sorted(slow.splitlines())
    assert len(fast.splitlines()) == 100 * len(RECORDS)
    for name in ("received", "processed"):
        assert fast_summary.metrics[name] == slow_summary.metrics[name] == 600
    assert fast_summary.stopped_by == "end"


@pytest.mark.parametrize("count", [1, 7, 299, 600])
def test_count_cuts_within_a_batch(count: int) -> None:
    output, summary = _printed(_cluster(), fast=True, count=count)
    assert len(output.splitlines()) == count
    assert summary.metrics["processed"] == count
    assert summary.stopped_by == "count" if count < 600 else summary.stopped_by in ("count", "end")
    for offsets in _by_partition(output).values():  # in offset order from the start, no gaps
        assert offsets == list(range(len(offsets)))


def test_to_cuts_each_partition_within_a_batch() -> None:
    output, summary = _printed(
        _cluster(), fast=True, start=Position("offset", 5), stop=Position("offset", 123)
    )
    assert _by_partition(output) == {0: list(range(5, 123)), 1: list(range(5, 123))}
    assert summary.metrics["processed"] == 2 * 118 and summary.stopped_by == "end"


def test_a_filter_takes_the_per_record_path_with_the_default_printer() -> None:
    from kafkactl.consumer.filters import build_filter

    output, summary = _printed(
        _cluster(copies=3), fast=True, record_filter=build_filter("k2", [], None)
    )
    assert [json.loads(line)["key"] for line in output.splitlines()] == ["k2"] * 3
    assert summary.metrics["filtered"] == 15 and summary.metrics["processed"] == 3
