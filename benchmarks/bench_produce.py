"""Produce throughput and memory: kafkactl's engines side by side with kcat, Apache Kafka's
console producer and the bare client loops (DESIGN §15.4).

Run by hand against a local broker (not in CI):

    .venv/bin/python benchmarks/bench_produce.py                  # 1M records, KAFKA_BROKERS
    .venv/bin/python benchmarks/bench_produce.py --records 200000 --brokers 127.0.0.1:9092

It writes N JSON lines of ~100 bytes to a file, then produces that file, each tool as its own
process and each on a fresh 3-partition topic:

1. `kcat -P -l FILE`                                    values only, librdkafka defaults
2. Apache Kafka's ConsoleProducer < FILE               values only, its defaults
3. `kafkactl produce T -i FILE --key-field customer -q --json`, KAFKA_ENGINE=librdkafka
4. the same with KAFKA_ENGINE=kafka-python
5. the same on the first `--small` records, per engine (peak memory must not grow with input)
6. `kafkactl produce T -i FILE --format raw` (librdkafka): values only, against kcat
7. a bare confluent-kafka loop doing kafkactl's per-record work (orjson validation, key from
   the `customer` field, a failure-only delivery callback, no header): the Python floor
8. kafkactl (librdkafka) and the bare loop on an empty input: their start-up, netted out of
   the CPU per record
9. a bare kafka-python send loop with kafkactl's producer settings (values only)

and prints records/s (wall clock, process start to exit, so start-up and the final flush
count), the ratios to kcat and to the console producer, each process's CPU seconds (user +
system, all threads) and peak RSS (wait4's rusage), and the CPU per record of kafkactl and of
the bare loop net of start-up, with their ratio. Every topic is read back (end offsets) to
check that every record landed. A tool that is missing (kcat, java/mvn, confluent-kafka) is
skipped with a note.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import orjson

try:
    from benchmarks import benchtools as bt
except ImportError:  # run as a script: benchmarks/ itself is on sys.path
    import benchtools as bt  # type: ignore[no-redef]


@dataclass
class Run:
    tool: str
    records: int
    seconds: float
    peak_rss_mb: float
    landed: int
    cpu_seconds: float = 0.0  # user + system, every thread of the process

    @property
    def rate(self) -> float:
        return self.records / self.seconds


def children_cpu() -> float:
    """CPU seconds (user + system) of every child process reaped so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


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


def produce_run(
    tool: str,
    argv_for_topic,
    env: dict[str, str],
    brokers: str,
    count: int,
    partitions: int,
    stdin: Path | None = None,
    capture: bool = False,
    check=None,
) -> Run:
    """One tool producing the file to a fresh topic; `check(stdout)` may raise on a bad run."""
    topic = create_topic(brokers, partitions)
    cpu = children_cpu()
    proc = bt.timed(argv_for_topic(topic), env, stdin=stdin, capture=capture)
    cpu = children_cpu() - cpu
    if proc.returncode != 0:
        raise RuntimeError(f"exit {proc.returncode}: {proc.tail()}")
    if check is not None:
        check(proc.stdout)
    return Run(tool, count, proc.seconds, proc.peak_rss_mb, landed(brokers, topic), cpu)


# The library's own ceiling: a bare KafkaProducer loop with kafkactl's producer settings
# (idempotent, acks=all, same linger and batch size), values only, no parsing, no callbacks.
PLAIN_LOOP = """
import sys
from kafka import KafkaProducer
from kafkactl.config import load_settings
try:
    from kafkactl.kafka.kafka_python.config import producer_config
except ImportError:  # before the engines: kafkactl.client
    from kafkactl.client import producer_config
producer = KafkaProducer(**producer_config(load_settings()))
send, topic = producer.send, sys.argv[1]
with open(sys.argv[2], "rb") as lines:
    for line in lines:
        send(topic, line[:-1])
producer.flush()
producer.close()
"""

# The librdkafka floor for kafkactl's job: a bare confluent-kafka loop with kafkactl's producer
# config, doing kafkactl's per-record work -- validate the line as JSON with orjson, take the key
# from the `customer` field, a failure-only delivery callback (delivery.report.only.error, one
# callback for every record, served by poll() every 1,000 sends) -- and no header (produce adds
# a message-id only when asked). murmur2 partitioning, like the Java client and kafka-python.
CONFLUENT_LOOP = """
import sys
import orjson
from confluent_kafka import Producer
from kafkactl.config import load_settings
from kafkactl.kafka.librdkafka.config import producer_config
failed = 0
def on_failure(err, msg):
    global failed
    failed += 1
config = producer_config(load_settings())
producer = Producer({**config, "delivery.report.only.error": True, "on_delivery": on_failure})
loads, produce, poll = orjson.loads, producer.produce, producer.poll
topic, sent = sys.argv[1], 0
with open(sys.argv[2], "rb") as lines:
    for line in lines:
        value = line[:-1] if line.endswith(b"\\n") else line
        key = str(loads(value)["customer"]).encode()
        while True:
            try:
                produce(topic, value, key)
                break
            except BufferError:  # the local queue is full: let deliveries drain
                poll(0.05)
        sent += 1
        if not sent % 1000:
            poll(0)
left = producer.flush(120)
if left or failed:
    sys.exit(f"{left} records not delivered, {failed} failed")
print(sent)
"""


