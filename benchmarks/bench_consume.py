"""Consume throughput and memory: `kafkactl consume` side by side with kcat and kafka-python.

Run by hand against a local broker (not in CI):

    .venv/bin/python benchmarks/bench_consume.py                   # 1M records, KAFKA_BROKERS
    .venv/bin/python benchmarks/bench_consume.py --records 200000

It loads N records of ~100 bytes into a fresh 3-partition topic with `kcat -P`, then reads the
whole topic, each tool as a subprocess in the same run:

1. `kafkactl consume -e` with the print handler to /dev/null  vs  `kcat -C -e -J` to /dev/null
2. the pipeline: `kafkactl consume -e --handler <no-op> -w 4` (commits on, retry tiers
   subscribed, dedupe on)  vs  a plain kafka-python poll loop that commits at the end: the
   cost of the guarantees.

and prints records/s, ratios and each process's peak RSS (from wait4's rusage).
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
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
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


def timed(
    cmd: list[str], env: dict[str, str], stdout: int | None = subprocess.DEVNULL
) -> tuple[float, float]:
    """(seconds, peak RSS MiB) of one subprocess."""
    started = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=stdout, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.monotonic() - started
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{cmd[0]} failed: {proc.stderr.read().decode()[-2000:]}")
    return seconds, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--brokers", default=os.environ.get("KAFKA_BROKERS", "127.0.0.1:9092"))
    args = parser.parse_args()
    kcat = shutil.which("kcat")
    if not kcat:
        sys.exit("kcat not found: apt-get update && apt-get install -y kcat")
    python = sys.executable
    kafkactl = [python, "-m", "kafkactl"]
    env = {
        **os.environ,
        "KAFKA_BROKERS": args.brokers,
        "PYTHONPATH": str(REPO),
        "KAFKA_LOG_LEVEL": "WARNING",
    }
    topic = f"bench-consume-{uuid.uuid4().hex[:8]}"
    for group in ("bench", "pipe"):
        subprocess.run(
            [*kafkactl, "create-topics", topic, "-p", "3", "-g", group],
            env=env,
            check=True,
            capture_output=True,
        )

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "records.jsonl"
        with data.open("wb") as out:
            for i in range(args.records):
                out.write(
                    b'{"id":%d,"customer":"c-%05d","amount":%d.25,"currency":"EUR","status":"paid","n":"xxxxxxxx"}\n'
                    % (i, i % 10000, i % 1000)
                )
        load_s, _ = timed([kcat, "-P", "-b", args.brokers, "-t", topic, "-l", str(data)], env)
        print(f"loaded {args.records:,} records into {topic} in {load_s:.1f}s", file=sys.stderr)

    n = args.records
    results = {}
    results["kcat -C -e -J"] = timed(
        [kcat, "-C", "-b", args.brokers, "-t", topic, "-e", "-J", "-q"], env
    )
    results["kafkactl consume -e (print)"] = timed(
        [*kafkactl, "consume", topic, "-g", "bench", "-e", "-q"], env
    )
    results["kafka-python poll loop"] = timed(
        [python, "-c", PLAIN_LOOP, args.brokers, topic, "plain"], env
    )
    results["kafkactl consume -e --handler noop -w 4"] = timed(
        [
            *kafkactl,
            "consume",
            topic,
            "-g",
            "pipe",
            "-e",
            "-q",
            "-w",
            "4",
            "--handler",
            "benchmarks.noop_handler:handle",
        ],
        env,
    )

    print(f"\n{n:,} records of ~100 bytes, 3 partitions, broker {args.brokers}\n")
    print(f"{'run':45} {'seconds':>8} {'records/s':>11} {'peak RSS':>10}")
    for name, (seconds, rss) in results.items():
        print(f"{name:45} {seconds:8.2f} {n / seconds:11,.0f} {rss:8.0f} MiB")
    rate = {name: n / s for name, (s, _) in results.items()}
    print_ratio = rate["kafkactl consume -e (print)"] / rate["kcat -C -e -J"]
    pipeline = rate["kafkactl consume -e --handler noop -w 4"]
    pipeline_ratio = pipeline / rate["kafka-python poll loop"]
    print(f"\nprint handler vs kcat:       {print_ratio:.2f}")
    print(f"pipeline vs plain poll loop: {pipeline_ratio:.2f}")


if __name__ == "__main__":
    main()
