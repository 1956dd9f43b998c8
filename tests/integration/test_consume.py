"""consume against the real broker: the retry/DLQ pipeline, due times, commits, handlers."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.integration.kafka_helpers import (
    committed_and_end,
    fully_committed,
    header,
    orders,
    processed,
    produce,
    read_all,
)

HANDLERS = "tests.integration.pipeline_handlers"


@pytest.fixture
def pipeline_env(tmp_path: Path) -> dict[str, str]:
    """Short retry delays and the handler's success log."""
    return {
        "PYTHONPATH": str(REPO),
        "KAFKACTL_TEST_LOG": str(tmp_path / "processed.log"),
        "KAFKA_RETRY_DELAYS": "300ms,600ms",
    }


def _create(run_cli, topic: str, group: str, partitions: int = 3, env=None) -> None:
    result = run_cli("create-topics", topic, "-g", group, "-p", str(partitions), env=env)
    assert result.returncode == 0, result.stderr.decode()


def test_every_message_is_processed_or_dead_lettered(
    run_cli, brokers, topic_name, pipeline_env, tmp_path
):
    group = f"billing-{topic_name[2:8]}"  # its own: one group's members rebalance together
    _create(run_cli, topic_name, group, env=pipeline_env)
    modes = ["ok", "always", "fatal", "once", "ok", "ok"] * 50  # 300 messages
    records = orders(modes)
    produce(brokers, topic_name, records)

    result = run_cli(
        "consume",
        topic_name,
        "-g",
        group,
        "--handler",
        f"{HANDLERS}:handle",
        "-e",
        "--json",
        env=pipeline_env,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    summary = json.loads(result.stdout)

    done = processed(tmp_path / "processed.log")
    done_ids = [i for i, _attempt, _ts in done]
    assert len(done_ids) == len(set(done_ids)), "a message was processed twice"
    expected_ok = {i for i, m in enumerate(modes) if m in ("ok", "once")}
    assert set(done_ids) == expected_ok
    assert {i: a for i, a, _ in done if modes[i] == "once"} == {
        i: 2 for i, m in enumerate(modes) if m == "once"
    }, "a message failing once succeeds on its second attempt"

    dlq = read_all(brokers, f"{topic_name}.{group}.dlq")
    dlq_ids = [json.loads(r.value)["id"] for r in dlq]
    assert len(dlq_ids) == len(set(dlq_ids))
    assert set(dlq_ids) == {i for i, m in enumerate(modes) if m in ("always", "fatal")}
    assert not set(dlq_ids) & set(done_ids), "never both processed and dead-lettered"

    by_id = {i: (k, v, h) for i, (k, v, h) in enumerate(records)}
    for record in dlq:
        i = json.loads(record.value)["id"]
        key, value, headers = by_id[i]
        assert record.key == key and record.value == value
        assert header(record, "message-id") == headers[0][1].decode()
        assert header(record, "kafkactl.original.topic") == topic_name
        assert header(record, "kafkactl.group") == group
        assert header(record, "kafkactl.not-before") is None
        assert int(header(record, "kafkactl.first-failure")) <= int(
            header(record, "kafkactl.last-failure")
        )
        assert header(record, "kafkactl.error.message")
        names = [k for k, _ in record.headers]
        assert len(names) == len(set(names)), f"duplicated headers: {names}"
        if modes[i] == "always":
            assert header(record, "kafkactl.attempt") == "3"
            assert header(record, "kafkactl.error.kind") == "retryable"
            assert header(record, "kafkactl.error.class") == "RuntimeError"
        else:
            assert header(record, "kafkactl.attempt") == "1"
            assert header(record, "kafkactl.error.kind") == "fatal"
            assert header(record, "kafkactl.error.class") == "kafkactl.errors.FatalError"
    # The original coordinates point at the main topic record.
    main = {json.loads(r.value)["id"]: r for r in read_all(brokers, topic_name)}
    for record in dlq:
        origin = main[json.loads(record.value)["id"]]
        assert int(header(record, "kafkactl.original.partition")) == origin.partition
        assert int(header(record, "kafkactl.original.offset")) == origin.offset

    tier1 = {json.loads(r.value)["id"] for r in read_all(brokers, f"{topic_name}.{group}.retry.1")}
    tier2 = {json.loads(r.value)["id"] for r in read_all(brokers, f"{topic_name}.{group}.retry.2")}
    assert tier1 == {i for i, m in enumerate(modes) if m in ("always", "once")}
    assert tier2 == {i for i, m in enumerate(modes) if m == "always"}

    offsets = committed_and_end(
        brokers,
        group,
        [topic_name, f"{topic_name}.{group}.retry.1", f"{topic_name}.{group}.retry.2"],
    )
    assert fully_committed(offsets), offsets

    metrics = summary["metrics"]
    assert metrics["processed"] == len(expected_ok)
    assert metrics["sent_to_dlq"] == len(dlq_ids)
    assert metrics["by_label"]["retried"] == {"1": len(tier1), "2": len(tier2)}


def test_async_handler_and_partition_ordering(run_cli, brokers, topic_name, pipeline_env, tmp_path):
    group = f"g-{topic_name}"  # its own: one group's members rebalance together
    _create(run_cli, topic_name, group, partitions=2, env=pipeline_env)
    produce(brokers, topic_name, orders(["ok"] * 40))
    result = run_cli(
        "consume",
        topic_name,
        "-g",
        group,
        "--handler",
        f"{HANDLERS}:async_handle",
        "--ordering",
        "partition",
        "-e",
        env=pipeline_env,
    )
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert sorted(i for i, _, _ in processed(tmp_path / "processed.log")) == list(range(40))


def test_retry_waits_for_its_due_time_while_other_partitions_flow(
    run_cli, brokers, topic_name, tmp_path
):
    env = {
        "PYTHONPATH": str(REPO),
        "KAFKACTL_TEST_LOG": str(tmp_path / "processed.log"),
        "KAFKA_RETRY_DELAYS": "4s",
    }
    _create(run_cli, topic_name, "due", partitions=2, env=env)
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=brokers.split(","))
    producer.send(topic_name, json.dumps({"id": 0, "mode": "once"}).encode(), partition=0)
    producer.flush()

    def trickle() -> None:
        for i in range(1, 9):
            time.sleep(0.4)
            producer.send(topic_name, json.dumps({"id": i, "mode": "ok"}).encode(), partition=1)
            producer.flush()

    feeder = threading.Thread(target=trickle)
    feeder.start()
    result = run_cli(
        "consume", topic_name, "-g", "due", "--handler", f"{HANDLERS}:handle", "-e", env=env
    )
    feeder.join()
    producer.close()
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    done = {i: (attempt, ts) for i, attempt, ts in processed(tmp_path / "processed.log")}
    assert set(done) == set(range(9))
    [tier_record] = read_all(brokers, f"{topic_name}.due.retry.1")
    not_before = int(header(tier_record, "kafkactl.not-before"))
    first_failure = int(header(tier_record, "kafkactl.first-failure"))
    assert not_before == first_failure + 4000
    attempt, retried_at = done[0]
    assert attempt == 2
    assert retried_at >= not_before, "handled before its due time"
    healthy_during_wait = [ts for i, (_, ts) in done.items() if i > 0 and ts < not_before]
    assert len(healthy_during_wait) >= 5, "the healthy partition must keep flowing meanwhile"


