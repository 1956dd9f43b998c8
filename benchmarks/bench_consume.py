"""Consume throughput and memory: kafkactl's engines side by side with kcat, Apache Kafka's
console consumer and the bare client loops (DESIGN §15.4).

Run by hand against a local broker (not in CI):

    .venv/bin/python benchmarks/bench_consume.py                   # 1M records, KAFKA_BROKERS
    .venv/bin/python benchmarks/bench_consume.py --records 200000

It loads N records of ~100 bytes into a fresh 3-partition topic with `kcat -P` (and creates
each kafkactl group's retry tiers and DLQ with `kafkactl create-topics -g`), then reads the
whole topic, each tool as its own process in the same run:

1. `kcat -C -e -J` to /dev/null
2. Apache Kafka's ConsoleConsumer --from-beginning --max-messages N to /dev/null
3. `kafkactl consume T -e` (print handler) to /dev/null, KAFKA_ENGINE=librdkafka / kafka-python
4. the pipeline, `kafkactl consume T -e --handler benchmarks.noop_handler:handle -w 4` (commits
   on, retry tiers subscribed, memory dedupe, key ordering), per engine, against a bare poll
   loop of the same client that commits once at the end: the cost of the guarantees.

and prints records/s, the ratios print/kcat, print/console consumer and pipeline/bare loop,
and each process's peak RSS (wait4's rusage). A tool that is missing (kcat, java/mvn,
confluent-kafka) is skipped with a note.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

try:
    from benchmarks import benchtools as bt
except ImportError:  # run as a script: benchmarks/ itself is on sys.path
    import benchtools as bt  # type: ignore[no-redef]

# kafka-python: poll until every assigned partition's position reached its end offset.
PLAIN_LOOP = """
import sys
from kafka import KafkaConsumer, TopicPartition
brokers, topic, group = sys.argv[1:4]
c = KafkaConsumer(bootstrap_servers=brokers.split(","), group_id=group,
                  enable_auto_commit=False, auto_offset_reset="earliest")
c.subscribe([topic])
ends = None
seen = 0
while True:
    for batch in c.poll(timeout_ms=200).values():
        seen += len(batch)
    if ends is None and c.assignment():
        ends = c.end_offsets(list(c.assignment()))
    if ends and all(c.position(tp) >= end for tp, end in ends.items()):
        break
c.commit()
c.close()
print(seen)
"""

# confluent-kafka: consume() in batches and build each record's fields (what kafka-python's
# ConsumerRecord holds and kafkactl's Message is made from) until every assigned partition
# reported end-of-partition; commit once at the end.
CONFLUENT_LOOP = """
import sys
from confluent_kafka import Consumer, KafkaError, KafkaException
brokers, topic, group = sys.argv[1:4]
c = Consumer({"bootstrap.servers": brokers, "group.id": group, "enable.auto.commit": False,
              "auto.offset.reset": "earliest", "enable.partition.eof": True})
assigned, at_end = set(), set()
c.subscribe([topic], on_assign=lambda _c, ps: assigned.update(p.partition for p in ps))
EOF = KafkaError._PARTITION_EOF
seen = 0
while not assigned or not assigned <= at_end:
    for m in c.consume(1000, 0.2):
        err = m.error()
        if err is not None:
            if err.code() == EOF:
                at_end.add(m.partition())
                continue
            raise KafkaException(err)
        ts_type, ts = m.timestamp()
        fields = (m.topic(), m.partition(), m.offset(), m.key(), m.value(),
                  m.headers() or [], ts, ts_type)
        seen += 1
