"""Hostile input, poison records, closed streams, bad flags (issue 10), against the real broker.

Case count: 169 cases, collected as 190 test items (148 run once, 21 run on each engine).

- 148 engine-independent cases, run once: the usage table (hostile_cases.USAGE_CASES, 129):
  illegal topic and group names for every command (36), non-UTF-8 arguments and settings (22),
  out-of-range and non-finite numbers, durations, brokers and engines (57), closed
  stdin/stdout/stderr (7), global options after the command (7); plus handler modules that fail
  at import (5), --metrics-port already bound (2), shell-quoted hints (12).
- 21 data-moving cases, each run on both engines (42 items): envelope numbers out of range
  (ts 2^63, ts -5, partition -1 / 2^31 / 1e3 / true / beyond the topic), UTF-16 and UTF-32 input,
  BOM and invalid UTF-8 lines, --key-field on 1e400, closed stderr (produce and consume), closed
  stdin with --input, --json into a closed pipe, --reject-file /dev/full, a handler raising each
  BaseException kind, the poison record (fits after shrinking / never deliverable), a retry-tier
  record due years ahead, a negative kafkactl.replay.count, SIGINT on a slow produce and on a
  replay, an unknown group in health, a handler that never returns, the connect timeout (health,
  produce, consume).

Every subprocess runs in its own session under a hard timeout; on expiry its whole process group
is killed and the test fails (a regression fails, it never hangs CI). kcat is the independent
reader for counts.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time
import uuid
from pathlib import Path

import pytest
from kafka.admin import NewTopic

from tests.integration import hostile_cases as hc
from tests.integration.hostile_cases import (
    KAFKACTL,
    USAGE_CASES,
    Case,
    assert_clean,
    assert_one_error,
    error_lines,
    fill,
    finish,
    kafkactl,
    kcat_count,
    kcat_path,
    kcat_produce,
    kcat_read,
    shell,
    start,
)
from tests.integration.kafka_helpers import committed_and_end
from tests.integration.kafka_helpers import produce as kp_produce

DATA_TIMEOUT = 120.0


def _uid() -> str:
    return uuid.uuid4().hex[:10]


def _base_env(brokers: str, tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "KAFKACTL_"))}
    env.update(
        KAFKA_BROKERS=brokers,
        KAFKA_LOG_FORMAT="json",
        XDG_CONFIG_HOME=str(tmp_path / "xdg"),
        COLUMNS="200",
    )
    return env


@pytest.fixture(scope="session", autouse=True)
def _kcat_present() -> None:
    kcat_path()  # fails (not skips) with a clear message when kcat is missing


@pytest.fixture
def env(brokers: str, tmp_path: Path) -> dict:
    """The environment of the engine-independent cases (KAFKA_ENGINE left at auto)."""
    return _base_env(brokers, tmp_path)


@pytest.fixture(scope="module")
def existing(brokers: str) -> dict[str, str]:
    """A 1-partition topic with its (empty) retry tiers and DLQ for group G (admin client)."""
    from kafka import KafkaAdminClient

    topic, group = f"hostile-{_uid()}", "hg"
    admin = KafkaAdminClient(bootstrap_servers=brokers.split(","))
    pipeline = [topic, *(f"{topic}.{group}.retry.{n}" for n in (1, 2, 3)), f"{topic}.{group}.dlq"]
    admin.create_topics([NewTopic(name, 1, 1) for name in pipeline])
    admin.close()
    return {"T": topic, "G": group, "B": brokers}


def create_topics(env: dict, topic: str, group: str, partitions: int = 1) -> None:
    """`kafkactl create-topics T -g G` (the main topic, its retry tiers and its DLQ)."""
    ran = kafkactl("create-topics", topic, "-g", group, "-p", str(partitions), env=env, timeout=60)
    assert ran.returncode == 0, f"setup: create-topics failed\n{ran}"


def admin_topic(admin, name: str, partitions: int = 1, **configs: str) -> None:
    admin.create_topics([NewTopic(name, partitions, 1, topic_configs=configs or {})])


def committed(brokers: str, group: str, topic: str) -> int:
    """The group's committed offset on partition 0 of `topic` (-1 when none)."""
    try:
        offsets = committed_and_end(brokers, group, [topic])
    except KeyError:  # the group never committed
        return -1
    (value,) = [c for tp, (c, _end) in offsets.items() if tp.partition == 0]
    return -1 if value is None else int(value)


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def reject_entries(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


# === 1. engine-independent usage errors ========================================================


@pytest.mark.parametrize("case", USAGE_CASES, ids=[c.id for c in USAGE_CASES])
def test_usage_case(case: Case, env: dict, existing: dict[str, str]) -> None:
    values = {**existing, "NEW": f"hostile-new-{_uid()}"}
    merged = {**env, **{k: fill(v, values) for k, v in case.env.items()}}
    if isinstance(case.argv, str):
        ran = shell(fill(case.argv, values), merged, timeout=30)
    else:
        argv = [fill(a, values) for a in case.argv]
        ran = kafkactl(*argv, env=merged, input=case.stdin, timeout=30)
    codes = case.code if isinstance(case.code, tuple) else (case.code,)
    assert ran.returncode in codes, f"expected exit {case.code}\n{ran}"
    if case.code == 0:
        assert_clean(ran)
        assert not error_lines(ran.err), f"error lines on a successful run\n{ran}"
    else:
        assert_one_error(ran, case.keywords)
    for word in case.forbid:
        assert word.lower() not in ran.err.lower(), f"{word!r} on stderr\n{ran}"


# Handler modules that fail at import: exit 2 and one line naming the module.
IMPORT_FAILURES = {
    "sys-exit-7": "import sys\nsys.exit(7)\n",
    "system-exit-0": "raise SystemExit(0)\n",
    "runtime-error": "raise RuntimeError('boom at import')\n",
    "missing-function": "def other(message):\n    pass\n",
    "syntax-error": "def handle(message)\n    pass\n",
}


@pytest.mark.parametrize("kind", sorted(IMPORT_FAILURES))
def test_handler_module_failing_at_import(
    kind: str, env: dict, existing: dict[str, str], tmp_path: Path
) -> None:
    module = f"hostile_import_{kind.replace('-', '_')}_{_uid()}"
    (tmp_path / f"{module}.py").write_text(IMPORT_FAILURES[kind])
    ran = kafkactl(
        "consume", existing["T"], "-g", existing["G"], "-e", "--handler", f"{module}:handle",
        env={**env, "PYTHONPATH": str(tmp_path)}, timeout=30,
    )  # fmt: skip
    assert ran.returncode == 2, ran
    assert_one_error(ran, (module,))


@pytest.mark.parametrize("how", ["flag", "env"])
def test_metrics_port_in_use(how: str, env: dict, existing: dict[str, str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = str(sock.getsockname()[1])
        args = ["consume", existing["T"], "-g", existing["G"], "-e"]
        if how == "flag":
            ran = kafkactl(*args, "--metrics-port", port, env=env, timeout=60)
        else:
            ran = kafkactl(*args, env={**env, "KAFKA_METRICS_PORT": port}, timeout=60)
    assert ran.returncode in (1, 2), ran
    assert_one_error(ran, (port,))


@pytest.mark.parametrize(
    "argv",
    [
        ("produce", "{name}"),
        ("consume", "{name}", "-g", "hg", "-e"),
        ("replay-dlq", "{name}", "-g", "hg", "--dry-run"),
        ("health", "-t", "{name}", "-g", "hg"),
    ],
    ids=["produce", "consume", "replay-dlq", "health"],
)
@pytest.mark.parametrize(
    "name",
    ["bad/name*", "it's a topic", "missing-{uid}"],
    ids=["slash-star", "quote-space", "missing"],
)
def test_suggested_commands_are_shell_quoted(argv, name: str, env: dict) -> None:
    """Whenever a message suggests a kafkactl command, each word (the topic) is shell-quoted,
    and a command that could never work (an illegal name) is not suggested at all."""
    name = name.replace("{uid}", _uid())
    ran = kafkactl(*[a.replace("{name}", name) for a in argv], env=env, timeout=60)
    assert_clean(ran)
    assert ran.returncode != 0, ran
    legal = all(c.isalnum() or c in "._-" for c in name)
    for words in hc.shell_words_after_kafkactl(ran.err):
        if "create-topics" not in words:
            continue
        assert legal, f"suggests {words} for the illegal name {name!r}\n{ran}"
        assert name in words, f"hint does not survive the shell: {words}\n{ran}"


# === 2. data-moving cases, on both engines =====================================================


def test_produce_envelope_numbers_out_of_range(
    cli_env: dict, admin, brokers: str, topic_name: str, tmp_path: Path
) -> None:
    """ts/partition beyond Kafka's limits are invalid lines; the valid lines around them land.
    Today ts 2^63 kills kafka-python's sender and produce hangs for ever."""
    admin_topic(admin, topic_name, 1)
    lines = [
        ('{"key":"k","payload":"ok-1"}', "valid"),
        ('{"key":"k","payload":"b","ts":9223372036854775808}', "invalid"),
        ('{"key":"k","payload":"ok-3"}', "valid"),
        ('{"key":"k","payload":"b","ts":-5}', "either"),
        ('{"key":"k","payload":"b","partition":-1}', "invalid"),
        ('{"key":"k","payload":"ok-6"}', "valid"),
        ('{"key":"k","payload":"b","partition":2147483648}', "invalid"),
        ('{"key":"k","payload":"b","partition":1e3}', "invalid"),
        ('{"key":"k","payload":"b","ts":1e20}', "invalid"),
        ('{"key":"k","payload":"b","partition":true}', "invalid"),
        ('{"key":"k","payload":"b","partition":7}', "reported"),  # 1-partition topic
        ('{"key":"k","payload":"ok-12","ts":1700000000000}', "valid"),
    ]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(line + "\n" for line, _ in lines))
    rejects = tmp_path / "rejects.jsonl"
    ran = kafkactl(
        "produce", topic_name, "-f", "envelope", "-i", str(source),
        "--reject-file", str(rejects), "--json", env=cli_env, timeout=DATA_TIMEOUT,
    )  # fmt: skip
    assert_clean(ran)
    assert ran.returncode == 1, ran
    landed = [r.value.decode() for r in kcat_read(brokers, topic_name)]
    rejected = {e["line"]: e for e in reject_entries(rejects)}
    for entry in rejected.values():
        assert {"line", "input", "error"} <= set(entry), entry
    for n, (line, kind) in enumerate(lines, 1):
        payload = json.loads(line)["payload"]
        if kind == "valid":
            assert landed.count(payload) == 1, f"valid line {n} not delivered once: {landed}\n{ran}"
        elif kind in ("invalid", "reported"):
            assert f"line {n}" in ran.err, f"line {n} ({line}) not reported\n{ran}"
            assert n in rejected, f"line {n} not in the reject file: {sorted(rejected)}"
            assert rejected[n]["input"] == line
        else:  # ts -5: either rejected by line or delivered, never lost
            assert (n in rejected) != (landed.count(payload) == 1), (n, rejected, landed)
    valid = sum(kind == "valid" for _, kind in lines)
    either = sum(
        1 for n, (_, kind) in enumerate(lines, 1) if kind == "either" and n not in rejected
    )
    assert len(landed) == valid + either, f"kcat count {len(landed)}: {landed}"
    summary = json.loads(ran.stdout)
    assert summary["published"] == len(landed), summary


def test_produce_json_lines_must_be_utf8(
    cli_env: dict, admin, brokers: str, topic_name: str, tmp_path: Path
) -> None:
    """BOM and invalid UTF-8 lines are invalid; --key-field on 1e400 keys '1e400' as written."""
    admin_topic(admin, topic_name, 1)
    lines: list[tuple[bytes, bytes | None]] = [  # (line, key when valid)
        (b'{"id":"a","n":1}', b"a"),
        (b'\xef\xbb\xbf{"id":"b","n":2}', None),
        (b'{"id":"c","n":3}', b"c"),
        (b'{"id":"d","s":"\xff\xfe"}', None),
        (b'{"id":1e400}', b"1e400"),
        (b'{"id":"e","s":"\xc3\x28"}', None),
        (b'{"id":-1e400,"n":7}', b"-1e400"),
        (b'{"id":"f","s":"\xed\xa0\x80"}', None),  # an encoded surrogate is not UTF-8
        (b'{"id":123456789012345678901234567890}', b"123456789012345678901234567890"),
        (b'{"id":"g","n":10}', b"g"),
    ]
    source = tmp_path / "in.jsonl"
    source.write_bytes(b"".join(line + b"\n" for line, _ in lines))
    rejects = tmp_path / "rejects.jsonl"
    ran = kafkactl(
        "produce", topic_name, "--key-field", "id", "-i", str(source),
        "--reject-file", str(rejects), env=cli_env, timeout=DATA_TIMEOUT,
    )  # fmt: skip
    assert_clean(ran)
    assert ran.returncode == 1, ran
    records = kcat_read(brokers, topic_name)
    expected = sorted((key, line) for line, key in lines if key is not None)
    assert sorted((r.key, r.value) for r in records) == expected, ran
    bad = [n for n, (_, key) in enumerate(lines, 1) if key is None]
    for n in bad:
        assert f"line {n}" in ran.err, f"line {n} not reported\n{ran}"
    assert sorted(e["line"] for e in reject_entries(rejects)) == bad


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32"])
def test_produce_json_in_utf16_or_utf32_is_invalid(
    encoding: str, cli_env: dict, admin, brokers: str, topic_name: str, tmp_path: Path
) -> None:
    admin_topic(admin, topic_name, 1)
    data = '{"id":"a","n":1}\n{"id":"b","n":2}\n'.encode(encoding)
    rejects = tmp_path / "rejects.jsonl"
    ran = kafkactl(
        "produce", topic_name, "--reject-file", str(rejects), input=data, env=cli_env,
        timeout=DATA_TIMEOUT,
    )  # fmt: skip
    assert_clean(ran)
    assert ran.returncode == 1, ran
    assert "line 1" in ran.err, ran
    assert reject_entries(rejects), "nothing in the reject file"
    assert kcat_count(brokers, topic_name) == 0, "non-UTF-8 JSON was published"


def test_closed_stderr_still_delivers_and_consumes(
    cli_env: dict, admin, brokers: str, topic_name: str, tmp_path: Path
) -> None:
    group = f"g{_uid()}"
    create_topics(cli_env, topic_name, group)
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"n": n}) + "\n" for n in range(20)))
    ran = shell(f"KCTL produce {topic_name} < {source} 2>&-", cli_env, timeout=DATA_TIMEOUT)
    assert ran.returncode == 0, ran
    assert kcat_count(brokers, topic_name) == 20
    got = shell(f"KCTL consume {topic_name} -g {group} -e 2>&-", cli_env, timeout=DATA_TIMEOUT)
    assert got.returncode == 0, got
    assert len(got.stdout.splitlines()) == 20, got


