"""The produce job's logic with a fake publisher: counts, reports, reject file, backpressure."""

from __future__ import annotations

import io
import os
import re
import signal
import threading
import time

import orjson
import pytest

from kafkactl.formats import parse_key_delimiter
from kafkactl.ingest import (
    ProduceJob,
    ProduceOptions,
    RejectFile,
    Rejection,
    parse_header_flag,
    produce_lines,
    read_lines,
)
from kafkactl.producer import Delivery
from kafkactl.signals import STOP_SIGNALS, stopping_on_signals

UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


class FakePublisher:
    """Records what was published; settles each delivery now, or later (`auto=False`)."""

    def __init__(self, auto: bool = True, fail: set[bytes] | None = None) -> None:
        self.auto = auto
        self.fail = fail or set()
        self.sent: list[dict] = []
        self.pending: list[tuple[dict, object]] = []
        self.flushed = 0
        self.lock = threading.Lock()

    def publish(
        self,
        topic,
        value,
        key=None,
        headers=None,
        partition=None,
        timestamp_ms=None,
        on_delivery=None,
    ):
        record = {
            "topic": topic,
            "value": value,
            "key": key,
            "headers": headers,
            "partition": partition,
            "timestamp_ms": timestamp_ms,
        }
        with self.lock:
            self.sent.append(record)
            self.pending.append((record, on_delivery))
        if self.auto:
            self.settle_all()

    def settle_all(self) -> int:
        with self.lock:
            pending, self.pending = self.pending, []
        for record, callback in pending:
            error = RuntimeError("broker said no") if record["value"] in self.fail else None
            callback(
                Delivery(record["topic"], record["partition"] or 0, None if error else 1, error)
            )
        return len(pending)

    def flush(self, timeout=None) -> bool:
        self.flushed += 1
        self.settle_all()
        return True

    # The rest of kafkactl.ingest.PublisherLike: a one-record-at-a-time publisher that never
    # fails as a whole.
    errors_only = False
    max_record_bytes: int | None = None

    def batch_sender(self):
        return None

    def fault(self) -> str | None:
        return None

    def cancel(self) -> None:
        pass

    def abandon(self, reason: str) -> None:
        pass


def lines(*items: bytes) -> list[bytes]:
    return [item + b"\n" for item in items]


def run(options: ProduceOptions, data: list[bytes], publisher=None, **kwargs):
    publisher = publisher or FakePublisher()
    rejected: list[Rejection] = []
    job = ProduceJob(publisher, options, on_reject=rejected.append, **kwargs)
    summary = produce_lines(job, data)
    return summary, publisher, rejected


def test_valid_and_invalid_lines_are_counted_and_reported():
    data = lines(b'{"id": 1}', b"{broken", b'{"id": 2}', b'{"name": "no id"}', b'{"id": 3}')
    summary, pub, rejected = run(ProduceOptions("t", key_field="id"), data)
    assert [r["key"] for r in pub.sent] == [b"1", b"2", b"3"]
    assert [r["value"] for r in pub.sent] == [b'{"id": 1}', b'{"id": 2}', b'{"id": 3}']
    assert (summary.read, summary.published, summary.invalid, summary.failed) == (5, 3, 2, 0)
    assert [(r.line, r.kind) for r in rejected] == [(2, "invalid"), (4, "invalid")]
    assert rejected[0].input == b"{broken"
    assert rejected[0].error.startswith("invalid JSON")
    assert rejected[1].error == "key field 'id' is missing"
    assert summary.exit_code == 1
    assert summary.bytes == sum(len(r["value"]) + len(r["key"]) for r in pub.sent)
    assert pub.flushed == 1


def test_all_valid_exits_zero_and_blank_lines_are_skipped():
    summary, _, rejected = run(ProduceOptions("t"), lines(b"{}", b"", b"  ", b"[1]"))
    assert (summary.read, summary.published, summary.blank) == (2, 2, 2)
    assert rejected == [] and summary.exit_code == 0
    assert summary.as_dict()["records_per_s"] >= 0


def test_no_message_id_unless_asked():
    data = lines(b'{"n": 1}', b'{"n": 2}')
    for fmt in ("json", "raw"):
        _, pub, _ = run(ProduceOptions("t", format=fmt), data)
        assert [r["headers"] or [] for r in pub.sent] == [[], []], fmt


