"""`kafkactl dlq summary` over a large DLQ: time and peak RSS at two sizes (memory must stay flat).

    .venv/bin/python benchmarks/bench_dlq_summary.py                    # 100k and 1M records
    .venv/bin/python benchmarks/bench_dlq_summary.py --sizes 100000,1000000 --brokers HOST:PORT
    .venv/bin/python benchmarks/bench_dlq_summary.py --engines librdkafka --by class,key

Loads one fresh 3-partition DLQ topic per size with confluent-kafka (dead letters of all four
conventions: kafkactl 55%, Kafka Connect 15%, Spring 15%, Karafka 15%; 40 error classes;
messages carrying order numbers and uuids, so the normalised messages fold; every key distinct,
so `--by key` has a million groups and must evict). Then, each as its own process, times
`kafkactl dlq summary DLQ --json` per engine and grouping, and `kcat -C -e` reading the same
topic as the reference for the read alone. Peak RSS and CPU per record (user + system, all
threads) come from wait4's rusage (benchtools).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import benchtools as bt

CLASSES = 40


def _headers(i: int) -> list[tuple[str, bytes]]:
    style = i % 20
    cls = f"app.errors.Error{i % CLASSES}"
    message = f"order {i} failed for customer {uuid.UUID(int=i)} at step '{i % 7}'"
    if style < 11:
        return [
            ("message-id", f"id-{i}".encode()),
            ("kafkactl.original.topic", f"orders-{i % 5}".encode()),
            ("kafkactl.original.partition", b"0"),
            ("kafkactl.original.offset", str(i).encode()),
            ("kafkactl.group", b"billing"),
            ("kafkactl.attempt", str(1 + i % 4).encode()),
            ("kafkactl.error.kind", b"fatal" if i % 3 else b"retryable"),
            ("kafkactl.error.class", cls.encode()),
            ("kafkactl.error.message", message.encode()),
            ("kafkactl.replay.count", str(i % 5).encode()),
        ]
    if style < 14:
        return [
            ("__connect.errors.topic", b"payments"),
            ("__connect.errors.partition", b"1"),
            ("__connect.errors.offset", str(i).encode()),
            ("__connect.errors.exception.class.name", cls.encode()),
            ("__connect.errors.exception.message", message.encode()),
        ]
    if style < 17:
        return [
            ("kafka_dlt-original-topic", b"invoices"),
            ("kafka_dlt-original-partition", (2).to_bytes(4, "big")),
            ("kafka_dlt-original-offset", i.to_bytes(8, "big")),
            ("kafka_dlt-original-consumer-group", b"invoicing"),
            ("kafka_dlt-exception-fqcn", cls.encode()),
            ("kafka_dlt-exception-message", message.encode()),
        ]
    return [
        ("source_topic", b"shipments"),
        ("source_partition", b"0"),
        ("source_offset", str(i).encode()),
        ("source_consumer_group", b"karafka_shipping"),
        ("source_attempts", b"3"),
    ]


def load(brokers: str, topic: str, count: int) -> float:
    """Create the topic and write `count` dead letters with confluent-kafka; seconds taken."""
    bt.require_confluent_kafka()
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": brokers})
    admin.create_topics([NewTopic(topic, 3, 1)])[topic].result(30)
    started = time.perf_counter()
    producer = Producer(
        {"bootstrap.servers": brokers, "linger.ms": 50, "batch.size": 1_000_000, "acks": "all"}
    )
    value = b'{"id": 1, "amount": 12.5, "currency": "EUR"}'
    for i in range(count):
        while True:
            try:
                producer.produce(topic, value, f"key-{i}".encode(), headers=_headers(i))
                break
            except BufferError:
                producer.poll(0.1)
        if i % 10_000 == 0:
            producer.poll(0)
    if producer.flush(120) != 0:
        sys.exit("loading failed: records still in flight after 120s")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--brokers", default=os.environ.get("KAFKA_BROKERS", "127.0.0.1:9092"))
    parser.add_argument("--engines", default="librdkafka,kafka-python")
    parser.add_argument("--by", default="class,key")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    engines = args.engines.split(",")
    groupings = args.by.split(",")
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "KAFKACTL_"))}
    base_env["KAFKA_BROKERS"] = args.brokers
    rows: list[list[str]] = []
    failed = False
    for size in sizes:
        topic = f"bench-dlq-{size}-{uuid.uuid4().hex[:6]}"
        print(f"loading {size:,} dead letters into {topic} ...", file=sys.stderr, flush=True)
        print(f"  loaded in {load(args.brokers, topic, size):.1f}s", file=sys.stderr, flush=True)
        jobs = []
        for engine in engines:
            for by in groupings:
                env = {**base_env, "KAFKA_ENGINE": engine}
                argv = [sys.executable, "-m", "kafkactl", "dlq", "summary", topic, "--by", by]
                jobs.append((f"kafkactl [{engine}] --by {by}", ([*argv, "--json"], env)))
        try:
            kcat = bt.find_kcat()
            kcat_argv = [kcat, "-C", "-b", args.brokers, "-t", topic, "-e", "-q", "-o", "beginning"]
            jobs.append(("kcat -C -e (read only)", (kcat_argv, base_env)))
        except bt.Skip as exc:
            print(f"  kcat row skipped: {exc}", file=sys.stderr)
        for label, (argv, env) in jobs:
            print(f"  {label} ...", file=sys.stderr, flush=True)
            proc = bt.timed(argv, env, capture=True)
            if proc.returncode != 0:
                failed = True
                print(f"    FAILED: {proc.tail()}", file=sys.stderr)
                continue
            note = ""
            if label.startswith("kafkactl"):
                doc = json.loads(proc.stdout)
                assert doc["matched"] == size, (doc["matched"], size)
                note = f"{doc['group_count']:,} groups kept" + ("" if doc["exact"] else ", est.")
            rows.append(
                [
                    f"{size:,}",
                    label,
                    f"{proc.seconds:.1f}",
                    f"{size / proc.seconds:,.0f}",
                    f"{proc.cpu_seconds / size * 1e6:.1f}",
                    f"{proc.peak_rss_mb:.0f}",
                    note,
                ]
            )
    header = ["records", "run", "seconds", "records/s", "CPU us/record", "peak RSS MB", "note"]
    print(bt.table(header, rows))
    # On a shared machine the wall clock moves with the load; CPU per record much less.
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