def test_closed_stdin_with_input_file(
    cli_env: dict, admin, brokers: str, topic_name: str, tmp_path: Path
) -> None:
    admin_topic(admin, topic_name, 1)
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"n": n}) + "\n" for n in range(5)))
    ran = shell(f"KCTL produce {topic_name} -i {source} <&-", cli_env, timeout=DATA_TIMEOUT)
    assert ran.returncode == 0, ran
    assert_clean(ran)
    assert kcat_count(brokers, topic_name) == 5


def test_json_summary_into_a_closed_pipe(
    cli_env: dict, admin, brokers: str, topic_name: str, tmp_path: Path
) -> None:
    admin_topic(admin, topic_name, 1)
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"n": n}) + "\n" for n in range(10)))
    script = f"KCTL produce {topic_name} --json < {source} | true; exit ${{PIPESTATUS[0]}}"
    ran = shell(script, cli_env, timeout=DATA_TIMEOUT)
    assert kcat_count(brokers, topic_name) == 10
    assert ran.returncode == 1, ran
    assert_one_error(ran, ("stdout",))


def test_reject_file_on_a_full_device(cli_env: dict, admin, brokers: str, topic_name: str) -> None:
    admin_topic(admin, topic_name, 1)
    ran = kafkactl(
        "produce", topic_name, "--reject-file", "/dev/full",
        input=b'{"n":1}\nnot json\n{"n":3}\n', env=cli_env, timeout=DATA_TIMEOUT,
    )  # fmt: skip
    assert ran.returncode == 1, ran
    assert_clean(ran)
    lines = [line for line in error_lines(ran.err) if "/dev/full" in line]
    assert len(lines) == 1, (
        f"one line naming the reject file expected: {error_lines(ran.err)}\n{ran}"
    )


