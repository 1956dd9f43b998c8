"""produce's fast path (blocks of lines, one failure report) against the line-by-line path: the
same records, counts, line numbers and rejects for the same input; failures reported once with
their line; a block the engine cannot take whole is reported, never dropped."""

from __future__ import annotations

import io
import random

import orjson
import pytest

from kafkactl.ingest import (
    LongLine,
    ProduceJob,
    ProduceOptions,
    Rejection,
    produce_lines,
    produce_stream,
    read_lines,
)
from kafkactl.ingest.reading import read_blocks
from tests.unit.test_ingest import FakePublisher


class BatchPublisher:
    """An errors-only publisher with `send_batch`: records what it was handed; fails the
    values in `fail` through the failure report; takes at most `take` records in all."""

    errors_only = True

    def __init__(
        self,
        fail: set[bytes] | None = None,
        take: int | None = None,
        max_record_bytes: int | None = None,
    ) -> None:
        self.fail = fail or set()
        self.take = take
        self.max_record_bytes = max_record_bytes
        self.sent: list[dict] = []
        self.batches = 0

    def batch_sender(self):
        return self.send_batch

    def send_batch(self, topic, values, keys, tokens, headers, partition, on_failure) -> int:
        self.batches += 1
        for done, (value, key, token) in enumerate(zip(values, keys, tokens, strict=False)):
            if self.take is not None and len(self.sent) >= self.take:
                return done
            self.sent.append(
                {"line": token, "key": key, "value": value, "headers": headers or []}
                | {"partition": partition}
            )
            if value in self.fail:
                on_failure(token, value, key, RuntimeError("broker said no"))
        return len(values)

    def publish(self, *args, **kwargs) -> None:
        raise AssertionError("the fast path hands blocks over, never one record")

    def flush(self, timeout=None) -> bool:
        return True

    @property
    def in_flight(self) -> int:
        return 0

    def fault(self) -> str | None:
        return None

    def cancel(self) -> None:
        pass

    def abandon(self, reason: str) -> None:
        pass


def fast(options: ProduceOptions, data: bytes, publisher: BatchPublisher | None = None):
    publisher = publisher or BatchPublisher()
    rejected: list[Rejection] = []
    job = ProduceJob(publisher, options, on_reject=rejected.append)
    summary = produce_stream(job, io.BufferedReader(io.BytesIO(data), buffer_size=4096))
    return summary, publisher, rejected


def slow(options: ProduceOptions, data: bytes, fail: set[bytes] | None = None):
    publisher = FakePublisher(fail=fail)
    rejected: list[Rejection] = []
    job = ProduceJob(publisher, options, on_reject=rejected.append)
    summary = produce_lines(job, read_lines(io.BytesIO(data), job.line_limit))
    return summary, publisher, rejected


def same_as_line_by_line(options: ProduceOptions, data: bytes, fail=frozenset()) -> list[dict]:
    """Run both paths; assert they send, count and reject alike; the records sent."""
    summary, pub, rejected = fast(options, data, BatchPublisher(fail=set(fail)))
    expected, line_pub, line_rejected = slow(options, data, set(fail))
    assert pub.batches >= 1
    assert [(r["key"], r["value"]) for r in pub.sent] == [
        (r["key"], r["value"]) for r in line_pub.sent
    ]
    assert summary.as_dict() | {"seconds": 0, "records_per_s": 0} == expected.as_dict() | {
        "seconds": 0,
        "records_per_s": 0,
    }
    # Failures are reported when the engine reports them: compared in line order.
    assert sorted((r.line, r.input, r.error, r.kind) for r in rejected) == sorted(
        (r.line, r.input, r.error, r.kind) for r in line_rejected
    )
    return pub.sent


def test_json_lines_are_sent_as_read_keyed_with_their_line_numbers():
    data = b"".join(orjson.dumps({"id": f"k{i}", "n": i}) + b"\n" for i in range(3000))
    sent = same_as_line_by_line(ProduceOptions("t", key_field="id"), data)
    assert [r["line"] for r in sent] == list(range(1, 3001))
    assert sent[7] == {
        "line": 8,
        "key": b"k7",
        "value": b'{"id":"k7","n":7}',
        "headers": [],
        "partition": None,
    }


def test_unusual_lines_take_the_line_by_line_rules():
    data = (
        b'{"id": "a"}\r\n'  # CRLF: the CR is not part of the value
        b"\n   \n"  # blank lines: skipped, counted
        b'{"id": 1.50}\n'  # a number key is the number as written
        b'{"id": 0}\n'
        b"{broken\n"  # invalid JSON
        b'{"x": 1}\n'  # no key field
        b'{"id": null}\n'
        b"\xef\xbb\xbf{}\n"  # a byte order mark
        b'["id"]\n'
        b'{"id": "last"}'  # no newline at the end
    )
    sent = same_as_line_by_line(ProduceOptions("t", key_field="id"), data)
    assert [(r["line"], r["key"]) for r in sent] == [
        (1, b"a"),
        (4, b"1.50"),
        (5, b"0"),
        (11, b"last"),
    ]
    assert sent[0]["value"] == b'{"id": "a"}'