def test_exec_handler_exit_codes_and_timeout(run_cli, brokers, topic_name, tmp_path):
    _create(run_cli, topic_name, "ex", partitions=1)
    produce(brokers, topic_name, orders(["fatal", "slow"]))
    script = tmp_path / "handler.sh"
    script.write_text(
        "body=$(cat)\n"
        'case "$body" in\n'
        '  *fatal*) echo "bad order $KAFKA_MESSAGE_ID" >&2; exit 100;;\n'
        "  *slow*) sleep 30;;\n"
        "esac\n"
    )
    result = run_cli(
        "consume",
        topic_name,
        "-g",
        "ex",
        "--exec",
        f"sh {script}",
        "--exec-timeout",
        "1s",
        "--no-retry",
        "-e",
    )
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    dlq = {json.loads(r.value)["mode"]: r for r in read_all(brokers, f"{topic_name}.ex.dlq")}
    assert set(dlq) == {"fatal", "slow"}
    assert header(dlq["fatal"], "kafkactl.error.kind") == "fatal"
    assert header(dlq["fatal"], "kafkactl.error.class") == "exit:100"
    assert header(dlq["fatal"], "kafkactl.error.message").startswith("bad order id-0-")
    assert header(dlq["slow"], "kafkactl.error.kind") == "timeout"