HANDLER_KINDS = ("KeyboardInterrupt", "SystemExit", "GeneratorExit", "Boom")
BASE_HANDLER = """
class Boom(BaseException):
    pass

def handle(message):
    kind = message.json()["kind"]
    if kind == "KeyboardInterrupt":
        raise KeyboardInterrupt()
    if kind == "SystemExit":
        raise SystemExit(3)
    if kind == "GeneratorExit":
        raise GeneratorExit()
    raise Boom("custom BaseException")
"""


def test_handler_raising_base_exceptions(
    cli_env: dict, brokers: str, topic_name: str, tmp_path: Path
) -> None:
    """Each BaseException kind is the handler's failure: every record in the DLQ, no hang."""
    group = f"g{_uid()}"
    create_topics(cli_env, topic_name, group)
    module = f"hostile_base_{_uid()}"
    (tmp_path / f"{module}.py").write_text(BASE_HANDLER)
    records = [
        (None, json.dumps({"kind": k, "i": i}).encode(), [])
        for i in range(2)
        for k in HANDLER_KINDS
    ]
    kp_produce(brokers, topic_name, records)
    ran = kafkactl(
        "consume", topic_name, "-g", group, "-e", "--no-retry", "--handler", f"{module}:handle",
        env={**cli_env, "PYTHONPATH": str(tmp_path)}, timeout=90,
    )  # fmt: skip
    assert "Traceback" not in ran.err, ran
    assert ran.returncode == 0, ran
    dlq = kcat_read(brokers, f"{topic_name}.{group}.dlq")
    kinds = sorted(json.loads(r.value)["kind"] for r in dlq)
    assert kinds == sorted(HANDLER_KINDS * 2), f"DLQ holds {kinds}\n{ran}"
    for r in dlq:
        kind = json.loads(r.value)["kind"]
        assert "kafkactl.error.class=" in r.headers and kind in r.headers, (kind, r.headers)
        classes = [h for h in r.headers.split(",") if h.startswith("kafkactl.error.class=")]
        assert classes and kind in classes[-1], (kind, r.headers)