@pytest.mark.parametrize(
    "options",
    [
        ProduceOptions("t"),
        ProduceOptions("t", key="fixed", partition=2),
        ProduceOptions("t", key_field="a.b"),
        ProduceOptions("t", format="raw"),
        ProduceOptions("t", format="raw", key_delimiter=b"\t"),
        ProduceOptions("t", format="raw", key="k"),
        ProduceOptions("t", headers=[("source", b"import")]),
    ],
    ids=lambda o: f"{o.format}-{o.key_field}-{o.key}-{o.key_delimiter!r}-{len(o.headers)}",
)
def test_random_input_gives_what_the_line_by_line_path_gives(options: ProduceOptions):
    rng = random.Random(7)
    pieces = [
        b'{"a": {"b": "x%d"}}',
        b'{"a": {"b": %d}}',
        b"k%d\tv",
        b"no-tab-%d",
        b"",
        b"  ",
        b"{bad %d",
        b'"str%d"',
        b"\r",
    ]
    lines = []
    for i in range(5000):
        piece = rng.choice(pieces)
        lines.append(piece % i if b"%d" in piece else piece)
    data = b"\n".join(lines) + b"\n"
    fail = {lines[i] for i in range(0, 5000, 97) if lines[i].strip()}
    sent = same_as_line_by_line(options, data, fail)
    assert all(r["partition"] == options.partition for r in sent)
    assert all(r["headers"] == options.headers for r in sent)


def test_a_failed_record_is_reported_once_with_its_line_and_input():
    data = b'{"id": "a"}\n{"id": "b"}\n\n{"id": "c"}\n'
    summary, _, rejected = fast(
        ProduceOptions("t", key_field="id"), data, BatchPublisher(fail={b'{"id": "b"}'})
    )
    assert [(r.line, r.input, r.kind) for r in rejected] == [(2, b'{"id": "b"}', "failed")]
    assert "broker said no" in rejected[0].error
    assert (summary.read, summary.published, summary.failed, summary.blank) == (3, 2, 1, 1)
    assert summary.exit_code == 1
    # A raw line split at its key delimiter is given back whole.
    _, _, rejected = fast(
        ProduceOptions("t", format="raw", key_delimiter=b":"),
        b"k1:v1\nk2:v2\n",
        BatchPublisher(fail={b"v2"}),
    )
    assert [(r.line, r.input) for r in rejected] == [(2, b"k2:v2")]


def test_strict_stops_at_the_first_invalid_line_after_sending_the_lines_before_it():
    data = b'{"n": 1}\n{"n": 2}\nnope\n{"n": 4}\n'
    summary, pub, rejected = fast(ProduceOptions("t", strict=True), data)
    assert [r["line"] for r in pub.sent] == [1, 2]
    assert summary.stopped_at_line == 3 and [r.line for r in rejected] == [3]


def test_lines_the_engine_did_not_take_are_reported_not_dropped():
    data = b"".join(b'{"n": %d}\n' % i for i in range(10))
    publisher = BatchPublisher(take=4)
    job = ProduceJob(publisher, ProduceOptions("t"), on_reject=(rejected := []).append)
    job.interrupt()  # as after SIGINT: the engine stopped taking records
    job._stop = False  # ...while this block was being handed over
    summary = produce_stream(job, io.BytesIO(data))
    assert [r["line"] for r in publisher.sent] == [1, 2, 3, 4]
    assert [r.line for r in rejected] == list(range(5, 11))
    assert all(r.error == "not sent: interrupted" and r.kind == "failed" for r in rejected)
    assert summary.interrupted and summary.failed == 6


def test_too_long_and_too_large_lines_are_invalid_and_the_rest_go_on():
    limit = 2000  # the producer's max request size
    big = b'{"id": "big", "pad": "' + b"x" * 1950 + b'"}'
    huge = b'{"id": "huge", "pad": "' + b"x" * 5000 + b'"}'
    data = b'{"id": "a"}\n' + big + b"\n" + huge + b"\n" + b'{"id": "b"}\n'
    summary, pub, rejected = fast(
        ProduceOptions("t", key_field="id"), data, BatchPublisher(max_record_bytes=limit)
    )
    assert [r["key"] for r in pub.sent] == [b"a", b"b"]
    assert [r.line for r in rejected] == [2, 3]
    assert rejected[0].error.startswith("record too large")
    assert rejected[1].truncated and summary.invalid == 2


def test_blocks_split_lines_like_read_lines():
    rng = random.Random(3)
    for _ in range(300):
        parts = [b"x" * rng.choice([0, 1, 5, 20, 50, 120, 300]) for _ in range(rng.randint(0, 30))]
        data = b"\n".join(parts) + rng.choice([b"", b"\n"])
        for limit in (None, 30, 299):
            for size in (1, 7, 64, 1000):
                blocks = [x for block in read_blocks(io.BytesIO(data), limit, size) for x in block]
                lines = [
                    x if isinstance(x, LongLine) else x.removesuffix(b"\n")
                    for x in read_lines(io.BytesIO(data), limit)
                ]
                assert blocks == lines, (data, limit, size)


def test_a_reject_file_that_fails_stops_reading_at_that_line(tmp_path):
    from kafkactl.ingest import RejectFile

    rejects = RejectFile(str(tmp_path / "rejects.jsonl"))
    rejects.write = lambda rejection: False  # as on a full disk
    rejects.error = "cannot write --reject-file: No space left on device"
    publisher = BatchPublisher()
    job = ProduceJob(publisher, ProduceOptions("t"), on_reject=None, reject_file=rejects)
    summary = produce_stream(job, io.BytesIO(b'{"n": 1}\nbad\n{"n": 3}\n'))
    assert [r["line"] for r in publisher.sent] == [1]
    assert "stopped reading at line 2" in summary.error and summary.exit_code == 1
