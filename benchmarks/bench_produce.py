"""Produce throughput and memory: `kafkactl produce` side by side with `kcat -P` (SPEC §14).

Run by hand against a local broker (not in CI):

    .venv/bin/python benchmarks/bench_produce.py                  # 1M records, KAFKA_BROKERS
    .venv/bin/python benchmarks/bench_produce.py --records 200000 --brokers 127.0.0.1:9092

It writes N JSON records of ~100 bytes to a file, then produces that file to fresh topics with
`kafkactl produce -i FILE -q --json` and with `kcat -P -l FILE`, each as a subprocess, and
prints records/s (wall clock, process start to exit, so start-up and the final flush count),
the ratio, and each process's peak RSS (from wait4's rusage). kafkactl also runs on the first
`--small` records, to show that peak memory does not grow with the input, and a bare
kafka-python send loop with the same producer settings shows the client library's own ceiling.
Every topic is read back (end offsets) to check that every record landed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Run:
    tool: str
    records: int
    seconds: float
    peak_rss_mb: float
    landed: int

    @property
    def rate(self) -> float:
        return self.records / self.seconds


def write_records(path: Path, count: int) -> int:
    """`count` JSON lines of about 100 bytes; returns the file size."""
    with path.open("wb", buffering=4 * 1024 * 1024) as out:
        for i in range(count):
            doc = {
                "id": i,
                "customer": f"c-{i % 10_000:05d}",
                "amount": round((i % 100_000) / 7, 2),
                "currency": "EUR",
                "status": "paid",
                "note": "x" * (12 - len(str(i)) % 6),
            }
            out.write(orjson.dumps(doc) + b"\n")
    return path.stat().st_size


def create_topic(brokers: str, partitions: int) -> str:
    from kafka.admin import KafkaAdminClient, NewTopic

    name = f"bench-produce-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=brokers.split(","))
    try:
        admin.create_topics([NewTopic(name, partitions, 1)])
    finally:
        admin.close()
    return name


def landed(brokers: str, topic: str) -> int:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=brokers.split(","), group_id=None)
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in partitions]
        return sum(consumer.end_offsets(tps).values())
    finally:
        consumer.close()


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float, bytes]:
    """Run a process; (wall seconds, peak RSS in MiB, stdout)."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"{argv[0]} failed ({proc.returncode}): {err.decode(errors='replace')[-2000:]}")
    return seconds, usage.ru_maxrss / 1024, out  # ru_maxrss is KiB on Linux


def run_kafkactl(brokers: str, path: Path, count: int, partitions: int, extra: list[str]) -> Run:
    topic = create_topic(brokers, partitions)
    env = {**os.environ, "KAFKA_BROKERS": brokers, "KAFKA_LOG_FORMAT": "json"}
    argv = [sys.executable, "-m", "kafkactl", "produce", topic, "-i", str(path), "-q", "--json"]
    seconds, rss, out = timed(argv + extra, env)
    summary = orjson.loads(out)
    assert summary["published"] == count, summary
    return Run("kafkactl produce", count, seconds, rss, landed(brokers, topic))


# The library's own ceiling: a bare KafkaProducer loop with kafkactl's producer settings
# (idempotent, acks=all, same linger and batch size), values only, no parsing, no callbacks.
PLAIN_LOOP = """
import sys
from kafka import KafkaProducer
from kafkactl.client import producer_config
from kafkactl.config import load_settings
producer = KafkaProducer(**producer_config(load_settings()))
send, topic = producer.send, sys.argv[1]
with open(sys.argv[2], "rb") as lines:
    for line in lines:
        send(topic, line[:-1])
producer.flush()
producer.close()
"""


def run_plain_loop(brokers: str, path: Path, count: int, partitions: int) -> Run:
    topic = create_topic(brokers, partitions)
    env = {**os.environ, "KAFKA_BROKERS": brokers}
    seconds, rss, _ = timed([sys.executable, "-c", PLAIN_LOOP, topic, str(path)], env)
    return Run("kafka-python loop", count, seconds, rss, landed(brokers, topic))


def run_kcat(kcat: str, brokers: str, path: Path, count: int, partitions: int) -> Run:
    topic = create_topic(brokers, partitions)
    argv = [kcat, "-P", "-b", brokers, "-t", topic, "-l", str(path)]
    seconds, rss, _ = timed(argv, dict(os.environ))
    return Run("kcat -P", count, seconds, rss, landed(brokers, topic))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brokers", default=os.environ.get("KAFKA_BROKERS", "127.0.0.1:9092"))
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=100_000, help="the flat-memory comparison")
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument(
        "--kafkactl-args", default="", help="extra produce flags, e.g. --linger-ms 50"
    )
    args = parser.parse_args()

    kcat = shutil.which("kcat") or shutil.which("kafkacat")
    if not kcat:
        sys.exit("kcat not found: apt-get install -y kcat")
    extra = args.kafkactl_args.split()
    with tempfile.TemporaryDirectory(prefix="bench-produce-") as tmp:
        big = Path(tmp) / "records.jsonl"
        small = Path(tmp) / "records-small.jsonl"
        size = write_records(big, args.records)
        write_records(small, args.small)
        print(
            f"{args.records:,} records, {size / args.records:.0f} bytes/record on average, "
            f"{args.partitions} partitions, broker {args.brokers}\n",
            flush=True,
        )
        runs = [
            run_kcat(kcat, args.brokers, big, args.records, args.partitions),
            run_kafkactl(args.brokers, big, args.records, args.partitions, extra),
            run_kafkactl(args.brokers, small, args.small, args.partitions, extra),
            run_plain_loop(args.brokers, big, args.records, args.partitions),
        ]
    print(
        f"{'tool':<18}{'records':>11}{'seconds':>9}{'records/s':>12}{'peak RSS':>11}{'landed':>11}"
    )
    for r in runs:
        print(
            f"{r.tool:<18}{r.records:>11,}{r.seconds:>9.2f}{r.rate:>12,.0f}"
            f"{r.peak_rss_mb:>8.1f} MiB{r.landed:>11,}"
        )
    kcat_run, big_run, small_run, plain_run = runs
    print(f"\nkafkactl / kcat records/s: {big_run.rate / kcat_run.rate:.3f}")
    print(
        f"kafkactl / bare kafka-python loop: {big_run.rate / plain_run.rate:.2f} "
        f"(kafka-python / kcat: {plain_run.rate / kcat_run.rate:.3f})"
    )
    print(
        f"kafkactl peak RSS: {small_run.peak_rss_mb:.1f} MiB at {small_run.records:,} records, "
        f"{big_run.peak_rss_mb:.1f} MiB at {big_run.records:,} records "
        f"(x{big_run.peak_rss_mb / small_run.peak_rss_mb:.2f} for x"
        f"{big_run.records / small_run.records:.0f} the input)"
    )
    for r in runs:
        if r.landed != r.records:
            sys.exit(f"{r.tool}: {r.landed} records landed, expected {r.records}")


if __name__ == "__main__":
    main()