POISON_SIZE = 1_046_000


def test_poison_record_near_the_size_limit_reaches_the_dlq(
    cli_env: dict, brokers: str, topic_name: str
) -> None:
    group = f"g{_uid()}"
    create_topics(cli_env, topic_name, group)
    value = b'{"pad":"' + b"a" * (POISON_SIZE - 10) + b'"}'
    assert len(value) == POISON_SIZE
    kcat_produce(brokers, topic_name, value)
    ran = kafkactl(
        "consume", topic_name, "-g", group, "-e", "--no-retry", "--exec", "exit 1",
        env=cli_env, timeout=120,
    )  # fmt: skip
    assert_clean(ran)
    assert ran.returncode == 0, ran
    dlq = kcat_read(brokers, f"{topic_name}.{group}.dlq", values=False)
    assert [r.size for r in dlq] == [POISON_SIZE], f"DLQ: {[r.size for r in dlq]}\n{ran}"
    assert committed(brokers, group, topic_name) == 1, ran


def test_poison_record_that_can_never_be_delivered_stops_loudly(
    cli_env: dict, admin, brokers: str, topic_name: str
) -> None:
    """A DLQ that refuses the copy (max.message.bytes=2000): exit 1 naming the record's
    coordinates, offset not committed past it, no endless retry."""
    group = f"g{_uid()}"
    admin_topic(admin, topic_name, 1)
    admin_topic(admin, f"{topic_name}.{group}.dlq", 1, **{"max.message.bytes": "2000"})
    kp_produce(brokers, topic_name, [(b"k", b'{"pad":"' + b"b" * 4990 + b'"}', [])])
    ran = kafkactl(
        "consume", topic_name, "-g", group, "-e", "--no-retry", "--exec", "exit 1",
        env=cli_env, timeout=120,
    )  # fmt: skip
    assert_clean(ran)
    assert ran.returncode == 1, ran
    assert topic_name in ran.err and "offset" in ran.err.lower(), ran
    assert committed(brokers, group, topic_name) <= 0, "committed past the undelivered record"
    assert kcat_count(brokers, f"{topic_name}.{group}.dlq") == 0