KEYED = ("--key-field", "customer")
RAW = ("--format", "raw")
START_UP = "start-up (empty input)"


def print_cpu_per_record(results: dict) -> None:
    """CPU per record net of start-up (each tool's run on an empty input taken off), and
    kafkactl's against the bare loop's: the Python floor for the same per-record work."""
    per_record = {}
    for tool in ("kafkactl [librdkafka]", "confluent-kafka loop"):
        run, idle = results.get(tool), results.get(f"{tool} {START_UP}")
        if run and idle and run.records:
            per_record[tool] = (run.cpu_seconds - idle.cpu_seconds) / run.records * 1e6
            print(
                f"{tool}: {per_record[tool]:.2f} µs CPU per record net of start-up "
                f"({idle.cpu_seconds:.2f} s CPU on an empty input)"
            )
    mine, bare = per_record.get("kafkactl [librdkafka]"), per_record.get("confluent-kafka loop")
    if mine and bare:
        print(f"kafkactl [librdkafka] / confluent-kafka loop, CPU per record: {mine / bare:.2f}x")


def summary_check(count: int):
    def check(stdout: bytes) -> None:
        summary = orjson.loads(stdout)
        if summary.get("published") != count:
            raise RuntimeError(f"kafkactl published {summary.get('published')}: {summary}")

    return check