c.commit(asynchronous=False)
c.close()
print(seen)
"""

LOOPS = {
    "librdkafka": ("confluent-kafka loop", CONFLUENT_LOOP),
    "kafka-python": ("kafka-python loop", PLAIN_LOOP),
}


def write_records(path: Path, count: int) -> None:
    with path.open("wb", buffering=4 * 1024 * 1024) as out:
        for i in range(count):
            out.write(
                b'{"id":%d,"customer":"c-%05d","amount":%d.25,"currency":"EUR",'
                b'"status":"paid","n":"xxxxxxxx"}\n' % (i, i % 10000, i % 1000)
            )


def load(brokers: str, topic: str, path: Path, env: dict[str, str]) -> str:
    """Write the file to the topic with kcat -P, or, without kcat, a kafka-python loop."""
    try:
        kcat = bt.find_kcat()
        argv = [kcat, "-P", "-b", brokers, "-t", topic, "-l", str(path)]
        how = "kcat -P"
    except bt.Skip as exc:
        print(f"{exc}; loading with kafka-python instead", file=sys.stderr)
        code = (
            "import sys\nfrom kafka import KafkaProducer\n"
            "p = KafkaProducer(bootstrap_servers=sys.argv[1].split(','), linger_ms=20)\n"
            "for line in open(sys.argv[3], 'rb'):\n    p.send(sys.argv[2], line[:-1])\n"
            "p.flush()\np.close()\n"
        )
        argv = [sys.executable, "-c", code, brokers, topic, str(path)]
        how = "kafka-python"
    proc = bt.timed(argv, env)
    if proc.returncode != 0:
        sys.exit(f"loading failed: {proc.tail()}")
    return f"{how} in {proc.seconds:.1f}s"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--brokers", default=os.environ.get("KAFKA_BROKERS", "127.0.0.1:9092"))
    parser.add_argument("--workers", type=int, default=4, help="pipeline worker threads")
    parser.add_argument(
        "--skip",
        default="",
        help="comma-separated runs to leave out: kcat, console, print, pipeline, loops, "
        "librdkafka, kafka-python (the last two: every run of that engine)",
    )
    args = parser.parse_args()
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    engines = [e for e in bt.ENGINES if e not in skip]
    brokers, n = args.brokers, args.records
    python = sys.executable
    kafkactl = [python, "-m", "kafkactl"]
    env = {
        **os.environ,
        "KAFKA_BROKERS": brokers,
        "PYTHONPATH": str(bt.REPO),
        "KAFKA_LOG_LEVEL": "WARNING",
    }
    topic = f"bench-consume-{uuid.uuid4().hex[:8]}"
    # One group per kafkactl run (each reads the topic from the start), each with its tiers.
    groups = [f"{kind}-{e}" for e in engines for kind in ("print", "pipe") if kind not in skip]
    for group in groups or ["bench"]:
        subprocess.run(
            [*kafkactl, "create-topics", topic, "-p", "3", "-g", group]
            + ([] if groups else ["--no-retry"]),
            env=env,
            check=True,
            capture_output=True,
            cwd=bt.REPO,
        )
    with tempfile.TemporaryDirectory(prefix="bench-consume-") as tmp:
        data = Path(tmp) / "records.jsonl"
        write_records(data, n)
        how = load(brokers, topic, data, env)
    print(f"loaded {n:,} records into {topic} with {how}", file=sys.stderr, flush=True)

    def run(argv: list[str], run_env: dict[str, str], count_from=None):
        """Time one reader; `count_from(proc)` returns how many records it saw, if it says."""
        proc = bt.timed(argv, run_env, capture=count_from is not None)
        if proc.returncode != 0:
            raise RuntimeError(f"exit {proc.returncode}: {proc.tail()}")
        if count_from is not None and (seen := count_from(proc)) != n:
            raise RuntimeError(f"read {seen} records, expected {n}")
        return proc

    def stdout_count(proc: bt.Proc) -> int:
        return int(proc.stdout.split()[-1])

    def console_count(proc: bt.Proc) -> int | None:
        found = re.search(rb"Processed a total of (\d+) messages", proc.stderr)
        return int(found.group(1)) if found else None

    def kcat_job():
        kcat = bt.find_kcat()
        return run([kcat, "-C", "-b", brokers, "-t", topic, "-e", "-J", "-q"], env)

    def console_job():
        java = bt.kafka_java("org.apache.kafka.tools.consumer.ConsoleConsumer")
        argv = [*java, "--bootstrap-server", brokers, "--topic", topic, "--from-beginning"]
        # --max-messages N ends it (it has no exit-at-end); --timeout-ms only guards a hang.
        argv += ["--max-messages", str(n), "--timeout-ms", "60000"]
        return run(argv, env, console_count)

    def kafkactl_job(engine: str, kind: str):
        def job():
            if engine == "librdkafka":
                bt.require_confluent_kafka()
            argv = [*kafkactl, "consume", topic, "-g", f"{kind}-{engine}", "-e", "-q"]
            if kind == "pipe":
                argv += ["-w", str(args.workers), "--handler", "benchmarks.noop_handler:handle"]
            return run(argv, {**env, "KAFKA_ENGINE": engine})

        return job

    def loop_job(engine: str):
        def job():
            if engine == "librdkafka":
                bt.require_confluent_kafka()
            code = LOOPS[engine][1]
            return run([python, "-c", code, brokers, topic, f"loop-{engine}"], env, stdout_count)

        return job

    pipeline = f"--handler noop -w {args.workers}"
    jobs = []
    if "kcat" not in skip:
        jobs.append(("kcat -C -e -J", kcat_job))
    if "console" not in skip:
        jobs.append(("console consumer", console_job))
    for e in engines:
        if "print" not in skip:
            jobs.append((f"kafkactl [{e}] consume -e (print)", kafkactl_job(e, "print")))
        if "loops" not in skip:
            jobs.append((LOOPS[e][0], loop_job(e)))
        if "pipeline" not in skip:
            jobs.append((f"kafkactl [{e}] consume -e {pipeline}", kafkactl_job(e, "pipe")))
    results, skipped, failed = bt.run_each(jobs)
    note = bt.engine_note(env) if any(k not in skip for k in ("print", "pipeline")) else ""

    rate = {label: n / proc.seconds for label, proc in results.items()}
    print(f"\n{n:,} records of ~100 bytes, 3 partitions, broker {brokers}\n")
    rows = [
        [label, f"{proc.seconds:.2f}", f"{rate[label]:,.0f}", f"{proc.peak_rss_mb:.0f} MiB"]
        for label, proc in results.items()
    ]
    print(bt.table(["run", "seconds", "records/s", "peak RSS"], rows) if rows else "(no runs)")
    print()
    kcat_rate, console_rate = rate.get("kcat -C -e -J"), rate.get("console consumer")
    if console_rate and kcat_rate:
        print(f"console consumer / kcat:          {bt.ratio(console_rate, kcat_rate, 2)}")
    for e in engines:
        printed = rate.get(f"kafkactl [{e}] consume -e (print)")
        piped = rate.get(f"kafkactl [{e}] consume -e {pipeline}")
        loop_label = LOOPS[e][0]
        if printed:
            print(
                f"[{e}] print / kcat: {bt.ratio(printed, kcat_rate, 2)}, "
                f"print / console consumer: {bt.ratio(printed, console_rate, 2)}"
            )
        if piped:
            print(f"[{e}] pipeline / {loop_label}: {bt.ratio(piped, rate.get(loop_label), 2)}")
    if note:
        print(note)
    print(
        "kcat -J prints key, payload, partition, offset and timestamp per record; the console "
        "consumer prints the value only; the bare loops print nothing"
    )
    for label, why in skipped.items():
        print(f"skipped {label}: {why}")
    for label, why in failed.items():
        print(f"FAILED {label}: {why}")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