def test_retry_tier_record_due_years_ahead(cli_env: dict, brokers: str, topic_name: str) -> None:
    from kafkactl import headers as h

    group = f"g{_uid()}"
    create_topics(cli_env, topic_name, group)
    now = int(time.time() * 1000)
    years = now + 5 * 365 * 24 * 3600 * 1000
    hdrs = [
        (h.MESSAGE_ID, b"m-far"),
        (h.ORIGINAL_TOPIC, topic_name.encode()),
        (h.ORIGINAL_PARTITION, b"0"),
        (h.ORIGINAL_OFFSET, b"0"),
        (h.ORIGINAL_TIMESTAMP, str(now).encode()),
        (h.GROUP, group.encode()),
        (h.ATTEMPT, b"1"),
        (h.NOT_BEFORE, str(years).encode()),
        (h.FIRST_FAILURE, str(now).encode()),
        (h.LAST_FAILURE, str(now).encode()),
        (h.ERROR_KIND, b"retryable"),
        (h.ERROR_CLASS, b"exit:1"),
        (h.ERROR_MESSAGE, b"earlier failure"),
    ]
    kp_produce(brokers, f"{topic_name}.{group}.retry.1", [(b"k", b'{"far":1}', hdrs)])
    # A handler that routes failures (the print handler reads no tiers in a group).
    ran = kafkactl(
        "consume", topic_name, "-g", group, "-e", "--exec", "true", env=cli_env, timeout=60
    )
    assert_clean(ran)
    assert ran.returncode == 0, ran
    warned = [
        line for line in ran.err.splitlines()
        if "warn" in line.lower() and ("not-before" in line or "retry.1" in line or "tier" in line)
    ]  # fmt: skip
    assert warned, f"no warning about the far due time\n{ran}"