def count_check(count: int):
    def check(stdout: bytes) -> None:
        if int(stdout.split()[-1]) != count:
            raise RuntimeError(f"sent {stdout!r}, expected {count}")

    return check


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--brokers", default=os.environ.get("KAFKA_BROKERS", "127.0.0.1:9092"))
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument(
        "--small", type=int, default=100_000, help="the flat-memory comparison (0: skip it)"
    )
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument(
        "--kafkactl-args", default="", help="extra produce flags, e.g. --linger-ms 50"
    )
    parser.add_argument(
        "--skip",
        default="",
        help="comma-separated runs to leave out: kcat, console, kafkactl, small, raw, "
        "confluent-loop, kafka-python-loop",
    )
    args = parser.parse_args()
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    brokers, partitions, n = args.brokers, args.partitions, args.records
    extra = args.kafkactl_args.split()
    base_env = {
        **os.environ,
        "KAFKA_BROKERS": brokers,
        "KAFKA_LOG_FORMAT": "json",
        "PYTHONPATH": str(bt.REPO),
    }

    def kcat_job(path: Path) -> Run:
        kcat = bt.find_kcat()
        return produce_run(
            "kcat -P",
            lambda t: [kcat, "-P", "-b", brokers, "-t", t, "-l", str(path)],
            base_env,
            brokers,
            n,
            partitions,
        )

    def console_job(path: Path) -> Run:
        java = bt.kafka_java("org.apache.kafka.tools.ConsoleProducer")
        return produce_run(
            "console producer",
            lambda t: [*java, "--bootstrap-server", brokers, "--topic", t],
            base_env,
            brokers,
            n,
            partitions,
            stdin=path,
        )

    def kafkactl_job(
        engine: str, path: Path, count: int, label: str, form: tuple[str, ...] = KEYED
    ):
        def job() -> Run:
            if engine == "librdkafka":
                bt.require_confluent_kafka()
            argv = [sys.executable, "-m", "kafkactl", "produce"]
            flags = ["-i", str(path), *form, "-q", "--json", *extra]
            return produce_run(
                label,
                lambda t: [*argv, t, *flags],
                {**base_env, "KAFKA_ENGINE": engine},
                brokers,
                count,
                partitions,
                capture=True,
                check=summary_check(count),
            )

        return job

    def loop_job(tool: str, code: str, path: Path, count: int = n):
        def job() -> Run:
            if "confluent" in tool:
                bt.require_confluent_kafka()
            return produce_run(
                tool,
                lambda t: [sys.executable, "-c", code, t, str(path)],
                base_env,
                brokers,
                count,
                partitions,
                capture=True,
                check=count_check(count) if "confluent" in tool else None,
            )

        return job

    with tempfile.TemporaryDirectory(prefix="bench-produce-") as tmp:
        big = Path(tmp) / "records.jsonl"
        small = Path(tmp) / "records-small.jsonl"
        empty = Path(tmp) / "empty.jsonl"  # start-up and shut-down alone, to net them out
        empty.write_bytes(b"")
        size = write_records(big, n)
        if args.small:
            write_records(small, args.small)
        print(
            f"{n:,} records, {size / n:.0f} bytes/record on average, "
            f"{partitions} partitions, broker {brokers}",
            flush=True,
        )
        jobs = []
        if "kcat" not in skip:
            jobs.append(("kcat -P", lambda: kcat_job(big)))
        if "console" not in skip:
            jobs.append(("console producer", lambda: console_job(big)))
        for engine in bt.ENGINES:
            if "kafkactl" not in skip:
                label = f"kafkactl [{engine}]"
                jobs.append((label, kafkactl_job(engine, big, n, label)))
            if args.small and "small" not in skip:
                label = f"kafkactl [{engine}] small"
                jobs.append((label, kafkactl_job(engine, small, args.small, label)))
        if "kafkactl" not in skip:
            label = f"kafkactl [librdkafka] {START_UP}"
            jobs.append((label, kafkactl_job("librdkafka", empty, 0, label)))
        if "raw" not in skip:
            label = "kafkactl [librdkafka] --format raw"
            jobs.append((label, kafkactl_job("librdkafka", big, n, label, RAW)))
        if "confluent-loop" not in skip:
            jobs.append(
                ("confluent-kafka loop", loop_job("confluent-kafka loop", CONFLUENT_LOOP, big))
            )
            label = f"confluent-kafka loop {START_UP}"
            jobs.append((label, loop_job(label, CONFLUENT_LOOP, empty, 0)))
        if "kafka-python-loop" not in skip:
            jobs.append(("kafka-python loop", loop_job("kafka-python loop", PLAIN_LOOP, big)))
        results, skipped, failed = bt.run_each(jobs)
        note = bt.engine_note(base_env) if "kafkactl" not in skip else ""

    runs: list[Run] = list(results.values())  # type: ignore[arg-type]
    rate = {r.tool: r.rate for r in runs}
    kcat_rate, console_rate = rate.get("kcat -P"), rate.get("console producer")
    rows = [
        [
            r.tool,
            f"{r.records:,}",
            f"{r.seconds:.2f}",
            f"{r.rate:,.0f}",
            bt.ratio(r.rate, kcat_rate),
            bt.ratio(r.rate, console_rate),
            f"{r.cpu_seconds:.2f}",
            f"{r.peak_rss_mb:.1f} MiB",
            f"{r.landed:,}",
        ]
        for r in runs
    ]
    header = [
        "tool",
        "records",
        "seconds",
        "records/s",
        "/kcat",
        "/console",
        "CPU s",
        "peak RSS",
        "landed",
    ]
    print()
    print(bt.table(header, rows) if rows else "(no runs)")
    print()
    for engine, bare in (
        ("librdkafka", "confluent-kafka loop"),
        ("kafka-python", "kafka-python loop"),
    ):
        mine = rate.get(f"kafkactl [{engine}]")
        if mine and rate.get(bare):
            print(f"kafkactl [{engine}] / {bare}: {bt.ratio(mine, rate[bare], 2)}")
    for engine in bt.ENGINES:
        big_run = results.get(f"kafkactl [{engine}]")
        small_run = results.get(f"kafkactl [{engine}] small")
        if big_run and small_run:
            print(
                f"kafkactl [{engine}] peak RSS: {small_run.peak_rss_mb:.1f} MiB at "
                f"{small_run.records:,} records, {big_run.peak_rss_mb:.1f} MiB at "
                f"{big_run.records:,} (x{big_run.peak_rss_mb / small_run.peak_rss_mb:.2f} for "
                f"x{big_run.records / small_run.records:.0f} the input)"
            )
    print_cpu_per_record(results)
    if note:
        print(note)
    print(
        "kcat, the console producer and --format raw send values only; kafkactl and the "
        "confluent-kafka loop also validate each line as JSON and key it (no header)"
    )
    for label, why in skipped.items():
        print(f"skipped {label}: {why}")
    for label, why in failed.items():
        print(f"FAILED {label}: {why}")
    lost = [r for r in runs if r.landed != r.records]
    for r in lost:
        print(f"{r.tool}: {r.landed:,} records landed, expected {r.records:,}")
    if failed or lost:
        sys.exit(1)


if __name__ == "__main__":
    main()
