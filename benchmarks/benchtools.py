"""Shared plumbing of the benchmarks: timing a process, finding the other tools, tables.

Not a benchmark itself; `bench_produce.py` and `bench_consume.py` import it. Every external
tool is optional: a missing one is reported as a skipped run with the reason, never a crash.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "benchmarks"
CACHE = BENCH / ".cache"
TOOLS_POM = BENCH / "kafka-tools-pom.xml"
TOOLS_LOG4J = BENCH / "tools-log4j2.properties"
BROKER_POM = REPO / "scripts" / "kafka-pom.xml"
ENGINES = ("librdkafka", "kafka-python")

# What bin/kafka-console-producer.sh and bin/kafka-console-consumer.sh run the JVM with:
# KAFKA_HEAP_OPTS=-Xmx512M from those scripts, KAFKA_JVM_PERFORMANCE_OPTS from kafka-run-class.sh.
JVM_OPTS = [
    "-Xmx512M",
    "-server",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-Djava.awt.headless=true",
]


class Skip(Exception):
    """A run that cannot happen here (a tool is missing); the message says why."""


@dataclass
class Proc:
    seconds: float
    peak_rss_mb: float
    returncode: int
    stdout: bytes
    stderr: bytes
    cpu_seconds: float = 0.0  # user + system, the process and its threads (wait4's rusage)

    def tail(self) -> str:
        return self.stderr.decode(errors="replace").strip()[-1500:]


def timed(
    argv: Sequence[str],
    env: dict[str, str],
    stdin: Path | None = None,
    capture: bool = False,
) -> Proc:
    """Run one process; wall seconds from start to exit, and its peak RSS from wait4's rusage.

    stdout goes to /dev/null unless `capture`; stderr is always kept (in a file, so a chatty
    process cannot block on a full pipe).
    """
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        open(stdin or os.devnull, "rb") as inp,
    ):
        started = time.perf_counter()
        proc = subprocess.Popen(
            list(argv),
            stdin=inp,
            stdout=out if capture else subprocess.DEVNULL,
            stderr=err,
            env=env,
            cwd=REPO,  # `python -m kafkactl` and handler imports resolve against this checkout
        )
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        # ru_maxrss is KiB on Linux
        cpu = usage.ru_utime + usage.ru_stime
        return Proc(seconds, usage.ru_maxrss / 1024, proc.returncode, out.read(), err.read(), cpu)


def find_kcat() -> str:
    kcat = shutil.which("kcat") or shutil.which("kafkacat")
    if not kcat:
        raise Skip("kcat not found (apt-get update && apt-get install -y kcat)")
    return kcat


def have_module(name: str) -> bool:
    """Whether the benchmark's Python (the venv) can import `name`, without importing it."""
    import importlib.util

    return importlib.util.find_spec(name) is not None


def require_confluent_kafka() -> None:
    if not have_module("confluent_kafka"):
        raise Skip("confluent-kafka is not installed in this Python (pip install confluent-kafka)")


def broker_kafka_version() -> str:
    """The broker's version, pinned in scripts/kafka-pom.xml; the console tools use the same."""
    match = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", BROKER_POM.read_text())
    if not match:
        raise Skip(f"no <kafka.version> in {BROKER_POM}")
    return match.group(1).strip()


_java_cache: list[str] | Skip | None = None


def kafka_java(main_class: str) -> list[str]:
    """argv prefix that runs one of Apache Kafka's tools: java, JVM options, classpath, class.

    The classpath of org.apache.kafka:kafka-tools (the broker's version) is resolved once with
    Maven into benchmarks/.cache/ and re-resolved when the pom changes or a jar disappeared.
    """
    global _java_cache
    if _java_cache is None:
        try:
            _java_cache = _resolve_java()
        except Skip as exc:
            _java_cache = exc
    if isinstance(_java_cache, Skip):
        raise _java_cache
    return [*_java_cache, main_class]