def _dead_letter(topic: str, group: str, replay_count: bytes, n: int) -> tuple:
    from kafkactl import headers as h

    hdrs = [
        (h.MESSAGE_ID, f"m-{n}".encode()),
        (h.ORIGINAL_TOPIC, topic.encode()),
        (h.ORIGINAL_PARTITION, b"0"),
        (h.ORIGINAL_OFFSET, str(n).encode()),
        (h.ORIGINAL_TIMESTAMP, b"1700000000000"),
        (h.GROUP, group.encode()),
        (h.ATTEMPT, b"1"),
        (h.ERROR_KIND, b"fatal"),
        (h.ERROR_CLASS, b"exit:100"),
        (h.ERROR_MESSAGE, b"dead"),
    ]
    if replay_count:
        hdrs.append((h.REPLAY_COUNT, replay_count))
    return (b"k", json.dumps({"n": n}).encode(), hdrs)


def test_negative_replay_count_is_parked(cli_env: dict, brokers: str, topic_name: str) -> None:
    group = f"g{_uid()}"
    create_topics(cli_env, topic_name, group)
    dlq = f"{topic_name}.{group}.dlq"
    kp_produce(
        brokers,
        dlq,
        [
            _dead_letter(topic_name, group, b"-5", 0),
            _dead_letter(topic_name, group, b"-2147483649", 1),
        ],
    )
    ran = kafkactl(
        "replay-dlq", topic_name, "-g", group, "--max-replays", "3", "--to", "original",
        "--yes", "--json", env=cli_env, timeout=DATA_TIMEOUT,
    )  # fmt: skip
    assert_clean(ran)
    assert kcat_count(brokers, topic_name) == 0, (
        f"a dead letter with a negative count was replayed\n{ran}"
    )
    assert kcat_count(brokers, f"{topic_name}.{group}.retry.1") == 0
    summary = json.loads(ran.stdout)
    assert summary.get("parked") == 2, summary


