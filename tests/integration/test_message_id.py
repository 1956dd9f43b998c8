"""The `message-id` header is opt-in (DESIGN §5.2, §6.12): produce adds one only when asked,
and the pipeline knows a record without one by where it was first read, `topic/partition/offset`,
for dedupe, --exec, the tier and DLQ copies and replay.

Headers are read back with kcat, the independent peer.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

from tests.integration.kafka_helpers import header, kcat, one_line_error, read_all

UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def _ok(result, code: int = 0):
    err = result.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err, err
    assert result.returncode == code, err[-3000:]
    return result


def _headers(brokers: str, topic: str) -> list[tuple[str, str]]:
    """(%h, value) per record as kcat reads them, in partition/offset order."""
    out = kcat(brokers, "-C", "-t", topic, "-e", "-q", "-f", "%p\\x1f%o\\x1f%h\\x1f%s\\x1e")
    rows = []
    for chunk in out.decode().split("\x1e"):
        if chunk:
            p, o, h, v = chunk.split("\x1f", 3)
            rows.append((int(p), int(o), h, v))
    return [(h, v) for _, _, h, v in sorted(rows)]


def test_produce_adds_a_message_id_only_when_asked(run_cli, brokers, topic_name):
    _ok(run_cli("create-topics", topic_name, "-p", "1", "--no-retry", "-q"))
    lines = "".join(json.dumps({"id": i, "uid": f"u-{i}"}) + "\n" for i in range(3))

    # Default: no header at all, whatever the format.
    _ok(run_cli("produce", topic_name, "--key-field", "id", "-q", input=lines))
    _ok(run_cli("produce", topic_name, "--format", "raw", "-q", input="plain\n"))
    # --message-id uuid: a new UUID4 on each record.
    _ok(run_cli("produce", topic_name, "--message-id", "uuid", "-q", input=lines))
    _ok(run_cli("produce", topic_name, "-f", "raw", "--message-id", "uuid", "-q", input="r\n"))
    # --message-id-field: from the field; a line without it is invalid, named by its number.
    missing = _ok(
        run_cli(
            "produce", topic_name, "--message-id-field", "uid", "-q",
            input=lines + '{"id": 9}\n',
        ),
        1,
    )  # fmt: skip
    assert "line 4: invalid, skipped: message-id field 'uid' is missing" in missing.stderr.decode()
    # An envelope's own message-id is kept, with or without --message-id uuid.
    envelope = json.dumps({"payload": "e", "headers": ["message-id", "env-1", "h", "1"]}) + "\n"
    _ok(run_cli("produce", topic_name, "-f", "envelope", "-q", input=envelope))
    _ok(run_cli("produce", topic_name, "-f", "envelope", "--message-id", "uuid", input=envelope))

    rows = _headers(brokers, topic_name)
    assert len(rows) == 3 + 1 + 3 + 1 + 3 + 2
    assert [h for h, _ in rows[:4]] == ["", "", "", ""]
    uuids = [h.removeprefix("message-id=") for h, _ in rows[4:8]]
    assert all(UUID4.fullmatch(u) for u in uuids) and len(set(uuids)) == 4, uuids
    assert [h for h, _ in rows[8:11]] == [f"message-id=u-{i}" for i in range(3)]
    assert [h for h, _ in rows[11:]] == ["message-id=env-1,h=1"] * 2


def test_bad_message_id_flags_are_one_usage_line(run_cli, topic_name):
    one_line_error(
        run_cli("produce", topic_name, "--message-id", "random", input=""), 2,
        "--message-id 'random' is not allowed", "--message-id uuid",
    )  # fmt: skip
    one_line_error(
        run_cli("produce", topic_name, "--message-id", "uuid", "--message-id-field", "u", input=""),
        2,
        "exclude each other",
    )


def test_records_without_ids_are_known_by_where_they_were_first_read(
    run_cli, brokers, topic_name, tmp_path: Path
):
    """Produced without ids: --exec gets topic/partition/offset, the DLQ copy carries it, a
    replayed copy keeps it, and the SQLite store dedupes a redelivery of the same offsets."""
    group = f"mid-{uuid.uuid4().hex[:8]}"
    dlq = f"{topic_name}.{group}.dlq"
    env = {"KAFKA_RETRY_DELAYS": "200ms"}
    _ok(run_cli("create-topics", topic_name, "-g", group, "-p", "2", "-q", env=env))
    failing = {3, 8, 13}
    lines = "".join(
        json.dumps({"id": i, "mode": "fail" if i in failing else "ok"}) + "\n" for i in range(16)
    )
    _ok(run_cli("produce", topic_name, "--key-field", "id", "-q", input=lines))
    assert all(h == "" for h, _ in _headers(brokers, topic_name)), "produced without ids"
    where = {
        json.loads(r.value)["id"]: f"{topic_name}/{r.partition}/{r.offset}"
        for r in read_all(brokers, topic_name)
    }

    log, fixed = tmp_path / "handled.log", tmp_path / "fixed"
    # Fails (fatal: straight to the DLQ) the "fail" records until the cause is fixed.
    command = (
        f'v="$(cat)"; case "$v" in *fail*) test -e {fixed} || exit 100;; esac; '
        f'echo "$KAFKA_MESSAGE_ID $v" >> {log}'
    )
    store = f"sqlite:{tmp_path / 'dedupe.db'}"

    def consume() -> dict:
        ran = run_cli(
            "consume", topic_name, "-g", group, "--exec", command, "--dedupe", store,
            "--breaker", "off", "-e", "--json", env=env, timeout=180,
        )  # fmt: skip
        return json.loads(_ok(ran).stdout)

    def handled() -> dict[int, str]:
        out: dict[int, str] = {}
        for line in log.read_text().splitlines():
            message_id, value = line.split(" ", 1)
            number = json.loads(value)["id"]
            assert number not in out, f"{number} handled twice"
            out[number] = message_id
        return out

    consume()
    assert handled() == {i: where[i] for i in range(16) if i not in failing}
    dead = read_all(brokers, dlq)
    assert sorted(json.loads(r.value)["id"] for r in dead) == sorted(failing)
    for record in dead:
        origin = (
            f"{header(record, 'kafkactl.original.topic')}/"
            f"{header(record, 'kafkactl.original.partition')}/"
            f"{header(record, 'kafkactl.original.offset')}"
        )
        assert header(record, "message-id") == where[json.loads(record.value)["id"]] == origin

    # The cause is fixed: replay to tier 1; the copies keep the id, the next run handles them
    # under it (not under their tier coordinates).
    fixed.touch()
    replayed = _ok(run_cli("replay-dlq", topic_name, "-g", group, "--yes", "--json", input=""))
    assert json.loads(replayed.stdout)["replayed"] == len(failing)
    tier = read_all(brokers, f"{topic_name}.{group}.retry.1")
    assert {header(r, "message-id") for r in tier} == {where[i] for i in failing}
    consume()
    assert handled() == where

    # The same offsets delivered again (the group reset to the start): every record is known
    # by its coordinates in the SQLite store, so no handler runs twice.
    _ok(
        run_cli(
            "groups", "reset-offsets", group, "-t", topic_name, "--to", "earliest",
            "--execute", "-q",
        )
    )  # fmt: skip
    again = consume()
    assert again["metrics"]["deduplicated"] == 16, again["metrics"]
    assert handled() == where
    assert len(read_all(brokers, dlq)) == len(failing), "nothing dead-lettered again"