def test_message_id_uuid_gives_every_record_a_new_one():
    data = lines(b'{"n": 1}', b'{"n": 2}', b'{"n": 3}')
    for fmt in ("json", "raw"):
        _, pub, _ = run(ProduceOptions("t", format=fmt, message_id="uuid"), data)
        ids = [dict(r["headers"])["message-id"] for r in pub.sent]
        assert len(set(ids)) == 3, fmt
        assert all(UUID4.fullmatch(i.decode()) for i in ids), ids
        for r in pub.sent:
            assert [k for k, _ in r["headers"]].count("message-id") == 1
    envelope = orjson.dumps({"payload": "x", "headers": ["message-id", "keep"]})
    _, pub, _ = run(ProduceOptions("t", format="envelope", message_id="uuid"), [envelope + b"\n"])
    assert pub.sent[0]["headers"] == [("message-id", b"keep")]


def test_a_line_without_the_message_id_field_is_invalid_with_its_number():
    data = lines(b'{"uid": "u-1"}', b'{"n": 2}')
    summary, pub, rejected = run(ProduceOptions("t", message_id_field="uid"), data)
    assert [r["headers"] for r in pub.sent] == [[("message-id", b"u-1")]]
    assert [(r.line, r.kind) for r in rejected] == [(2, "invalid")]
    assert "message-id field 'uid' is missing" in rejected[0].error
    assert (summary.invalid, summary.exit_code) == (1, 1)


def test_message_id_from_field_and_kept_from_envelope():
    _, pub, _ = run(ProduceOptions("t", message_id_field="uid"), lines(b'{"uid": "u-1"}'))
    assert pub.sent[0]["headers"] == [("message-id", b"u-1")]
    envelope = orjson.dumps({"payload": "x", "headers": ["message-id", "keep", "h", "1"]})
    _, pub, _ = run(ProduceOptions("t", format="envelope"), [envelope + b"\n"])
    assert pub.sent[0]["headers"] == [("message-id", b"keep"), ("h", b"1")]


def test_header_flags_are_added_once_replacing_same_named_headers():
    envelope = orjson.dumps({"payload": "x", "headers": ["src", "old", "a", "1"]})
    options = ProduceOptions(
        "t", format="envelope", headers=[parse_header_flag("src=new"), parse_header_flag("b=2")]
    )
    _, pub, _ = run(options, [envelope + b"\n"])
    headers = pub.sent[0]["headers"]
    assert [(k, v) for k, v in headers if k != "message-id"] == [
        ("a", b"1"),
        ("src", b"new"),
        ("b", b"2"),
    ]


def test_parse_header_flag():
    assert parse_header_flag("k=v=w") == ("k", b"v=w")
    assert parse_header_flag("empty=") == ("empty", b"")
    for bad in ("novalue", "=v", ""):
        with pytest.raises(ValueError, match="is not k=v"):
            parse_header_flag(bad)


def test_envelope_partition_and_timestamp_are_used_and_checked():
    ok = orjson.dumps({"payload": "a", "partition": 1, "ts": 1700000000000}) + b"\n"
    bad = orjson.dumps({"payload": "b", "partition": 7}) + b"\n"
    summary, pub, rejected = run(ProduceOptions("t", format="envelope", partitions=3), [ok, bad])
    assert (pub.sent[0]["partition"], pub.sent[0]["timestamp_ms"]) == (1, 1700000000000)
    assert summary.invalid == 1
    assert rejected[0].error.startswith("partition 7 does not exist (t has 3 partitions;")


def test_forced_partition_wins():
    line = orjson.dumps({"payload": "a", "partition": 1}) + b"\n"
    _, pub, _ = run(ProduceOptions("t", format="envelope", partition=0, partitions=3), [line])
    assert pub.sent[0]["partition"] == 0


def test_raw_format_with_key_delimiter_and_fixed_key():
    data = [b"k1\tv1\n", b"no-delimiter\n", b"\xff\tbinary\n"]
    _, pub, _ = run(
        ProduceOptions("t", format="raw", key_delimiter=parse_key_delimiter("\\t")), data
    )
    assert [(r["key"], r["value"]) for r in pub.sent] == [
        (b"k1", b"v1"),
        (None, b"no-delimiter"),
        (b"\xff", b"binary"),
    ]
    summary, pub, _ = run(ProduceOptions("t", format="raw"), [b"\n", b"  \n", b"\r\n"])
    assert [r["value"] for r in pub.sent] == [b"  ", b"\r"] and summary.blank == 1
    _, pub, _ = run(ProduceOptions("t", format="raw", key="fixed"), [b"v\n"])
    assert (pub.sent[0]["key"], pub.sent[0]["value"]) == (b"fixed", b"v")


