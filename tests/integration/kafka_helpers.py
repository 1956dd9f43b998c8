"""Small kafka-python helpers for the integration tests: write, read back, committed offsets."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError


def produce(brokers: str, topic: str, records: Iterable[tuple[bytes | None, bytes, list]]) -> None:
    """Write (key, value, headers) records and wait for every acknowledgement."""
    producer = KafkaProducer(bootstrap_servers=brokers.split(","), linger_ms=5)
    futures = [producer.send(topic, key=k, value=v, headers=h) for k, v, h in records]
    producer.flush()
    for future in futures:
        future.get(timeout=30)
    producer.close()


def orders(modes: list[str]) -> list[tuple[bytes, bytes, list]]:
    """One JSON order per mode, keyed k0..k9, each with its message-id header."""
    return [
        (
            f"k{i % 10}".encode(),
            json.dumps({"id": i, "mode": mode}).encode(),
            [("message-id", f"id-{i}-{uuid.uuid4().hex[:6]}".encode())],
        )
        for i, mode in enumerate(modes)
    ]


def read_all(brokers: str, topic: str, timeout: float = 30.0) -> list[Any]:
    """Every record in `topic` now (reads each partition to its end offset)."""
    consumer = KafkaConsumer(bootstrap_servers=brokers.split(","), enable_auto_commit=False)
    partitions = consumer.partitions_for_topic(topic) or set()
    tps = [TopicPartition(topic, p) for p in sorted(partitions)]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    ends = consumer.end_offsets(tps)
    out: list[Any] = []
    deadline = time.monotonic() + timeout
    while any(consumer.position(tp) < ends[tp] for tp in tps):
        if time.monotonic() > deadline:
            raise TimeoutError(f"could not read {topic} to its end")
        for batch in consumer.poll(timeout_ms=500).values():
            out.extend(batch)
    consumer.close()
    return out


def committed_and_end(brokers: str, group: str, topics: list[str]) -> dict[Any, tuple]:
    """(committed, end) per partition of `topics` for `group`."""
    admin = KafkaAdminClient(bootstrap_servers=brokers.split(","))
    consumer = KafkaConsumer(bootstrap_servers=brokers.split(","))
    tps = [
        TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or [])
    ]
    ends = consumer.end_offsets(tps)
    # Right after a broker restart the group's coordinator may still be loading: ask again.
    deadline = time.monotonic() + 30
    while True:
        try:
            committed = admin.list_group_offsets({group: tps})[group]
            break
        except KafkaError as exc:
            if not getattr(exc, "retriable", False) or time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    consumer.close()
    admin.close()
    return {tp: (committed[tp].offset, ends[tp]) for tp in tps}


def header(record: Any, name: str) -> str | None:
    """Last value of a header as text."""
    value = None
    for key, raw in record.headers or []:
        if key == name:
            value = raw.decode()
    return value


def processed(log: Path) -> list[tuple[int, int, int]]:
    """(id, attempt, epoch ms) per success the test handler recorded."""
    if not log.exists():
        return []
    return [tuple(int(x) for x in line.split()) for line in log.read_text().splitlines() if line]


def fully_committed(offsets: dict[Any, tuple]) -> bool:
    """Every partition's committed offset is its end (an empty partition needs no commit)."""
    return all(c == e or (c < 0 and e == 0) for c, e in offsets.values())


# Subprocesses (consumers, replays) that tests start; conftest kills any still running after
# each test, so a failed test leaves nothing behind.
RUNNING: list[subprocess.Popen] = []


def track(proc: subprocess.Popen) -> subprocess.Popen:
    """Register a subprocess to be killed after the test if it is still running."""
    RUNNING.append(proc)
    return proc


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    """Poll `predicate` every 0.1s until true; fail the test naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def kcat(brokers: str, *args: str, data: bytes | None = None) -> bytes:
    """Run kcat, the independent peer; fails (never skips) the test when it is not installed."""
    path = shutil.which("kcat")
    assert path, "kcat is needed for these tests (apt-get install kcat; .ci/run installs it)"
    done = subprocess.run(
        [path, "-b", brokers, *args], input=data, capture_output=True, timeout=60, check=True
    )
    return done.stdout


def one_line_error(result: Any, code: int, *fragments: str) -> str:
    """Assert exit `code` and exactly one stderr line, no traceback, holding each fragment."""
    err = result.stderr.decode()
    assert result.returncode == code, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, lines
    assert "unexpected" not in err and "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]
