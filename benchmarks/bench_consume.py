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
3. `kafkactl consume T -e` (reader mode, envelopes) to /dev/null, per engine, against a bare
   confluent-kafka `consume(n, 0)` loop printing the same envelopes with orjson in batched
   writes (the Python floor: CPU per record is compared with it); and the print handler in a
   group, `kafkactl consume T -g G -e`
4. the pipeline, `kafkactl consume T -e --handler benchmarks.noop_handler:handle -w 4` (commits
   on, retry tiers subscribed, memory dedupe, key ordering), per engine, against a bare poll
   loop of the same client that commits once at the end: the cost of the guarantees.

and prints records/s, CPU per record (user + system, wait4's rusage), the ratios read/kcat,
read/console consumer, read/bare loop (CPU per record), print/kcat and pipeline/bare loop, and
each process's peak RSS. A tool that is missing (kcat, java/mvn,
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

# What both confluent-kafka loops do with each message first: note a partition's end, raise on
# an error.
EOF_OR_RAISE = """\
        err = m.error()
        if err is not None:
            if err.code() == EOF:
                at_end.add(m.partition())
                continue
            raise KafkaException(err)
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
{EOF_OR_RAISE}        ts_type, ts = m.timestamp()
        fields = (m.topic(), m.partition(), m.offset(), m.key(), m.value(),
                  m.headers() or [], ts, ts_type)
        seen += 1
c.commit(asynchronous=False)
c.close()
print(seen)
""".replace("{EOF_OR_RAISE}", EOF_OR_RAISE)

# The Python floor of reading with envelopes (what `kafkactl consume T -e` does): assign every
# partition from the beginning, consume(n, 0) first and only then a waiting call, print each
# record as kafkactl's envelope with orjson, one write per batch; stop at every partition's
# end. Prints the count on stderr (stdout carries the envelopes).
BARE_PRINT_LOOP = """
import sys
import orjson
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition
brokers, topic = sys.argv[1:3]
c = Consumer({"bootstrap.servers": brokers, "group.id": "bare-print", "enable.auto.commit": False,
              "enable.partition.eof": True})
parts = list(c.list_topics(topic, timeout=10).topics[topic].partitions)
c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
EOF = KafkaError._PARTITION_EOF
dumps, NL = orjson.dumps, orjson.OPT_APPEND_NEWLINE
out = open(sys.stdout.fileno(), "wb", buffering=64 * 1024, closefd=False)
at_end, seen = set(), 0
while len(at_end) < len(parts):
    msgs = c.consume(500, 0) or c.consume(500, 0.2)
    lines = []
    for m in msgs:
{EOF_OR_RAISE}        ts_type, ts = m.timestamp()
        flat = []
        for k, v in m.headers() or ():
            flat.append(k)
            flat.append(None if v is None else v.decode())
        key, value = m.key(), m.value()
        lines.append(dumps({"topic": m.topic(), "partition": m.partition(), "offset": m.offset(),
                            "tstype": "logappend" if ts_type == 2 else "create", "ts": ts,
                            "headers": flat, "key": None if key is None else key.decode(),
                            "payload": None if value is None else value.decode()}, option=NL))
    out.write(b"".join(lines))
    seen += len(lines)
out.flush()
c.close()
print(seen, file=sys.stderr)
""".replace("{EOF_OR_RAISE}", EOF_OR_RAISE)
BARE_PRINT = "bare consume(n, 0) loop printing envelopes"
EMPTY = "(empty topic)"

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
        help="comma-separated runs to leave out: kcat, console, read, print, pipeline, loops, "
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
    # An empty topic: what the reading rows cost before their first record (start-up, the
    # end-of-partition wait), taken off to get the CPU each record costs.
    empty = f"{topic}-empty"
    subprocess.run(
        [*kafkactl, "create-topics", empty, "-p", "3", "--no-retry"],
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

    def run(argv: list[str], run_env: dict[str, str], count_from=None, expected=n, stdout=True):
        """Time one reader; `count_from(proc)` returns how many records it saw, if it says
        (on stdout, captured, or on stderr: `stdout` False sends stdout to /dev/null)."""
        proc = bt.timed(argv, run_env, capture=count_from is not None and stdout)
        if proc.returncode != 0:
            raise RuntimeError(f"exit {proc.returncode}: {proc.tail()}")
        if count_from is not None and (seen := count_from(proc)) != expected:
            raise RuntimeError(f"read {seen} records, expected {expected}")
        return proc

    def stdout_count(proc: bt.Proc) -> int:
        return int(proc.stdout.split()[-1])

    def stderr_count(proc: bt.Proc) -> int:
        return int(proc.stderr.split()[-1])

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

    def read_job(engine: str, name: str = topic):
        def job():
            if engine == "librdkafka":
                bt.require_confluent_kafka()
            argv = [*kafkactl, "consume", name, "-e", "-q"]
            return run(argv, {**env, "KAFKA_ENGINE": engine})

        return job

    def bare_print_job(name: str = topic):
        def job():
            bt.require_confluent_kafka()
            argv = [python, "-c", BARE_PRINT_LOOP, brokers, name]
            return run(argv, env, stderr_count, n if name == topic else 0, stdout=False)

        return job

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
    if "read" not in skip and "librdkafka" in engines:
        jobs.append((BARE_PRINT, bare_print_job()))
        jobs.append((f"{BARE_PRINT} {EMPTY}", bare_print_job(empty)))
    for e in engines:
        if "read" not in skip:
            jobs.append((f"kafkactl [{e}] consume -e (read)", read_job(e)))
            jobs.append((f"kafkactl [{e}] consume -e (read) {EMPTY}", read_job(e, empty)))
        if "print" not in skip:
            jobs.append((f"kafkactl [{e}] consume -g -e (print)", kafkactl_job(e, "print")))
        if "loops" not in skip:
            jobs.append((LOOPS[e][0], loop_job(e)))
        if "pipeline" not in skip:
            jobs.append((f"kafkactl [{e}] consume -e {pipeline}", kafkactl_job(e, "pipe")))
    results, skipped, failed = bt.run_each(jobs)
    note = bt.engine_note(env) if any(k not in skip for k in ("read", "print", "pipeline")) else ""

    rate = {label: n / proc.seconds for label, proc in results.items()}
    print(f"\n{n:,} records of ~100 bytes, 3 partitions, broker {brokers}\n")
    cpu_us = {label: proc.cpu_seconds / n * 1e6 for label, proc in results.items()}
    # CPU per record past start-up: the run's CPU less the same run's on the empty topic
    marginal = {
        label: (proc.cpu_seconds - results[f"{label} {EMPTY}"].cpu_seconds) / n * 1e6
        for label, proc in results.items()
        if f"{label} {EMPTY}" in results
    }
    rows = [
        [
            label,
            f"{proc.seconds:.2f}",
            "-" if EMPTY in label else f"{rate[label]:,.0f}",
            f"{proc.cpu_seconds:.2f} s" if EMPTY in label else f"{cpu_us[label]:.2f}",
            f"{proc.peak_rss_mb:.0f} MiB",
        ]
        for label, proc in results.items()
    ]
    header = ["run", "seconds", "records/s", "CPU us/record (empty: CPU)", "peak RSS"]
    print(bt.table(header, rows) if rows else "(no runs)")
    print()
    kcat_rate, console_rate = rate.get("kcat -C -e -J"), rate.get("console consumer")
    if console_rate and kcat_rate:
        print(f"console consumer / kcat:          {bt.ratio(console_rate, kcat_rate, 2)}")
    for e in engines:
        read = f"kafkactl [{e}] consume -e (read)"
        if read in rate:
            print(
                f"[{e}] read / kcat: {bt.ratio(rate[read], kcat_rate, 2)}, "
                f"read / console consumer: {bt.ratio(rate[read], console_rate, 2)}, "
                "CPU per record read / bare loop: "
                + bt.ratio(cpu_us[read], cpu_us.get(BARE_PRINT), 2)
                + ", past start-up: "
                + bt.ratio(marginal.get(read), marginal.get(BARE_PRINT), 2)
                + f" ({marginal.get(read, 0):.2f} / {marginal.get(BARE_PRINT, 0):.2f} us)"
            )
        printed = rate.get(f"kafkactl [{e}] consume -g -e (print)")
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