def test_print_handler_writes_envelopes(run_cli, brokers, topic_name):
    _create(run_cli, topic_name, "p", partitions=1)
    produce(brokers, topic_name, [(b"k", b'{"a":1}', [("h", b"v")]), (None, b"\xff\x00", [])])
    result = run_cli("consume", topic_name, "-g", "p", "-e", "-q")
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    lines = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert [line["offset"] for line in lines] == [0, 1]
    assert lines[0]["key"] == "k" and lines[0]["payload"] == '{"a":1}'
    assert lines[0]["headers"][:2] == ["h", "v"]
    assert lines[1]["key"] is None and lines[1]["payload_encoding"] == "base64"


def test_count_stops_after_n_messages(run_cli, brokers, topic_name, pipeline_env, tmp_path):
    _create(run_cli, topic_name, "cnt", partitions=1, env=pipeline_env)
    produce(brokers, topic_name, orders(["ok"] * 20))
    result = run_cli(
        "consume",
        topic_name,
        "-g",
        "cnt",
        "--handler",
        f"{HANDLERS}:handle",
        "--count",
        "5",
        "--json",
        env=pipeline_env,
    )
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert json.loads(result.stdout)["stopped_by"] == "count"
    assert len(processed(tmp_path / "processed.log")) == 5
    [(committed, end)] = committed_and_end(brokers, "cnt", [topic_name]).values()
    assert (committed, end) == (5, 20)


@pytest.mark.parametrize(
    ("handler", "message"),
    [
        ("nope.module:fn", "cannot import"),
        ("no_colon_here", "package.module:function"),
        (f"{HANDLERS}:missing", "missing"),
    ],
)
def test_bad_handler_is_a_usage_error(run_cli, topic_name, pipeline_env, handler, message):
    result = run_cli("consume", topic_name, "--handler", handler, env=pipeline_env)
    assert result.returncode == 2
    err = result.stderr.decode()
    assert message in err
    assert "Traceback" not in err


def test_missing_topics_are_named(run_cli, topic_name):
    result = run_cli("consume", topic_name, "-g", "x", "-e")
    assert result.returncode == 1
    err = result.stderr.decode()
    assert f"missing topic(s) {topic_name}" in err
    assert f"kafkactl create-topics {topic_name} --group x" in err
    assert "Traceback" not in err


def test_prometheus_metrics_endpoint(cli_env, brokers, topic_name, pipeline_env, tmp_path):
    import socket
    import subprocess
    import sys
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**cli_env, **pipeline_env}
    create = subprocess.run(
        [sys.executable, "-m", "kafkactl", "create-topics", topic_name, "-g", "prom", "-p", "1"],
        env=env,
        capture_output=True,
        cwd=tmp_path,
    )
    assert create.returncode == 0
    produce(brokers, topic_name, orders(["ok", "ok", "fatal"]))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kafkactl",
            "consume",
            topic_name,
            "-g",
            "prom",
            "-q",
            "--handler",
            f"{HANDLERS}:handle",
            "--metrics-port",
            str(port),
        ],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        body = ""
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
                    body = r.read().decode()
            except OSError:
                body = ""
            if "kafkactl_sent_to_dlq_total 1.0" in body and "kafkactl_processed_total 2.0" in body:
                break
            time.sleep(0.3)
        assert "kafkactl_processed_total 2.0" in body, body[-2000:]
        assert "kafkactl_received_total 3.0" in body
        assert "kafkactl_sent_to_dlq_total 1.0" in body
        assert 'kafkactl_handler_latency_ms{quantile="p50"}' in body
    finally:
        proc.terminate()
        assert proc.wait(30) == 0


# --- hostile input: poison records, copies that cannot land, hostile handlers ----------------

