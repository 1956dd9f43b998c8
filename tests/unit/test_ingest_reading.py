"""Reading produce input with a bound per line: a line too long to be a record is dropped as it
is read (never held whole), counted invalid with its line number, and reading goes on after it;
an input with no end of line at all stops reading."""

from __future__ import annotations

import io

import orjson

from kafkactl.ingest import (
    LongLine,
    ProduceJob,
    ProduceOptions,
    RejectFile,
    produce_lines,
    read_lines,
)
from kafkactl.ingest import reading as reading_module
from kafkactl.ingest.size import line_limit
from tests.unit.test_ingest import FakePublisher


class CountingStream(io.BufferedReader):
    """A stream that remembers the largest read asked of it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(io.BytesIO(data), buffer_size=64)
        self.largest = 0

    def readline(self, size: int | None = -1) -> bytes:
        line = super().readline(size)
        self.largest = max(self.largest, len(line))
        return line


def test_lines_up_to_the_limit_pass_whole() -> None:
    data = b"12345\n1234567890\n\nlast"
    assert list(read_lines(io.BytesIO(data), 10)) == [b"12345\n", b"1234567890\n", b"\n", b"last"]


def test_a_too_long_line_is_read_in_chunks_and_the_next_lines_follow(monkeypatch) -> None:
    monkeypatch.setattr(reading_module, "_SKIP_CHUNK", 16)
    monkeypatch.setattr(reading_module, "KEPT_BYTES", 4)
    stream = CountingStream(b"a\n" + b"x" * 1000 + b"\nb\n" + b"y" * 11)
    got = list(read_lines(stream, 10))
    assert got == [
        b"a\n",
        LongLine(b"xxxx", 1000, 10, True),
        b"b\n",
        LongLine(b"yyyy", 11, 10, True),
    ]
    assert stream.largest <= 16  # never more than a chunk of the long line at once


def test_an_input_without_end_of_line_stops_after_the_give_up_bound(monkeypatch) -> None:
    monkeypatch.setattr(reading_module, "GIVE_UP_BYTES", 1000)
    monkeypatch.setattr(reading_module, "_SKIP_CHUNK", 64)
    stream = io.BufferedReader(io.BytesIO(b"\0" * 5000 + b"\nnext\n"))
    got = list(read_lines(stream, 100))
    assert len(got) == 1 and isinstance(got[0], LongLine)
    assert not got[0].ended and got[0].length == 1000


def test_the_line_limit_is_the_largest_record_for_raw_and_twice_that_for_json() -> None:
    assert line_limit(1000, "raw") == 1000
    assert line_limit(1000, "json") == 2000
    assert line_limit(1000, "envelope") == 2000
    assert line_limit(None, "raw") is None


def _job(tmp_path, fmt: str = "json", strict: bool = False):
    publisher = FakePublisher()
    publisher.max_record_bytes = 500
    rejects = RejectFile(str(tmp_path / "rejects.jsonl"))
    rejected: list = []
    job = ProduceJob(
        publisher,
        ProduceOptions("t", format=fmt, strict=strict),
        on_reject=rejected.append,
        reject_file=rejects,
    )
    return job, publisher, rejects, rejected


def test_a_too_long_line_is_an_invalid_line_and_the_lines_around_it_are_sent(tmp_path) -> None:
    job, publisher, rejects, rejected = _job(tmp_path, fmt="raw")
    data = b"before\n" + b"z" * 5000 + b"\nafter\n"
    summary = produce_lines(job, read_lines(io.BufferedReader(io.BytesIO(data)), job.line_limit))
    rejects.close()
    assert [r["value"] for r in publisher.sent] == [b"before", b"after"]
    assert (summary.read, summary.published, summary.invalid, summary.exit_code) == (3, 2, 1, 1)
    assert rejected[0].line == 2 and rejected[0].kind == "invalid"
    assert rejected[0].error.startswith(
        "record too large: a line of 5,000 bytes, over the 500 bytes a line may have"
    )
    kept = orjson.loads((tmp_path / "rejects.jsonl").read_bytes())
    assert kept["line"] == 2 and kept["input_truncated"] is True
    assert kept["input"] == "z" * 501 and kept["error"] == rejected[0].error  # what was read


def test_strict_stops_at_a_too_long_line(tmp_path) -> None:
    job, publisher, rejects, _ = _job(tmp_path, strict=True)
    data = b'{"n": 1}\n' + b"z" * 5000 + b'\n{"n": 3}\n'
    summary = produce_lines(job, read_lines(io.BytesIO(data), job.line_limit))
    rejects.close()
    assert summary.stopped_at_line == 2 and len(publisher.sent) == 1


def test_an_input_that_never_ends_a_line_fails_the_run_in_one_line(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(reading_module, "GIVE_UP_BYTES", 10_000)
    job, publisher, rejects, rejected = _job(tmp_path)
    data = b'{"n": 1}\n' + b"\0" * 50_000
    summary = produce_lines(job, read_lines(io.BytesIO(data), job.line_limit))
    rejects.close()
    assert len(publisher.sent) == 1 and summary.invalid == 1 and summary.exit_code == 1
    assert summary.error == (
        "line 2 has no end of line in its first 10,000 bytes: the input is not lines of text "
        "(a device, binary data?); stopped reading"
    )
    assert rejected[0].line == 2 and "no end of line" in rejected[0].error