def test_sigint_on_a_slow_produce(cli_env: dict, admin, brokers: str, topic_name: str) -> None:
    admin_topic(admin, topic_name, 1)
    t0 = time.monotonic()
    proc = start([*KAFKACTL, "produce", topic_name, "--json"], cli_env)
    proc.stdin.write(b'{"first": 1}\n')
    proc.stdin.flush()
    time.sleep(4)  # the line is read; stdin stays open like (echo line; sleep 30)
    proc.send_signal(signal.SIGINT)
    ran = finish(proc, "produce with SIGINT", t0, 30)
    assert_clean(ran)
    assert ran.returncode == 130, ran
    assert kcat_count(brokers, topic_name) == 1, "the line read before SIGINT was not delivered"
    assert "published" in ran.out or "published" in ran.err, f"no summary\n{ran}"


def test_sigint_on_a_running_replay(cli_env: dict, brokers: str, topic_name: str) -> None:
    group = f"g{_uid()}"
    create_topics(cli_env, topic_name, group)
    kp_produce(
        brokers,
        f"{topic_name}.{group}.dlq",
        [_dead_letter(topic_name, group, b"", n) for n in range(30)],
    )
    t0 = time.monotonic()
    proc = start(
        [
            *KAFKACTL,
            "replay-dlq",
            topic_name,
            "-g",
            group,
            "--to",
            "original",
            "--rate",
            "2",
            "--yes",
        ],
        cli_env,
    )
    wait_until(
        lambda: kcat_count(brokers, topic_name) >= 1 or proc.poll() is not None,
        60,
        "a replayed record",
    )
    proc.send_signal(signal.SIGINT)
    ran = finish(proc, "replay-dlq with SIGINT", t0, 30)
    assert_clean(ran)
    assert ran.returncode == 130, ran
    assert 1 <= kcat_count(brokers, topic_name) < 30


def test_health_of_an_unknown_group(cli_env: dict, existing: dict[str, str]) -> None:
    ran = kafkactl(
        "health", "-t", existing["T"], "-g", f"typo-group-that-never-existed-{_uid()}",
        "--no-retry", "--json", env=cli_env, timeout=60,
    )  # fmt: skip
    assert_clean(ran)
    assert ran.returncode == 1, f"an unknown group was reported healthy\n{ran}"
    assert "unknown group" in (ran.err + ran.out).lower(), ran


HANG_HANDLER = """
import pathlib, time

def handle(message):
    pathlib.Path({marker!r}).write_text("started")
    time.sleep(3600)
"""


def test_handler_that_never_returns_respects_shutdown_timeout(
    cli_env: dict, brokers: str, topic_name: str, tmp_path: Path
) -> None:
    group = f"g{_uid()}"
    create_topics(cli_env, topic_name, group)
    marker = tmp_path / "started"
    module = f"hostile_hang_{_uid()}"
    (tmp_path / f"{module}.py").write_text(HANG_HANDLER.format(marker=str(marker)))
    kp_produce(brokers, topic_name, [(b"k", b'{"n":1}', [])])
    t0 = time.monotonic()
    proc = start(
        [*KAFKACTL, "consume", topic_name, "-g", group, "--handler", f"{module}:handle",
         "--shutdown-timeout", "3s"],
        {**cli_env, "PYTHONPATH": str(tmp_path)},
    )  # fmt: skip
    wait_until(lambda: marker.exists() or proc.poll() is not None, 60, "the handler to start")
    assert proc.poll() is None, "consume ended before the handler started"
    stopped = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    ran = finish(proc, "consume with a handler that never returns, SIGTERM", t0, 30)
    took = time.monotonic() - stopped
    assert "Traceback" not in ran.err, ran
    assert took < 8.0, f"took {took:.1f}s after SIGTERM with --shutdown-timeout 3s\n{ran}"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("command", ["health", "produce", "consume"])
def test_connect_timeout_is_kept(command: str, cli_env: dict, topic_name: str) -> None:
    address = f"127.0.0.1:{_closed_port()}"
    args = {
        "health": ["health"],
        "produce": ["produce", topic_name],
        "consume": ["consume", topic_name, "-g", "g", "-e"],
    }[command]
    ran = kafkactl(
        "--brokers",
        address,
        "--connect-timeout",
        "3s",
        *args,
        input=b'{"n":1}\n',
        env=cli_env,
        timeout=30,
    )
    assert ran.returncode == 3, ran
    assert ran.seconds < 4.5, f"--connect-timeout 3s took {ran.seconds:.1f}s\n{ran}"
    assert_one_error(ran)