def test_strict_stops_at_the_first_invalid_line_after_flushing():
    data = lines(b'{"a": 1}', b'{"a": 2}', b"oops", b'{"a": 4}')
    summary, pub, rejected = run(ProduceOptions("t", strict=True), data)
    assert [r["value"] for r in pub.sent] == [b'{"a": 1}', b'{"a": 2}']
    assert summary.stopped_at_line == 3
    assert summary.read == 3 and summary.invalid == 1 and summary.exit_code == 1
    assert [r.line for r in rejected] == [3]
    assert pub.flushed == 1
    assert summary.as_dict()["stopped_at_line"] == 3


@pytest.mark.parametrize(
    ("options", "line", "original"),
    [
        (ProduceOptions("t"), b'{"v": "fail"}\r\n', b'{"v": "fail"}'),
        (
            ProduceOptions("t", format="raw", key_delimiter=b":"),
            b"key:fail\r\n",
            b"key:fail\r",
        ),
        (
            ProduceOptions("t", format="envelope"),
            b'{"key": "k", "payload": "fail"}\n',
            b'{"key": "k", "payload": "fail"}',
        ),
    ],
)
def test_delivery_failure_is_reported_with_line_and_original_input(options, line, original):
    value = {"json": b'{"v": "fail"}', "raw": b"fail\r", "envelope": b"fail"}[options.format]
    publisher = FakePublisher(fail={value})
    first = {"json": b"[1]\n", "raw": b"k:ok\n", "envelope": b'{"payload": "ok"}\n'}
    summary, _, rejected = run(options, [first[options.format], line], publisher)
    assert summary.failed == 1
    assert summary.exit_code == 1
    [rejection] = rejected
    assert (rejection.line, rejection.kind, rejection.input) == (2, "failed", original)
    assert rejection.error == "RuntimeError: broker said no"


def test_reject_file_gets_invalid_and_failed_lines(tmp_path):
    path = tmp_path / "rejects.jsonl"
    rejects = RejectFile(str(path))
    publisher = FakePublisher(fail={b'{"id": "f"}'})
    data = lines(b'{"id": "ok"}', b"nope", b'{"id": "f"}', b'{"x": 1}')
    summary, _, _ = run(ProduceOptions("t", key_field="id"), data, publisher, reject_file=rejects)
    rejects.close()
    entries = [orjson.loads(x) for x in path.read_bytes().splitlines()]
    assert [e["line"] for e in sorted(entries, key=lambda e: e["line"])] == [2, 3, 4]
    by_line = {e["line"]: e for e in entries}
    assert by_line[2]["input"] == "nope"
    assert by_line[3] == {
        "line": 3,
        "input": '{"id": "f"}',
        "error": "RuntimeError: broker said no",
    }
    assert by_line[4]["error"] == "key field 'id' is missing"
    assert (summary.invalid, summary.failed, summary.published) == (2, 1, 1)


def test_rejection_of_binary_input_is_base64():
    doc = orjson.loads(Rejection(9, b"\xff\x00", "bad", "invalid").as_json())
    assert doc == {"line": 9, "input": "/wA=", "input_encoding": "base64", "error": "bad"}


def test_input_is_read_one_line_at_a_time():
    consumed = []

    def source():
        for i in range(1000):
            consumed.append(i)
            yield b'{"i": %d}\n' % i

    class Checking(FakePublisher):
        def publish(self, *args, **kwargs):
            # Nothing beyond the current line has been read when it is published.
            assert len(consumed) == len(self.sent) + 1
            super().publish(*args, **kwargs)

    summary, _, _ = run(ProduceOptions("t"), source(), Checking())
    assert summary.published == 1000


def test_bytes_in_flight_are_bounded():
    publisher = FakePublisher(auto=False)
    peak = []
    stop = threading.Event()

    def settle_slowly():
        while not stop.is_set():
            time.sleep(0.005)
            with publisher.lock:
                waiting = sum(len(r["value"]) for r, _ in publisher.pending)
            peak.append(waiting)
            publisher.settle_all()

    settler = threading.Thread(target=settle_slowly)
    settler.start()
    try:
        data = [b'"%s"\n' % (b"x" * 98) for _ in range(300)]  # 100-byte values
        summary, _, _ = run(ProduceOptions("t", max_bytes_in_flight=1000), data, publisher)
    finally:
        stop.set()
        settler.join()
    assert summary.published == 300
    assert max(peak) <= 1000