def _resolve_java() -> list[str]:
    java = shutil.which("java")
    if not java:
        raise Skip("java not found (install Java 17, e.g. apt-get install openjdk-17-jre-headless)")
    version = broker_kafka_version()
    cpfile = CACHE / f"kafka-tools-{version}.classpath"
    if not _classpath_ok(cpfile):
        mvn = shutil.which("mvn")
        if not mvn:
            raise Skip(
                "mvn not found, needed once to fetch the Kafka tools (apt-get install maven)"
            )
        CACHE.mkdir(parents=True, exist_ok=True)
        log = CACHE / "mvn.log"
        print(f"resolving org.apache.kafka:kafka-tools:{version} with Maven ...", file=sys.stderr)
        with log.open("wb") as out:
            done = subprocess.run(
                [
                    mvn,
                    "-q",
                    "-B",
                    "-f",
                    str(TOOLS_POM),
                    "dependency:build-classpath",
                    f"-Dkafka.version={version}",
                    f"-Dmdep.outputFile={cpfile}",  # absolute: mvn resolves it against the pom
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        if done.returncode != 0 or not _classpath_ok(cpfile):
            cpfile.unlink(missing_ok=True)
            raise Skip(f"Maven could not resolve kafka-tools {version}; see {log}")
    return [
        java,
        *JVM_OPTS,
        f"-Dlog4j2.configurationFile={TOOLS_LOG4J}",
        "-cp",
        cpfile.read_text().strip(),
    ]


def _classpath_ok(cpfile: Path) -> bool:
    if not cpfile.is_file() or cpfile.stat().st_mtime < TOOLS_POM.stat().st_mtime:
        return False
    entries = cpfile.read_text().strip().split(os.pathsep)
    return bool(entries[0]) and all(os.path.exists(e) for e in entries)


def engine_setting(env: dict[str, str], engine: str) -> str | None:
    """The engine setting kafkactl reports for KAFKA_ENGINE=`engine` (`kafkactl config
    --json`), or None when it has no such setting (it then ignores KAFKA_ENGINE) or could not
    tell."""
    done = subprocess.run(
        [sys.executable, "-m", "kafkactl", "config", "--json"],
        env={**env, "KAFKA_ENGINE": engine},
        capture_output=True,
        cwd=REPO,
    )
    try:
        settings = json.loads(done.stdout)["settings"]
    except (ValueError, KeyError, TypeError):
        return None
    for spec in settings.values():
        if isinstance(spec, dict) and spec.get("env") == "KAFKA_ENGINE":
            return str(spec.get("value"))
    return None


def engine_note(env: dict[str, str]) -> str:
    """One line on whether kafkactl honours KAFKA_ENGINE, so the table is not misread."""
    seen = {engine: engine_setting(env, engine) for engine in ENGINES}
    if all(value is None for value in seen.values()):
        return (
            "note: this kafkactl shows no KAFKA_ENGINE setting (`kafkactl config`), so it ignores "
            "it: 'kafkactl [librdkafka]' and 'kafkactl [kafka-python]' both ran on kafka-python"
        )
    parts = ", ".join(f"KAFKA_ENGINE={e} -> {v}" for e, v in seen.items())
    return f"engine setting as kafkactl reports it (`kafkactl config --json`): {parts}"


def run_each(
    jobs: Sequence[tuple[str, Callable[[], object]]],
) -> tuple[dict[str, object], dict[str, str], dict[str, str]]:
    """Run the jobs in order; (results, skipped: reason, failed: error) by label. A failing
    or impossible run is reported, the others still run."""
    results: dict[str, object] = {}
    skipped: dict[str, str] = {}
    failed: dict[str, str] = {}
    for label, job in jobs:
        print(f"  {label} ...", file=sys.stderr, flush=True)
        try:
            results[label] = job()
        except Skip as exc:
            skipped[label] = str(exc)
            print(f"    skipped: {exc}", file=sys.stderr, flush=True)
        except Exception as exc:
            failed[label] = f"{type(exc).__name__}: {exc}"
            print(f"    FAILED: {failed[label]}", file=sys.stderr, flush=True)
    return results, skipped, failed


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain text table; the first column left-aligned, the others right-aligned."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        cells = [
            str(c).ljust(w) if i == 0 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def ratio(a: float | None, b: float | None, digits: int = 3) -> str:
    return "-" if not a or not b else f"{a / b:.{digits}f}"