POISON_BYTES = 1_046_000  # just under the broker's default max.message.bytes (1,048,588)
# A failing command with a long stderr: the copy carries a 4 KiB trace and a 1 KiB message.
NOISY_FAILURE = "head -c 6000 /dev/zero | tr '\\0' e >&2; echo >&2; echo boom >&2; exit 1"


def _poison(index: int) -> bytes:
    """A JSON value of exactly POISON_BYTES bytes."""
    head = json.dumps({"id": index, "mode": "poison", "pad": ""})
    value = json.dumps({"id": index, "mode": "poison", "pad": "p" * (POISON_BYTES - len(head))})
    assert len(value) == POISON_BYTES
    return value.encode()


def _produce_large(brokers: str, topic: str, values: list[bytes]) -> None:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=brokers.split(","), max_request_size=2_000_000)
    for value in values:
        producer.send(topic, key=b"k", value=value).get(timeout=30)
    producer.close()


def _committed(brokers: str, group: str, topic: str) -> int:
    [(committed, _end)] = committed_and_end(brokers, group, [topic]).values()
    return committed


def test_a_poison_record_near_the_size_limit_lands_in_the_dlq_and_is_committed(
    run_cli, brokers, topic_name
):
    group = "poison"
    _create(run_cli, topic_name, group, partitions=1)
    values = [_poison(0), json.dumps({"id": 1, "mode": "small"}).encode()]
    _produce_large(brokers, topic_name, values)

    result = run_cli(
        "consume", topic_name, "-g", group, "-e", "--no-retry", "--exec", NOISY_FAILURE,
        "--json", timeout=90,
    )  # fmt: skip

    err = result.stderr.decode()
    assert result.returncode == 0, err[-3000:]
    assert "Traceback" not in err
    dlq = read_all(brokers, f"{topic_name}.{group}.dlq")
    assert [r.value for r in dlq] == values  # byte-exact, in order
    big = dlq[0]
    assert header(big, "kafkactl.original.offset") == "0"
    assert header(big, "kafkactl.error.class") == "exit:1"
    assert header(big, "kafkactl.error.message") == "boom"
    # The DLQ was created with room for the headers: nothing had to be cut.
    assert len(header(big, "kafkactl.error.trace") or "") >= 4000
    summary = json.loads(result.stdout)
    assert summary["metrics"]["sent_to_dlq"] == 2
    assert _committed(brokers, group, topic_name) == 2


def test_a_poison_record_fits_a_dlq_without_headroom_once_its_headers_shrink(
    run_cli, brokers, topic_name
):
    group = "tight"
    dlq = f"{topic_name}.{group}.dlq"
    # Both made as an older kafkactl did: the DLQ has the broker's default size limit.
    for name in (topic_name, dlq):
        created = run_cli("create-topics", name, "--no-retry", "-p", "1")
        assert created.returncode == 0, created.stderr.decode()
    _produce_large(brokers, topic_name, [_poison(0)])

    result = run_cli(
        "consume", topic_name, "-g", group, "-e", "--no-retry", "--exec", NOISY_FAILURE,
        timeout=90,
    )  # fmt: skip

    err = result.stderr.decode()
    assert result.returncode == 0, err[-3000:]
    [copy] = read_all(brokers, dlq)
    assert copy.value == _poison(0)
    assert header(copy, "kafkactl.error.trace") is None  # shrunk to fit
    assert header(copy, "kafkactl.error.class") == "exit:1"
    assert _committed(brokers, group, topic_name) == 1


def test_a_copy_that_can_never_land_stops_with_its_coordinates_and_commits_nothing_past_it(
    run_cli, brokers, topic_name
):
    group = "never"
    dlq = f"{topic_name}.{group}.dlq"
    created = run_cli("create-topics", topic_name, "--no-retry", "-p", "1")
    assert created.returncode == 0, created.stderr.decode()
    small = run_cli("create-topics", dlq, "--no-retry", "-p", "1", "-c", "max.message.bytes=100000")
    assert small.returncode == 0, small.stderr.decode()
    _produce_large(brokers, topic_name, [_poison(0)])

    started = time.monotonic()
    result = run_cli(
        "consume", topic_name, "-g", group, "-e", "--no-retry", "--exec", "exit 1", timeout=90
    )

    err = result.stderr.decode()
    assert result.returncode == 1, err[-3000:]
    assert time.monotonic() - started < 60
    assert "Traceback" not in err and "unexpected" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: ") and f"{topic_name}[0]@0" in last and dlq in last
    assert "max.message.bytes" in last and "not retriable" in last
    assert read_all(brokers, dlq) == []
    assert _committed(brokers, group, topic_name) in (-1, 0)  # never past the poison record