def test_stop_ends_the_run_after_the_current_line_and_flushes():
    publisher = FakePublisher()
    job = ProduceJob(publisher, ProduceOptions("t"), on_reject=None)

    def source():
        for i in range(100):
            if i == 10:
                job.stop()
            yield b"%d\n" % i

    summary = produce_lines(job, source())
    assert summary.published == 11
    assert publisher.flushed == 1


def test_progress_callback_gets_final_counts():
    seen = []
    publisher = FakePublisher()
    job = ProduceJob(publisher, ProduceOptions("t"), on_reject=None, on_progress=seen.append)
    produce_lines(job, [b"1\n"] * 2000)
    assert seen[-1].published == 2000 and seen[-1].read == 2000


def test_read_lines_streams_a_binary_file():
    stream = io.BytesIO(b"a\nb\n\nc")
    assert list(read_lines(stream)) == [b"a\n", b"b\n", b"\n", b"c"]
    # Bytes as they are: a byte order mark is not dropped (JSON lines with one are invalid).
    assert list(read_lines(io.BytesIO(b"\xef\xbb\xbf{}\n\xef\xbb\xbf\n"))) == [
        b"\xef\xbb\xbf{}\n",
        b"\xef\xbb\xbf\n",
    ]
    assert list(read_lines(io.BytesIO(b""))) == []


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="unknown format 'xml'"):
        ProduceOptions("t", format="xml")


# --- issue 10: a client that never acknowledges, a failed client, a full reject file ----------


class StuckPublisher(FakePublisher):
    """Never acknowledges: `flush` waits out its timeout (at most 5 s when given none, so a
    regression fails instead of hanging) and says False; `abandon` reports what it holds."""

    def __init__(self, fault_after: int | None = None, max_record_bytes: int | None = None):
        super().__init__(auto=False)
        self.fault_after = fault_after
        self.max_record_bytes = max_record_bytes
        self.abandoned: list[str] = []
        self.cancelled = False

    def flush(self, timeout=None) -> bool:
        self.flushed += 1
        time.sleep(min(timeout if timeout is not None else 5.0, 5.0))
        return False

    def fault(self):
        if self.fault_after is not None and len(self.sent) >= self.fault_after:
            return "its sender thread raised error: int too large to convert"
        return None

    def cancel(self) -> None:
        self.cancelled = True

    def abandon(self, reason: str) -> None:
        from kafkactl.errors import DeliveryError

        self.abandoned.append(reason)
        with self.lock:
            pending, self.pending = self.pending, []
        for record, callback in pending:
            callback(Delivery(record["topic"], None, None, DeliveryError(reason, True, "x")))


@pytest.mark.timeout(30)
def test_flush_is_bounded_and_every_unacknowledged_line_is_reported(tmp_path):
    rejects = RejectFile(str(tmp_path / "rejects.jsonl"))
    publisher = StuckPublisher()
    started = time.monotonic()
    summary, _, rejected = run(
        ProduceOptions("t", flush_timeout=0.5),
        lines(b'{"n": 1}', b"{bad", b'{"n": 3}'),
        publisher,
        reject_file=rejects,
    )
    rejects.close()
    assert time.monotonic() - started < 4
    assert summary.exit_code == 1
    assert (summary.read, summary.published, summary.invalid, summary.failed) == (3, 0, 1, 2)
    assert summary.in_flight == 0
    assert summary.error == "not acknowledged within 0.5 s of the end of input"
    failed = [r for r in rejected if r.kind == "failed"]
    assert [r.line for r in failed] == [1, 3]
    assert all("it may or may not have been written" in r.error for r in failed)
    written = [orjson.loads(x) for x in (tmp_path / "rejects.jsonl").read_bytes().splitlines()]
    assert sorted(e["line"] for e in written) == [1, 2, 3]


@pytest.mark.timeout(30)
def test_a_failed_client_fails_the_run_at_once_with_every_line_reported(tmp_path):
    rejects = RejectFile(str(tmp_path / "rejects.jsonl"))
    publisher = StuckPublisher(fault_after=1)
    started = time.monotonic()
    # The default flush bound is minutes: a failed client must not be waited for.
    summary, _, rejected = run(
        ProduceOptions("t"), lines(b'{"n": 1}', b'{"n": 2}'), publisher, reject_file=rejects
    )
    rejects.close()
    assert time.monotonic() - started < 4
    assert summary.exit_code == 1
    assert summary.error == (
        "the producer failed: its sender thread raised error: int too large to convert"
    )
    assert summary.failed == 2 and summary.published == 0
    assert [r.line for r in rejected] == [1, 2]
    written = [orjson.loads(x) for x in (tmp_path / "rejects.jsonl").read_bytes().splitlines()]
    assert [e["line"] for e in written] == [1, 2]
    assert summary.as_dict()["error"].startswith("the producer failed")


