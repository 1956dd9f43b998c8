"""`kafkactl produce` against the real broker: exactly-once landing, reports, envelopes, faults."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import NewTopic

from kafkactl.formats import encode_envelope
from kafkactl.ingest import produce_lines

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def create_topic(admin, name: str, partitions: int = 3) -> None:
    admin.create_topics([NewTopic(name, partitions, 1)])


def read_all(brokers: str, topic: str, timeout: float = 120.0) -> list:
    """Every record of `topic`, each partition read from the beginning to its end offset."""
    consumer = KafkaConsumer(
        bootstrap_servers=brokers.split(","), enable_auto_commit=False, group_id=None
    )
    try:
        deadline = time.monotonic() + timeout
        partitions = consumer.partitions_for_topic(topic)
        while not partitions:
            assert time.monotonic() < deadline, f"no metadata for {topic}"
            time.sleep(0.2)
            partitions = consumer.partitions_for_topic(topic)
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        records: list = []
        while any(consumer.position(tp) < ends[tp] for tp in tps):
            assert time.monotonic() < deadline, f"could not read {topic} to its end"
            for batch in consumer.poll(timeout_ms=500, max_records=50_000).values():
                records.extend(batch)
        return records
    finally:
        consumer.close()


def header(record, name: str) -> bytes | None:
    values = [v for k, v in record.headers if k == name]
    assert len(values) <= 1, f"header {name} repeated: {record.headers}"
    return values[0] if values else None


def no_traceback(result) -> str:
    err = result.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err, err
    return err


# --- json input --------------------------------------------------------------------------------


def test_ten_thousand_lines_with_invalid_ones_mixed_in(
    run_cli, admin, brokers, topic_name, tmp_path
):
    create_topic(admin, topic_name)
    lines: list[bytes] = []
    expected: dict[bytes, bytes] = {}  # value -> key
    invalid: dict[int, str] = {}  # line number -> why
    for n in range(1, 10_001):
        if n % 97 == 0:
            lines.append(b'{"id": "x%d", "broken": ' % n)
            invalid[n] = "invalid JSON"
        elif n % 89 == 0:
            lines.append(b'{"name": "no id here", "n": %d}' % n)
            invalid[n] = "key field 'id' is missing"
        else:
            value = orjson.dumps({"id": f"order-{n % 250}", "n": n, "item": "widget"})
            lines.append(value)
            expected[value] = f"order-{n % 250}".encode()
    source = tmp_path / "orders.jsonl"
    source.write_bytes(b"\n".join(lines) + b"\n")
    rejects = tmp_path / "rejects.jsonl"

    result = run_cli(
        "produce",
        topic_name,
        "--key-field",
        "id",
        "--input",
        str(source),
        "--reject-file",
        str(rejects),
        "--json",
    )
    err = no_traceback(result)
    assert result.returncode == 1, err
    summary = json.loads(result.stdout)
    assert summary["read"] == 10_000
    assert summary["published"] == len(expected) == 10_000 - len(invalid)
    assert summary["invalid"] == len(invalid)
    assert summary["failed"] == 0
    assert summary["records_per_s"] > 0 and summary["bytes"] > 0

    for n, why in invalid.items():
        assert f"line {n}: invalid, skipped: {why}" in err
    entries = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert sorted(e["line"] for e in entries) == sorted(invalid)
    for entry in entries:
        assert entry["input"] == lines[entry["line"] - 1].decode()
        assert entry["error"].startswith(invalid[entry["line"]])

    records = read_all(brokers, topic_name)
    assert len(records) == len(expected)
    landed = {r.value: r.key for r in records}
    assert landed == expected, "every valid line exactly once, with its key"
    assert all(header(r, "message-id") is None for r in records), "no message-id unless asked"
    # Same key, same partition: keyed records keep their order.
    by_key: dict[bytes, set[int]] = {}
    for r in records:
        by_key.setdefault(r.key, set()).add(r.partition)
    assert all(len(p) == 1 for p in by_key.values())


def test_all_valid_lines_exit_zero_with_table_on_stderr(run_cli, admin, brokers, topic_name):
    create_topic(admin, topic_name, 1)
    data = "".join(json.dumps({"id": i, "uid": f"u-{i}"}) + "\n" for i in range(50))
    result = run_cli(
        "produce",
        topic_name,
        "--key",
        "fixed",
        "--message-id-field",
        "uid",
        "-H",
        "source=test",
        "-H",
        "batch=7",
        input=data,
    )
    err = no_traceback(result)
    assert result.returncode == 0, err
    assert result.stdout == b"", "a pipe never receives a table"
    assert "published" in err and "records/s" in err
    records = read_all(brokers, topic_name)
    assert [json.loads(r.value)["id"] for r in records] == list(range(50))
    for i, r in enumerate(records):
        assert r.key == b"fixed"
        assert r.headers == [
            ("message-id", f"u-{i}".encode()),
            ("source", b"test"),
            ("batch", b"7"),
        ]


def test_strict_stops_at_the_first_bad_line(run_cli, admin, brokers, topic_name):
    create_topic(admin, topic_name, 1)
    data = '{"a": 1}\n{"a": 2}\nnot json\n{"a": 4}\n'
    result = run_cli("produce", topic_name, "--strict", "--json", input=data)
    err = no_traceback(result)
    assert result.returncode == 1
    summary = json.loads(result.stdout)
    assert summary["published"] == 2 and summary["invalid"] == 1
    assert summary["stopped_at_line"] == 3
    assert "line 3: invalid" in err and "stopped at invalid line 3" in err
    assert [r.value for r in read_all(brokers, topic_name)] == [b'{"a": 1}', b'{"a": 2}']


def test_raw_format_with_key_delimiter(run_cli, admin, brokers, topic_name):
    create_topic(admin, topic_name, 1)
    data = b"k1\tfirst value\nk2\tsecond\twith tab\nno key here\n\xff\xfe\tbinary \x00 value\n"
    result = run_cli("produce", topic_name, "--format", "raw", "-K", "\\t", input=data)
    assert result.returncode == 0, no_traceback(result)
    records = read_all(brokers, topic_name)
    assert [(r.key, r.value) for r in records] == [
        (b"k1", b"first value"),
        (b"k2", b"second\twith tab"),
        (None, b"no key here"),
        (b"\xff\xfe", b"binary \x00 value"),
    ]


def test_partition_flag(run_cli, admin, brokers, topic_name):
    create_topic(admin, topic_name, 3)
    result = run_cli("produce", topic_name, "--partition", "2", input='{"a":1}\n{"a":2}\n')
    assert result.returncode == 0, no_traceback(result)
    assert {r.partition for r in read_all(brokers, topic_name)} == {2}
    beyond = run_cli("produce", topic_name, "--partition", "3", input='{"a":1}\n')
    assert beyond.returncode == 2
    assert "--partition 3 does not exist" in no_traceback(beyond)


# --- envelopes ----------------------------------------------------------------------------------


def test_kcat_json_fixture_reproduces_keys_values_and_headers(run_cli, admin, brokers, topic_name):
    create_topic(admin, topic_name, 2)
    fixture = FIXTURES / "kcat_J.jsonl"
    result = run_cli("produce", topic_name, "--format", "envelope", "-i", str(fixture), "--json")
    assert result.returncode == 0, no_traceback(result)
    assert json.loads(result.stdout)["published"] == 7

    expected = {
        # (partition, offset in the source) -> key, value, headers exactly as in the source
        (0, 0): (
            b"order-1",
            b'{"id":1,"item":"book","qty":2}',
            [("message-id", b"kcat-fixture-1"), ("source", b"shop")],
        ),
        (0, 1): (None, b'{"id":3,"item":"no key"}', [("message-id", b"kcat-fixture-3")]),
        (0, 2): (b"order-1", None, [("message-id", b"kcat-fixture-4")]),
        (1, 0): (
            b"order-2",
            '{"id":2,"item":"pen","note":"café \\"quoted\\""}'.encode(),
            [("message-id", b"kcat-fixture-2"), ("trace", b"a"), ("trace", b"b")],
        ),
        (1, 1): (b"plain", b"not json at all", []),
        (1, 2): (
            None,
            b'{"id":6,"empty-header":true}',
            [("message-id", b"kcat-fixture-6"), ("empty", b"")],
        ),
        (1, 3): (b"bin\xff\xfe", b"pay\x00\x01\x9fload", [("message-id", b"kcat-fixture-7")]),
    }
    source_ts = {
        (d["partition"], d["offset"]): d["ts"]
        for d in (
            json.loads(line.decode("utf-8", "surrogateescape"))
            for line in fixture.read_bytes().splitlines()
        )
    }
    records = read_all(brokers, topic_name)
    assert len(records) == len(expected)
    for r in records:
        key, value, headers = expected[(r.partition, r.offset)]  # partitions and order kept
        assert r.key == key
        assert r.value == value
        assert r.timestamp == source_ts[(r.partition, r.offset)]
        # The record without headers gets none (no message-id unless asked).
        assert r.headers == headers


def test_kafkactl_envelope_with_binary_data_copies_exactly(run_cli, admin, brokers, topic_name):
    create_topic(admin, topic_name, 2)
    originals = [
        (
            b"\x00\xffbinary-key",
            b"\x89PNG\r\n\x1a\n\x00\x00\xfe",
            [("message-id", b"m-1"), ("raw", b"\xc3\x28")],
        ),
        (None, '{"text": "grüße"}'.encode(), [("message-id", b"m-2")]),
        (b"tombstone", None, [("message-id", b"m-3"), ("empty", b"")]),
        (b"k", b"", [("message-id", b"m-4"), ("dup", b"1"), ("dup", b"2")]),
    ]
    lines = [
        encode_envelope("src", i % 2, i, 1700000000000 + i, 0, k, v, h)
        for i, (k, v, h) in enumerate(originals)
    ]
    assert b"payload_encoding" in lines[0] and b"headers_encoding" in lines[0]
    result = run_cli("produce", topic_name, "-f", "envelope", input=b"\n".join(lines) + b"\n")
    assert result.returncode == 0, no_traceback(result)
    copied = {header(r, "message-id"): r for r in read_all(brokers, topic_name)}
    for i, (key, value, headers) in enumerate(originals):
        r = copied[headers[0][1]]
        assert (r.key, r.value, r.headers) == (key, value, headers)
        assert (r.partition, r.timestamp) == (i % 2, 1700000000000 + i)

    # What `consume -e` would print for the copy produces the same records again.
    again = [
        encode_envelope(
            r.topic, r.partition, r.offset, r.timestamp, r.timestamp_type, r.key, r.value, r.headers
        )
        for r in copied.values()
    ]
    second = f"{topic_name}-copy"
    create_topic(admin, second, 2)
    result = run_cli("produce", second, "--format", "envelope", input=b"\n".join(again) + b"\n")
    assert result.returncode == 0, no_traceback(result)
    twice = {header(r, "message-id"): r for r in read_all(brokers, second)}
    for mid, r in copied.items():
        c = twice[mid]
        assert (c.key, c.value, c.headers, c.partition, c.timestamp) == (
            r.key,
            r.value,
            r.headers,
            r.partition,
            r.timestamp,
        )


def test_bad_envelopes_are_reported_by_line(run_cli, admin, topic_name):
    create_topic(admin, topic_name, 1)
    data = (
        "\n".join(
            [
                json.dumps({"key": "a", "payload": "ok"}),
                json.dumps({"key": "a"}),
                json.dumps({"payload": "x", "payload_encoding": "base64"}),
                "[1, 2]",
                json.dumps({"payload": "x", "partition": 9}),
            ]
        )
        + "\n"
    )
    result = run_cli("produce", topic_name, "--format", "envelope", "--json", input=data)
    err = no_traceback(result)
    assert result.returncode == 1
    assert json.loads(result.stdout)["invalid"] == 4
    assert "line 2: invalid, skipped: envelope has no 'payload' (or 'value') field" in err
    assert "line 3: invalid, skipped: payload is not valid base64" in err
    assert "line 4: invalid, skipped: an envelope must be a JSON object" in err
    assert "line 5: invalid, skipped: partition 9 does not exist" in err


# --- error paths --------------------------------------------------------------------------------


def test_missing_topic_is_one_clear_line(run_cli, topic_name):
    result = run_cli("produce", topic_name, input='{"a": 1}\n')
    err = no_traceback(result)
    assert result.returncode == 1
    assert (
        f"topic {topic_name} does not exist; create it with: kafkactl create-topics {topic_name}"
        in err
    )


def test_unreachable_broker_exits_three_within_the_connect_timeout(run_cli, topic_name):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = time.monotonic()
    result = run_cli(
        "produce",
        topic_name,
        "--connect-timeout",
        "3s",
        env={"KAFKA_BROKERS": f"127.0.0.1:{port}"},
        input='{"a": 1}\n',
    )
    elapsed = time.monotonic() - started
    err = no_traceback(result)
    assert result.returncode == 3, err
    assert "cannot reach Kafka" in err
    assert elapsed < 3 + 7


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--compression", "brotli"), "--compression: 'brotli' is not allowed"),
        (("--acks", "2"), "--acks: '2' is not allowed; use 0, 1 or all"),
        (("--header", "novalue"), "--header 'novalue' is not k=v"),
        (("--linger-ms", "soon"), "--linger-ms: 'soon' is not a whole number"),
        (("--format", "xml"), "--format 'xml' is not allowed"),
        (("--acks", "1", "--idempotent"), "--idempotent/--no-idempotent: an idempotent producer"),
        (("--key", "a", "--key-field", "b"), "--key-field and --key exclude each other"),
        (("-K", ":"), "--key-delimiter/-K applies to --format raw only"),
        (("--input", "/nonexistent/file.jsonl"), "cannot read --input"),
    ],
)
def test_bad_flags_exit_two_with_one_line(run_cli, topic_name, args, message):
    result = run_cli("produce", topic_name, *args, input="")
    err = no_traceback(result)
    assert result.returncode == 2, err
    assert message in err
    assert len(err.strip().splitlines()) == 1, err


def test_bad_env_setting_names_the_variable(run_cli, topic_name):
    result = run_cli("produce", topic_name, env={"KAFKA_PRODUCER_COMPRESSION": "brotli"}, input="")
    assert result.returncode == 2
    assert "KAFKA_PRODUCER_COMPRESSION (from env)" in no_traceback(result)


# --- a broker restart in the middle ------------------------------------------------------------


def test_broker_restart_during_produce_loses_nothing(
    cli_env, admin, brokers, topic_name, restartable_broker, tmp_path
):
    total = 200_000
    create_topic(admin, topic_name, 3)
    rejects = tmp_path / "rejects.jsonl"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kafkactl",
            "produce",
            topic_name,
            "--key-field",
            "k",
            "--reject-file",
            str(rejects),
            "--json",
            "-q",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env,
        cwd=tmp_path,
    )
    restarted = threading.Event()
    restart_error: list[BaseException] = []

    def landed() -> int:
        consumer = KafkaConsumer(bootstrap_servers=brokers.split(","), group_id=None)
        try:
            tps = [TopicPartition(topic_name, p) for p in range(3)]
            return sum(consumer.end_offsets(tps).values())
        finally:
            consumer.close()

    def restart_when_records_land() -> None:
        try:
            deadline = time.monotonic() + 120
            while landed() < 20_000:
                assert time.monotonic() < deadline, "records never landed"
                time.sleep(0.2)
            restartable_broker.restart()
        except BaseException as exc:  # reported by the test thread
            restart_error.append(exc)
        finally:
            restarted.set()

    restarter = threading.Thread(target=restart_when_records_land, daemon=True)
    restarter.start()

    def line(n: int) -> bytes:
        return b'{"k": "key-%d", "n": %d, "pad": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}\n' % (
            n % 1000,
            n,
        )

    stderr_chunks: list[bytes] = []
    drain = threading.Thread(target=lambda: stderr_chunks.append(proc.stderr.read()), daemon=True)
    drain.start()
    written = 0
    # Write half the lines, then keep writing while the broker goes down and comes back, so the
    # restart falls in the middle of the input whatever the machine's speed.
    while written < total // 2:
        proc.stdin.write(b"".join(line(n) for n in range(written, written + 1000)))
        written += 1000
    while not restarted.is_set() and written < total - 1000:
        proc.stdin.write(line(written))
        written += 1
        if written % 1000 == 0:
            time.sleep(0.05)
    assert restarted.wait(300)
    assert not restart_error, restart_error
    proc.stdin.write(b"".join(line(n) for n in range(written, total)))
    proc.stdin.close()
    out = proc.stdout.read()
    assert proc.wait(timeout=400) in (0, 1)
    drain.join(10)
    err = b"".join(stderr_chunks).decode("utf-8", "replace")
    assert "Traceback" not in err, err
    summary = json.loads(out)
    assert summary["read"] == total

    records = read_all(brokers, topic_name, timeout=300)
    numbers = {json.loads(r.value)["n"] for r in records}
    if proc.returncode == 0:
        assert summary["published"] == total
        assert len(records) == total, "no duplicates"
        assert numbers == set(range(total)), "nothing lost"
    else:
        # Whatever did not land was reported, each with its line number.
        failed = [json.loads(x) for x in rejects.read_text().splitlines()]
        assert summary["failed"] == len(failed) > 0
        missing = set(range(total)) - numbers
        assert {e["line"] - 1 for e in failed} >= missing
        for e in failed:
            assert f"line {e['line']}: not delivered" in err
        assert len(records) == len(numbers), "no duplicates"


def test_reads_stdin_until_eof_as_a_stream(cli_env, admin, brokers, topic_name, tmp_path):
    """Records are published while stdin is still open (streaming, not read-all)."""
    create_topic(admin, topic_name, 1)
    proc = subprocess.Popen(
        [sys.executable, "-m", "kafkactl", "produce", topic_name, "-q", "--linger-ms", "0"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env,
        cwd=tmp_path,
    )
    try:
        proc.stdin.write(b'{"first": true}\n')
        proc.stdin.flush()
        deadline = time.monotonic() + 60
        consumer = KafkaConsumer(bootstrap_servers=brokers.split(","), group_id=None)
        tp = TopicPartition(topic_name, 0)
        while consumer.end_offsets([tp])[tp] < 1:
            assert time.monotonic() < deadline, "first line not published while stdin open"
            time.sleep(0.2)
        consumer.close()
        assert proc.poll() is None
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)
    assert proc.returncode == 0


def test_sigint_stops_cleanly_with_a_summary(cli_env, admin, brokers, topic_name, tmp_path):
    """Ctrl-C while waiting for input: what was read is flushed, the summary prints, exit 130."""
    import signal

    create_topic(admin, topic_name, 1)
    proc = subprocess.Popen(
        [sys.executable, "-m", "kafkactl", "produce", topic_name, "--json"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env,
        cwd=tmp_path,
    )
    proc.stdin.write(b"".join(b'{"n": %d}\n' % n for n in range(5000)))
    proc.stdin.flush()
    consumer = KafkaConsumer(bootstrap_servers=brokers.split(","), group_id=None)
    tp = TopicPartition(topic_name, 0)
    deadline = time.monotonic() + 60
    while consumer.end_offsets([tp])[tp] < 5000:
        assert time.monotonic() < deadline, "lines were not published"
        time.sleep(0.2)
    consumer.close()
    proc.send_signal(signal.SIGINT)  # stdin still open: the command is waiting for input
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    assert b"Traceback" not in err
    summary = json.loads(out)
    assert summary["interrupted"] is True
    assert summary["read"] == summary["published"] == 5000
    assert len(read_all(brokers, topic_name)) == 5000


# --- issue 10: hostile input never hangs, never a traceback, nothing lost ---------------------
#
# Every case runs on both engines (run_cli/cli_env) under a hard timeout, checks the exit code
# and the one-line message, and counts what landed with kcat, an independent reader.


def kcat_read(brokers: str, topic: str) -> list[tuple[bytes, bytes]]:
    """(key, value) of every record of `topic`, read by kcat (kafka-python if kcat is missing)."""
    kcat = shutil.which("kcat")
    if kcat is None:  # pragma: no cover - CI installs kcat
        return [(r.key or b"", r.value or b"") for r in read_all(brokers, topic)]
    result = subprocess.run(
        [kcat, "-C", "-b", brokers, "-t", topic, "-e", "-q", "-f", "%k\\t%s\\n"],
        capture_output=True,
        timeout=60,
        check=True,
    )
    rows = [line.split(b"\t", 1) for line in result.stdout.splitlines()]
    return [(row[0], row[1]) for row in rows]


def one_error_line(result) -> str:
    """The stderr of a failed run: exactly one line, no traceback, no 'unexpected'."""
    err = no_traceback(result)
    assert "unexpected" not in err and "Exception ignored" not in err, err
    assert len(err.strip().splitlines()) == 1, err
    return err.strip()


def test_numbers_beyond_kafka_limits_are_invalid_lines_on_both_engines(
    run_cli, admin, brokers, topic_name, tmp_path
):
    create_topic(admin, topic_name, 1)
    data = (
        b'{"key":"k","payload":"ok"}\n'
        b'{"key":"k","payload":"b","ts":9223372036854775808}\n'
        b'{"key":"k","payload":"c","partition":2147483648}\n'
        b'{"key":"k","payload":"d","ts":-2}\n'
        b'{"key":"k","payload":"e","ts":99999999999999999999999999}\n'
        b'{"key":"k","payload":"no-ts","ts":-1}\n'
        b'{"key":"k","payload":"max","ts":1700000000000}\n'
    )
    rejects = tmp_path / "rejects.jsonl"
    result = run_cli(
        "produce",
        topic_name,
        "-f",
        "envelope",
        "--json",
        "--reject-file",
        str(rejects),
        input=data,
        timeout=60,
    )
    err = no_traceback(result)
    assert result.returncode == 1, err
    summary = json.loads(result.stdout)
    assert (summary["read"], summary["published"], summary["invalid"], summary["failed"]) == (
        7,
        3,
        4,
        0,
    )
    assert (
        "line 2: invalid, skipped: ts 9223372036854775808 is out of range: Kafka timestamps "
        "are epoch milliseconds 0 to 9223372036854775807" in err
    )
    assert "line 3: invalid, skipped: partition 2147483648 is out of range" in err
    assert "line 4: invalid, skipped: ts -2 is before 1970" in err
    assert "not delivered" not in err and "OverflowError" not in err
    assert [orjson.loads(x)["line"] for x in rejects.read_bytes().splitlines()] == [2, 3, 4, 5]
    assert kcat_read(brokers, topic_name) == [(b"k", b"ok"), (b"k", b"no-ts"), (b"k", b"max")]
    records = read_all(brokers, topic_name)
    assert records[2].timestamp == 1_700_000_000_000


def test_json_lines_that_are_not_utf8_are_invalid(run_cli, admin, brokers, topic_name):
    create_topic(admin, topic_name, 1)
    data = (
        b'{"n": 1}\n'
        + b'\xef\xbb\xbf{"n": 2}\n'
        + '{"n": 3}'.encode("utf-16-le")
        + b"\n"
        + b'{"n": "\xff"}\n'
        + '{"n": 5}'.encode("utf-32")
        + b"\n"
        + b'{"n": 6}\n'
    )
    result = run_cli("produce", topic_name, "--json", input=data, timeout=60)
    err = no_traceback(result)
    assert result.returncode == 1, err
    summary = json.loads(result.stdout)
    assert (summary["published"], summary["invalid"]) == (2, summary["read"] - 2)
    assert "line 2: invalid, skipped: invalid JSON: the line starts with a byte order mark" in err
    assert "line 3: invalid, skipped: invalid JSON: the line is UTF-16 or UTF-32" in err
    assert "line 4: invalid, skipped: invalid JSON: the line is not valid UTF-8" in err
    assert kcat_read(brokers, topic_name) == [(b"", b'{"n": 1}'), (b"", b'{"n": 6}')]


def test_key_and_message_id_from_numbers_are_as_written(run_cli, admin, brokers, topic_name):
    create_topic(admin, topic_name, 1)
    numbers = [b"1e400", b"1.50", b"-0", b"18446744073709551616", b"7"]
    data = b"".join(b'{"id": %s}\n' % n for n in numbers)
    result = run_cli(
        "produce", topic_name, "--key-field", "id", "--message-id-field", "id", input=data
    )
    assert result.returncode == 0, no_traceback(result)
    assert [k for k, _ in kcat_read(brokers, topic_name)] == numbers
    assert [header(r, "message-id") for r in read_all(brokers, topic_name)] == numbers


def test_record_larger_than_the_producer_can_send_is_an_invalid_line(
    run_cli, admin, brokers, topic_name
):
    create_topic(admin, topic_name, 1)
    huge = b"x" * (48 * 1024 * 1024)  # over every engine's max request size
    result = run_cli(
        "produce", topic_name, "--format", "raw", input=b"small\n" + huge + b"\nlast\n"
    )
    err = no_traceback(result)
    assert result.returncode == 1, err
    assert "line 2: invalid, skipped: record too large: " in err
    assert "the producer sends at most" in err
    assert kcat_read(brokers, topic_name) == [(b"", b"small"), (b"", b"last")]


def test_closed_stdin_is_exit_two_with_one_line(cli_env, topic_name, tmp_path):
    result = subprocess.run(
        ["sh", "-c", f'exec "{sys.executable}" -m kafkactl produce {topic_name} <&-'],
        capture_output=True,
        env=cli_env,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 2
    assert one_error_line(result) == (
        "error: stdin is closed: nothing to read; pipe lines in, or give -i FILE"
    )


def test_closed_stderr_still_sends_everything(cli_env, admin, brokers, topic_name, tmp_path):
    create_topic(admin, topic_name, 1)
    lines = tmp_path / "lines.jsonl"
    lines.write_bytes(b"".join(b'{"n": %d}\n' % n for n in range(500)) + b"bad\n")
    cmd = f'exec "{sys.executable}" -m kafkactl produce {topic_name} < {lines} 2>&-'
    result = subprocess.run(
        ["sh", "-c", cmd], capture_output=True, env=cli_env, cwd=tmp_path, timeout=60
    )
    assert result.returncode == 1  # the one bad line still counts
    assert len(kcat_read(brokers, topic_name)) == 500
    lines.write_bytes(b'{"n": 1}\n')
    result = subprocess.run(
        ["sh", "-c", cmd], capture_output=True, env=cli_env, cwd=tmp_path, timeout=60
    )
    assert result.returncode == 0
    assert len(kcat_read(brokers, topic_name)) == 501


def test_json_summary_into_a_closed_pipe_is_one_line_after_delivering(
    cli_env, admin, brokers, topic_name, tmp_path
):
    create_topic(admin, topic_name, 1)
    lines = tmp_path / "lines.jsonl"
    lines.write_bytes(b"".join(b'{"n": %d}\n' % n for n in range(300)))
    with lines.open("rb") as stdin:
        proc = subprocess.Popen(
            [sys.executable, "-m", "kafkactl", "produce", topic_name, "--json"],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=cli_env,
            cwd=tmp_path,
        )
        proc.stdout.close()  # the reader is gone before the summary is written (`| true`)
        _, err = proc.communicate(timeout=60)
    result = subprocess.CompletedProcess(proc.args, proc.returncode, b"", err)
    assert proc.returncode == 1
    assert one_error_line(result) == (
        "error: stdout closed (broken pipe) before the JSON summary was written; "
        "300 of 300 records were published"
    )
    assert len(kcat_read(brokers, topic_name)) == 300


def test_reject_file_on_a_full_disk_fails_the_run_in_one_line(run_cli, admin, brokers, topic_name):
    create_topic(admin, topic_name, 1)
    result = run_cli(
        "produce",
        topic_name,
        "-q",
        "--reject-file",
        "/dev/full",
        input=b'{"n": 1}\nbad\n{"n": 3}\n',
        timeout=60,
    )
    err = no_traceback(result)
    assert result.returncode == 1, err
    assert "error: unexpected" not in err and "not delivered" not in err
    assert (
        "cannot write --reject-file '/dev/full': No space left on device; stopped reading "
        "at line 2: the rejected lines could no longer be recorded" in err
    )
    assert "line 2: invalid, skipped" in err  # the reject is still on stderr
    assert kcat_read(brokers, topic_name) == [(b"", b'{"n": 1}')]


@pytest.mark.parametrize("path", ["/nonexistent/dir/rejects.jsonl", "/proc/version", "/"], ids=str)
def test_unopenable_reject_file_is_exit_two_before_connecting(run_cli, topic_name, path):
    started = time.monotonic()
    result = run_cli(
        "produce",
        topic_name,
        "--reject-file",
        path,
        env={"KAFKA_BROKERS": "127.0.0.1:9"},  # never reached: the check comes first
        input=b'{"n": 1}\n',
        timeout=60,
    )
    assert result.returncode == 2
    assert one_error_line(result).startswith(f"error: cannot write --reject-file {path!r}: ")
    assert time.monotonic() - started < 20


@pytest.mark.parametrize(
    ("topic", "problem"),
    [
        ("bad/name*", "may only hold ASCII letters, digits, '.', '_' and '-'"),
        ("..", "cannot be '.' or '..'"),
        ("x" * 250, "is 250 characters long; Kafka allows at most 249"),
        ("", "is empty"),
    ],
    ids=["slash-star", "dotdot", "too-long", "empty"],
)
def test_bad_topic_names_are_exit_two_before_connecting(run_cli, topic, problem):
    result = run_cli(
        "produce", topic, env={"KAFKA_BROKERS": "127.0.0.1:9"}, input=b"{}\n", timeout=60
    )
    assert result.returncode == 2
    line = one_error_line(result)
    assert problem in line and "create-topics" not in line


def test_missing_topic_hint_is_a_command_that_works(run_cli, topic_name):
    result = run_cli("produce", topic_name, input='{"a": 1}\n', timeout=60)
    assert result.returncode == 1
    hint = one_error_line(result).split("create it with: ", 1)[1]
    created = run_cli(*shlex.split(hint)[1:], timeout=60)
    assert created.returncode == 0, no_traceback(created)
    again = run_cli("produce", topic_name, input='{"a": 1}\n', timeout=60)
    assert again.returncode == 0, no_traceback(again)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--partition", "2147483648"), "--partition must be a partition number 0 to 2147483647"),
        (("--partition", "-1"), "--partition must be a partition number 0 to 2147483647"),
        (("-H", "=v"), "--header '=v' is not k=v"),
        (("-H", "nokv"), "--header 'nokv' is not k=v"),
    ],
)
def test_bad_partition_and_header_flags_name_the_flag(run_cli, topic_name, args, message):
    result = run_cli(
        "produce", topic_name, *args, env={"KAFKA_BROKERS": "127.0.0.1:9"}, input="", timeout=60
    )
    assert result.returncode == 2
    line = one_error_line(result)
    assert message in line and "--key-delimiter" not in line


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_interrupted_produce_exits_130_on_either_signal(
    cli_env, admin, brokers, topic_name, tmp_path, signame
):
    import signal

    create_topic(admin, topic_name, 1)
    proc = subprocess.Popen(
        [sys.executable, "-m", "kafkactl", "produce", topic_name, "--json"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env,
        cwd=tmp_path,
    )
    try:
        proc.stdin.write(b"".join(b'{"n": %d}\n' % n for n in range(100)))
        proc.stdin.flush()
        deadline = time.monotonic() + 60
        while len(kcat_read(brokers, topic_name)) < 100:
            assert time.monotonic() < deadline, "lines were not published"
            time.sleep(0.2)
        proc.send_signal(getattr(signal, signame))
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, err.decode()
    assert b"Traceback" not in err
    summary = json.loads(out)
    assert summary["interrupted"] is True and summary["published"] == 100
    assert len(kcat_read(brokers, topic_name)) == 100


@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_client_error_nobody_expected_fails_the_run_with_every_line_reported(
    brokers, admin, topic_name, engine, tmp_path
):
    """The real engine given a record it cannot encode (past the range checks): kafka-python's
    sender thread raises and would leave the batch unfinished for ever; librdkafka refuses the
    record. Either way: no wait, exit 1, every unacknowledged line in the reject file."""
    from kafkactl.config import load_settings
    from kafkactl.ingest import ProduceJob, ProduceOptions, RejectFile
    from kafkactl.producer import Publisher

    create_topic(admin, topic_name, 1)
    settings = load_settings(
        env={"KAFKA_BROKERS": brokers, "KAFKA_ENGINE": engine}, config_path="/dev/null"
    )
    publisher = Publisher(settings, errors_only=True)

    class Unchecked:
        """Lets a timestamp past int64 reach the client, as no input can any more."""

        errors_only = publisher.errors_only
        max_record_bytes = publisher.max_record_bytes
        in_flight = property(lambda self: publisher.in_flight)

        def __getattr__(self, name):
            return getattr(publisher, name)

        def publish(self, topic, value, key=None, headers=None, partition=None, ts=None, cb=None):
            ts = 2**63 if value == b'{"n": 2}' else ts
            publisher.publish(topic, value, key, headers, partition, ts, cb)

    rejects = RejectFile(str(tmp_path / "rejects.jsonl"))
    job = ProduceJob(Unchecked(), ProduceOptions(topic_name, key="k"), reject_file=rejects)
    result: list = []
    thread = threading.Thread(
        target=lambda: result.append(
            produce_lines(job, [b'{"n": 1}\n', b'{"n": 2}\n', b'{"n": 3}\n'])
        ),
        daemon=True,
    )
    started = time.monotonic()
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "produce waited for ever on a failed client"
    publisher.close(5)
    rejects.close()
    summary = result[0]
    assert summary.exit_code == 1 and time.monotonic() - started < 30
    written = [orjson.loads(x) for x in (tmp_path / "rejects.jsonl").read_bytes().splitlines()]
    landed = len(kcat_read(brokers, topic_name))
    assert summary.published == landed
    assert summary.published + summary.failed == 3
    lines = sorted(e["line"] for e in written)
    assert 2 in lines and len(lines) == summary.failed
    assert all(e["error"] for e in written)
