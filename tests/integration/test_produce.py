"""`kafkactl produce` against the real broker: exactly-once landing, reports, envelopes, faults."""

from __future__ import annotations

import json
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
    ids = [header(r, "message-id") for r in records]
    assert None not in ids and len(set(ids)) == len(records)
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
        # (partition, offset in the source) -> key, value, headers without a new message-id
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
        if (r.partition, r.offset) == (1, 1):
            # kcat record without headers: a message-id is added.
            assert [k for k, _ in r.headers] == ["message-id"]
        else:
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
    ids = {header(r, "message-id") for r in records}
    numbers = {json.loads(r.value)["n"] for r in records}
    if proc.returncode == 0:
        assert summary["published"] == total
        assert len(records) == total, "no duplicates"
        assert len(ids) == total and numbers == set(range(total)), "nothing lost"
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