@pytest.mark.timeout(30)
def test_a_client_failing_mid_input_stops_reading():
    publisher = StuckPublisher(fault_after=1)
    data = lines(*[b'{"n": %d}' % n for n in range(1, 1001)])
    summary, _, rejected = run(ProduceOptions("t"), data, publisher)
    assert summary.exit_code == 1
    assert summary.read == 256  # the client's health is checked every 256 lines
    assert summary.failed == 256 and [r.line for r in rejected] == list(range(1, 257))


@pytest.mark.timeout(30)
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_first_signal_is_honoured_while_flush_is_blocked(signum):
    publisher = StuckPublisher()
    rejected: list[Rejection] = []
    job = ProduceJob(publisher, ProduceOptions("t", flush_timeout=3600), on_reject=rejected.append)
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signum))
    started = time.monotonic()
    announced: list[str] = []
    with stopping_on_signals(job.on_signal, announce=announced.append, force_on=STOP_SIGNALS):
        timer.start()
        summary = produce_lines(job, lines(b'{"n": 1}', b'{"n": 2}'))
    timer.join()
    assert time.monotonic() - started < 3
    assert summary.interrupted and summary.exit_code == 130
    assert publisher.cancelled and announced == [signal.Signals(signum).name]
    assert [r.line for r in rejected] == [1, 2]
    assert rejected[0].error.startswith("interrupted before the broker acknowledged it")


def test_record_bigger_than_the_producer_can_send_is_an_invalid_line():
    publisher = FakePublisher()
    publisher.max_record_bytes = 1000
    big = b'{"v": "' + b"x" * 1000 + b'"}'
    summary, pub, rejected = run(ProduceOptions("t"), lines(b'{"v": 1}', big), publisher)
    assert (summary.published, summary.invalid) == (1, 1)
    assert [r["value"] for r in pub.sent] == [b'{"v": 1}']
    assert rejected[0].line == 2 and rejected[0].kind == "invalid"
    assert rejected[0].error.startswith("record too large: 1,")
    assert "the producer sends at most 1,000 bytes per record" in rejected[0].error


def test_headers_count_toward_the_record_size():
    publisher = FakePublisher()
    publisher.max_record_bytes = 1000
    envelope = orjson.dumps({"payload": "x", "headers": ["h", "y" * 900]})
    summary, _, rejected = run(
        ProduceOptions("t", format="envelope"), [envelope + b"\n"], publisher
    )
    assert summary.invalid == 1 and "headers 9" in rejected[0].error


def test_reject_file_that_cannot_be_written_fails_the_run():
    rejects = RejectFile("/dev/full")  # opens, but every write fails with ENOSPC
    summary, pub, rejected = run(
        ProduceOptions("t"), lines(b"{bad", b'{"n": 2}'), reject_file=rejects
    )
    rejects.close()
    assert summary.exit_code == 1
    assert summary.error == (
        "cannot write --reject-file '/dev/full': No space left on device; stopped reading at "
        "line 1: the rejected lines could no longer be recorded"
    )
    assert [r.line for r in rejected] == [1]  # still reported on stderr
    assert summary.read == 1 and pub.sent == []


def test_numbers_out_of_kafka_range_are_invalid_lines_before_any_client_sees_them():
    data = [
        orjson.dumps({"key": "k", "payload": "ok"}) + b"\n",
        b'{"key":"k","payload":"b","ts":9223372036854775808}\n',
        b'{"key":"k","payload":"b","partition":2147483648}\n',
        b'{"key":"k","payload":"b","ts":-2}\n',
    ]
    summary, pub, rejected = run(ProduceOptions("t", format="envelope"), data)
    assert [r["value"] for r in pub.sent] == [b"ok"]
    assert [r.line for r in rejected] == [2, 3, 4]
    assert summary.exit_code == 1 and summary.invalid == 3


def test_header_flag_that_is_not_utf8_names_the_problem():
    with pytest.raises(ValueError, match="is not UTF-8 text"):
        parse_header_flag("k=\udcff")