def test_handlers_raising_base_exceptions_are_dead_lettered_with_their_class(
    run_cli, brokers, topic_name, pipeline_env, tmp_path
):
    group = "base"
    _create(run_cli, topic_name, group, partitions=1, env=pipeline_env)
    kinds = ["keyboard", "systemexit", "generatorexit", "custom"]
    produce(brokers, topic_name, orders([*kinds, "ok", *kinds, "ok"]))

    result = run_cli(
        "consume", topic_name, "-g", group, "-e", "--no-retry", "--workers", "2",
        "--handler", f"{HANDLERS}:base_exceptions", env=pipeline_env, timeout=90,
    )  # fmt: skip

    err = result.stderr.decode()
    assert result.returncode == 0, err[-3000:]
    assert "Traceback" not in err
    assert sorted(i for i, _a, _t in processed(tmp_path / "processed.log")) == [4, 9]
    classes = sorted(
        header(r, "kafkactl.error.class") for r in read_all(brokers, f"{topic_name}.{group}.dlq")
    )
    expected = ["GeneratorExit", "KeyboardInterrupt", "SystemExit"]
    expected.append(f"{HANDLERS}.CustomBaseError")
    assert classes == sorted(expected * 2)
    assert _committed(brokers, group, topic_name) == 10


def test_a_handler_that_never_returns_is_abandoned_at_the_shutdown_timeout(
    cli_env, brokers, topic_name, pipeline_env, tmp_path, run_cli
):
    import signal
    import subprocess
    import sys

    group = "stuck"
    _create(run_cli, topic_name, group, partitions=1, env=pipeline_env)
    produce(brokers, topic_name, orders(["hang", "ok"]))
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "kafkactl", "consume", topic_name, "-g", group, "-q",
            "--handler", f"{HANDLERS}:never_returns", "--shutdown-timeout", "2s",
        ],
        env={**cli_env, **pipeline_env},
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        log = tmp_path / "processed.log"
        # `ok` (offset 1) is done once the group has the partition: `hang` is running by then.
        while time.monotonic() < deadline and proc.poll() is None and not log.exists():
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        _out, err_bytes = proc.communicate(timeout=30)
        took = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = err_bytes.decode()
    assert proc.returncode == 0, err[-3000:]
    assert took < 2 + 4, f"stopping took {took:.1f}s with --shutdown-timeout 2s"
    assert "abandoned" in err and "redelivered" in err
    assert [i for i, _a, _t in processed(log)] == [1]  # `ok` (another key) was done
    assert _committed(brokers, group, topic_name) in (-1, 0)  # not past the stuck one


def test_a_handler_module_that_exits_at_import_is_one_line(run_cli, topic_name, tmp_path):
    (tmp_path / "exits_at_import.py").write_text("import sys\nsys.exit(7)\n")
    result = run_cli(
        "consume", topic_name, "-g", f"g-{topic_name}", "-e", "--handler", "exits_at_import:f"
    )
    err = result.stderr.decode().strip()
    assert result.returncode == 2, err
    assert err.count("\n") == 0 and "exits_at_import" in err and "exit(7)" in err


def test_the_print_handler_with_stdout_closed_is_a_usage_error(cli_env, tmp_path):
    import subprocess
    import sys

    result = subprocess.run(
        f"exec {sys.executable} -m kafkactl consume t-closed -g g -e >&-",
        shell=True,
        env=cli_env,
        cwd=tmp_path,
        capture_output=False,
        stderr=subprocess.PIPE,
        timeout=60,
    )
    err = result.stderr.decode().strip()
    assert result.returncode == 2, err
    assert err.startswith("error: stdout is closed") and "\n" not in err
