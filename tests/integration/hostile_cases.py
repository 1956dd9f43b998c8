# ruff: noqa: E501  (the case table keeps one case per line)
"""Helpers and the usage-error table of tests/integration/test_hostile_input.py (issue 10).

Every kafkactl run goes through `run()`: its own session (process group), a hard timeout, and
on expiry SIGKILL to the whole group, so a hang is a test failure, never a stuck CI job.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from tests.integration.kafka_helpers import track

KAFKACTL = [sys.executable, "-m", "kafkactl"]
KAFKACTL_SH = f"{shlex.quote(sys.executable)} -m kafkactl"  # for bash -c scripts


# --- running ---------------------------------------------------------------------------------


@dataclass
class Ran:
    """What a run did: exit code, output, and how long it took (seconds)."""

    what: str
    returncode: int
    stdout: bytes
    stderr: bytes
    seconds: float

    @property
    def err(self) -> str:
        return self.stderr.decode("utf-8", "replace")

    @property
    def out(self) -> str:
        return self.stdout.decode("utf-8", "replace")

    def __str__(self) -> str:
        return (
            f"{self.what}\n  exit {self.returncode} after {self.seconds:.1f}s\n"
            f"  stderr: {self.err[-3000:]!s}\n  stdout: {self.out[-1000:]!s}"
        )


def show(argv: Sequence[str | bytes]) -> str:
    return " ".join(
        shlex.quote(os.fsdecode(a)) if isinstance(a, bytes) else shlex.quote(a) for a in argv
    )


def start(
    argv: Sequence[str | bytes], env: dict, *, stdin: int | None = subprocess.PIPE, cwd=None
) -> subprocess.Popen:
    """Start a process in its own session (so the whole group can be killed)."""
    proc = subprocess.Popen(
        list(argv),
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=cwd,
        start_new_session=True,
    )
    return track(proc)


def kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def finish(proc: subprocess.Popen, what: str, t0: float, timeout: float, input=None) -> Ran:
    """Wait for `proc` at most `timeout` s; on expiry kill its group and fail the test."""
    try:
        out, err = proc.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        try:
            out, err = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            out, err = b"", b"(output not collected)"
        raise AssertionError(
            f"HUNG: {what} did not end within {timeout:.0f}s (process group killed)\n"
            f"  stderr tail: {err.decode('utf-8', 'replace')[-2000:]}"
        ) from None
    return Ran(what, proc.returncode, out, err, time.monotonic() - t0)


def run(
    argv: Sequence[str | bytes],
    env: dict,
    *,
    input: bytes | None = b"",
    timeout: float = 30.0,
    cwd=None,
) -> Ran:
    """Run argv to its end under a hard timeout; `input=None` gives /dev/null as stdin."""
    t0 = time.monotonic()
    proc = start(argv, env, stdin=subprocess.DEVNULL if input is None else subprocess.PIPE, cwd=cwd)
    return finish(proc, show(argv), t0, timeout, input)


def kafkactl(*args: str | bytes, env: dict, **kw) -> Ran:
    return run([*KAFKACTL, *args], env, **kw)


def shell(script: str, env: dict, **kw) -> Ran:
    """bash -c SCRIPT, where KCTL stands for the kafkactl command (redirections like <&-)."""
    return run(["bash", "-c", script.replace("KCTL", KAFKACTL_SH)], env, input=None, **kw)


# --- reading stderr --------------------------------------------------------------------------


def error_lines(err: str) -> list[str]:
    """The error lines of stderr: `error: ...`, JSON log lines at ERROR/CRITICAL, a Click
    error box (counted as one line)."""
    found: list[str] = []
    box: list[str] | None = None
    for raw in err.splitlines():
        line = raw.strip()
        if box is not None:
            if line.startswith("╰"):
                found.append(" ".join(box))
                box = None
            else:
                box.append(line.strip("│ "))
            continue
        if line.startswith("╭") and "Error" in line:
            box = []
            continue
        if line.startswith("{"):
            try:
                doc = json.loads(line)
            except ValueError:
                doc = None
            if isinstance(doc, dict):
                if str(doc.get("level", "")).upper() in ("ERROR", "CRITICAL"):
                    found.append(str(doc.get("msg", line)))
                continue
        if line.lower().startswith("error:") or line.lower().startswith("error "):
            found.append(line)
    if box:
        found.append(" ".join(box))
    return found


def assert_clean(ran: Ran) -> None:
    """No traceback, no "unexpected ... please report"."""
    assert "Traceback (most recent call last)" not in ran.err, f"a traceback on stderr:\n{ran}"
    for word in ("unexpected", "please report"):
        assert word not in ran.err.lower(), f"{word!r} on stderr:\n{ran}"


Keyword = str | tuple[str, ...]  # a tuple: any one of these


def has(text: str, keyword: Keyword) -> bool:
    options = (keyword,) if isinstance(keyword, str) else keyword
    return any(k.lower() in text.lower() for k in options)


def assert_one_error(ran: Ran, keywords: Sequence[Keyword] = ()) -> str:
    """Exactly one error line, clean, holding every keyword; returns the line."""
    assert_clean(ran)
    lines = error_lines(ran.err)
    assert len(lines) == 1, f"expected one error line, got {len(lines)}: {lines}\n{ran}"
    for keyword in keywords:
        assert has(lines[0], keyword), f"error line lacks {keyword!r}: {lines[0]!r}\n{ran}"
    return lines[0]


# --- the independent reader ------------------------------------------------------------------


def kcat_path() -> str:
    path = shutil.which("kcat")
    assert path, (
        "kcat is not on PATH: the hostile-input tests use it as the independent reader "
        "(apt-get install kcat; .ci/run installs it)"
    )
    return path


@dataclass
class KRecord:
    partition: int
    offset: int
    size: int
    key: bytes
    headers: str
    value: bytes


def kcat_read(
    brokers: str, topic: str, *, values: bool = True, timeout: float = 60
) -> list[KRecord]:
    """Every record of `topic` read by kcat (-e: to the end)."""
    fmt = "%p\\x1f%o\\x1f%S\\x1f%k\\x1f%h\\x1f" + ("%s" if values else "") + "\\x1e"
    argv = [kcat_path(), "-C", "-b", brokers, "-t", topic, "-e", "-q", "-f", fmt]
    ran = run(argv, dict(os.environ), input=None, timeout=timeout)
    assert ran.returncode == 0, f"kcat could not read {topic}: {ran}"
    records = []
    for chunk in ran.stdout.split(b"\x1e"):
        if not chunk:
            continue
        p, o, s, k, h, v = chunk.split(b"\x1f", 5)
        records.append(KRecord(int(p), int(o), int(s), k, h.decode("utf-8", "replace"), v))
    return records


def kcat_count(brokers: str, topic: str) -> int:
    return len(kcat_read(brokers, topic, values=False))


def kcat_produce(brokers: str, topic: str, value: bytes, *extra: str) -> None:
    argv = [
        kcat_path(), "-P", "-b", brokers, "-t", topic, "-X", "message.max.bytes=4000000",
        "-D", "\x1e", *extra,
    ]  # fmt: skip
    ran = run(argv, dict(os.environ), input=value, timeout=60)
    assert ran.returncode == 0, f"kcat could not write to {topic}: {ran}"


# --- the table of usage errors (engine-independent, fail before connecting) ------------------


@dataclass(frozen=True)
class Case:
    """One bad input. argv: kafkactl arguments, or a bash script (shell=True, KCTL = kafkactl).

    Placeholders in str items: {T} an existing 1-partition topic, {G} a group whose DLQ exists,
    {B} the brokers, {NEW} a topic name nobody created. keywords: every one must be in the error
    line (a tuple: any of them); code 0 cases need no error line at all.
    """

    id: str
    argv: tuple[str | bytes, ...] | str
    code: int | tuple[int, ...] = 2
    keywords: tuple[Keyword, ...] = ()
    env: dict[str, str | bytes] = field(default_factory=dict)
    stdin: bytes | None = b'{"a": 1}\n'
    forbid: tuple[str, ...] = ()


TOPIC_WORDS = ("topic name",)
GROUP_WORDS = ("group name",)
UTF8 = "UTF-8"
BAD_NAMES = {"slash-star": "bad/name*", "250-chars": "x" * 250, "dotdot": "..", "empty": ""}
BAD_NUMBERS = {"nan": "nan", "inf": "inf", "negative": "-1s", "overflow": "1e400s"}


def _name_cases() -> list[Case]:
    cases: list[Case] = []
    for nid, name in BAD_NAMES.items():
        for cmd, argv in (
            ("produce", ("produce", name)),
            ("consume", ("consume", name, "-g", "{G}", "-e")),
            ("create-topics", ("create-topics", name, "--no-retry")),
            ("replay-dlq", ("replay-dlq", name, "-g", "{G}", "--dry-run")),
            ("health", ("health", "-t", name)),
        ):
            cases.append(Case(f"topic-{nid}-{cmd}", argv, 2, TOPIC_WORDS))
        for cmd, argv in (
            ("consume", ("consume", "{T}", "-g", name, "-e")),
            ("create-topics", ("create-topics", "{NEW}", "-g", name)),
            ("replay-dlq", ("replay-dlq", "{T}", "-g", name, "--dry-run")),
            ("health", ("health", "-t", "{T}", "-g", name)),
        ):
            cases.append(Case(f"group-{nid}-{cmd}", argv, 2, GROUP_WORDS))
    return cases


def _utf8_cases() -> list[Case]:
    ff = b"t-\xff"
    dry = ("replay-dlq", "{T}", "-g", "{G}", "--dry-run")
    flag_cases = [
        ("positional-produce", ("produce", ff), ()),
        ("positional-consume", ("consume", ff, "-g", "{G}", "-e"), ()),
        ("positional-create-topics", ("create-topics", ff, "--no-retry"), ()),
        ("positional-replay-dlq", ("replay-dlq", ff, "-g", "{G}", "--dry-run"), ()),
        ("health-topic", ("health", "-t", ff), ()),
        ("produce-key", ("produce", "{T}", "--key", b"\xff"), ("--key",)),
        ("produce-header-value", ("produce", "{T}", "-H", b"k=\xff"), (("-H", "--header"),)),
        ("produce-header-name", ("produce", "{T}", "-H", b"\xff=v"), (("-H", "--header"),)),
        ("produce-key-field", ("produce", "{T}", "--key-field", b"\xff"), ("--key-field",)),
        (
            "produce-key-delimiter",
            ("produce", "{T}", "-f", "raw", "-K", b"\xff"),
            (("-K", "--key-delimiter"),),
        ),
        (
            "produce-message-id-field",
            ("produce", "{T}", "--message-id-field", b"\xff"),
            ("--message-id-field",),
        ),
        ("consume-group", ("consume", "{T}", "-g", b"g\xff", "-e"), ()),
        (
            "consume-handler",
            ("consume", "{T}", "-g", "{G}", "-e", "--handler", b"m\xff:f"),
            ("--handler",),
        ),
        ("replay-error-contains", (*dry, "--error-contains", b"\xff"), ("--error-contains",)),
        ("replay-error-class", (*dry, "--error-class", b"\xff"), ("--error-class",)),
        ("replay-key", (*dry, "--key", b"\xff"), (("-k", "--key"),)),
        (
            "create-topics-config",
            ("create-topics", "{NEW}", "--no-retry", "-c", b"retention.ms=\xff"),
            (("-c", "--config"),),
        ),
        (
            "brokers-flag",
            ("--brokers", b"127.0.0.1:29092\xff", "health"),
            (("--brokers", "KAFKA_BROKERS"),),
        ),
    ]
    cases = [
        Case(
            f"utf8-{cid}",
            argv,
            2,
            (UTF8, *words),
            forbid=("--key-delimiter",) if "header" in cid else (),
        )
        for cid, argv, words in flag_cases
    ]
    for setting, argv in (
        ("KAFKA_CONSUMER_GROUP_ID", ("consume", "{T}", "-e")),
        ("KAFKA_CLIENT_ID", ("produce", "{T}")),
        ("KAFKA_BROKERS", ("health",)),
        ("KAFKA_RETRY_TOPIC_TEMPLATE", ("consume", "{T}", "-g", "{G}", "-e")),
    ):
        value = b"127.0.0.1:29092\xff" if setting == "KAFKA_BROKERS" else b"v\xff{topic}"
        cases.append(Case(f"utf8-env-{setting}", argv, 2, (setting,), env={setting: value}))
    return cases


def _number_cases() -> list[Case]:
    cases = []
    for value, flag in (
        ("99999999999", "-p"),
        ("2147483648", "-p"),
        ("0", "-p"),
        ("40000", "-r"),
        ("32768", "-r"),
        ("0", "-r"),
    ):
        long = "--partitions" if flag == "-p" else "--replication-factor"
        cases.append(
            Case(
                f"create-topics{flag}-{value}",
                ("create-topics", "{NEW}", "--no-retry", flag, value),
                2,
                ((flag, long),),
            )
        )
    for value in ("nan", "inf", "0", "-1", "1e400"):
        cases.append(
            Case(
                f"replay-rate-{value}",
                ("replay-dlq", "{T}", "-g", "{G}", "--dry-run", f"--rate={value}"),
                2,
                ("--rate",),
            )
        )
    consume = ("consume", "{NEW}", "-g", "{G}", "-e")
    for vid, value in BAD_NUMBERS.items():
        for fid, argv, flag in (
            ("connect-timeout", (f"--connect-timeout={value}", "health"), "--connect-timeout"),
            ("shutdown-timeout", (*consume, f"--shutdown-timeout={value}"), "--shutdown-timeout"),
            (
                "exec-timeout",
                (*consume, "--exec", "true", f"--exec-timeout={value}"),
                "--exec-timeout",
            ),
            ("metrics-interval", (*consume, f"--metrics-interval={value}"), "--metrics-interval"),
            ("health-timeout", ("health", f"--timeout={value}"), "--timeout"),
            ("health-interval", ("health", "--watch", f"--interval={value}"), "--interval"),
        ):
            cases.append(Case(f"duration-{fid}-{vid}", argv, 2, (flag,)))
    cases += [
        Case("retry-delays-nan", (*consume, "--retry-delays=nan"), 2, ("--retry-delays",)),
        Case("retry-delays-negative", (*consume, "--retry-delays=1s,-1s"), 2, ("--retry-delays",)),
        Case(
            "env-retry-delays-inf",
            ("health",),
            2,
            ("KAFKA_RETRY_DELAYS",),
            env={"KAFKA_RETRY_DELAYS": "inf"},
        ),
        Case(
            "env-health-interval-nan",
            ("health",),
            2,
            ("KAFKA_HEALTH_INTERVAL",),
            env={"KAFKA_HEALTH_INTERVAL": "nan"},
        ),
        Case(
            "env-reconnect-backoff-negative",
            ("health",),
            2,
            ("KAFKA_RECONNECT_BACKOFF_MIN",),
            env={"KAFKA_RECONNECT_BACKOFF_MIN": "-1s"},
        ),
        Case("health-max-lag-negative", ("health", "--max-lag=-1"), 2, ("--max-lag",)),
        Case("produce-partition-negative", ("produce", "{T}", "--partition=-1"), 2, ("--partition",)),
        Case(
            "produce-partition-int32",
            ("produce", "{T}", "--partition", "2147483648"),
            2,
            ("--partition",),
        ),
        Case("produce-linger-nan", ("produce", "{T}", "--linger-ms", "nan"), 2, ("--linger-ms",)),
        Case("produce-batch-size-negative", ("produce", "{T}", "--batch-size=-1"), 2, ("--batch-size",)),
        Case("consume-workers-0", (*consume, "--workers", "0"), 2, (("--workers", "-w"),)),
        Case("consume-metrics-port-70000", (*consume, "--metrics-port", "70000"), 2, ("--metrics-port",)),
        Case("consume-metrics-port-negative", (*consume, "--metrics-port=-1"), 2, ("--metrics-port",)),
    ]  # fmt: skip
    brokers_words = (("--brokers", "KAFKA_BROKERS"),)
    quick = ("--connect-timeout", "3s")
    cases += [
        Case("env-brokers-empty", (*quick, "health"), 2, ("KAFKA_BROKERS",), env={"KAFKA_BROKERS": ""}),
        Case("brokers-empty", ("--brokers", "", *quick, "health"), 2, brokers_words),
        Case("brokers-port-99999", ("--brokers", "127.0.0.1:99999", *quick, "health"), 2, brokers_words),
        Case("brokers-port-0", ("--brokers", "127.0.0.1:0", *quick, "health"), 2, brokers_words),
        Case("brokers-port-text", ("--brokers", "127.0.0.1:abc", *quick, "health"), 2, brokers_words),
        Case("brokers-only-comma", ("--brokers", ",", *quick, "health"), 2, brokers_words),
        Case("engine-bogus", ("--engine", "bogus", "health"), 2, ("--engine",)),
        Case("engine-bogus-after-command", ("health", "--engine", "bogus"), 2, ("--engine",)),
        Case("env-engine-bogus", ("health",), 2, ("KAFKA_ENGINE",), env={"KAFKA_ENGINE": "bogus"}),
    ]  # fmt: skip
    return cases


def _stream_cases() -> list[Case]:
    dry = "KCTL replay-dlq {T} -g {G} --dry-run"
    return [
        Case("closed-stdin-produce", "KCTL produce {T} <&-", 2, ("stdin is closed",)),
        Case("closed-stdout-config-json", "KCTL config --json >&-", 2, ("stdout is closed",)),
        Case("closed-stdout-consume-print", "KCTL consume {T} -g {G} -e >&-", 2, ("stdout is closed",)),
        Case("closed-stdout-health-json", "KCTL health --json >&-", 2, ("stdout is closed",)),
        Case("closed-stdout-replay-dry-run-json", f"{dry} --json >&-", 2, ("stdout is closed",)),
        Case("closed-stdin-health-unneeded", "KCTL health <&-", 0),
        Case("closed-stderr-health", "KCTL health 2>&-", 0),
    ]  # fmt: skip


def _hoisting_cases() -> list[Case]:
    dry = ("replay-dlq", "{T}", "-g", "{G}", "--dry-run")
    no_eat = ("requires an argument", "no such option")
    return [
        Case("after-command-error-contains-dash", (*dry, "--error-contains", "-bash: x"), 0, forbid=no_eat),
        Case("after-command-error-contains-engine", (*dry, "--error-contains", "--engine"), 0, forbid=no_eat),
        Case("after-command-error-contains-eq-b", (*dry, "--error-contains=-b"), 0, forbid=no_eat),
        Case("after-command-key-dash-b", (*dry, "--key", "-b"), 0, forbid=no_eat),
        Case("after-command-health-b", ("health", "-b", "{B}"), 0),
        Case("after-command-health-brokers-eq", ("health", "--brokers={B}", "--connect-timeout", "10s"), 0),
        Case("after-command-health-topic-engine", ("health", "-t", "{T}", "--no-retry", "--engine", "kafka-python", "-b", "{B}"), 0),
    ]  # fmt: skip


USAGE_CASES: list[Case] = [
    *_name_cases(),
    *_utf8_cases(),
    *_number_cases(),
    *_stream_cases(),
    *_hoisting_cases(),
]
assert len({c.id for c in USAGE_CASES}) == len(USAGE_CASES), "duplicate case ids"


def fill(item: str | bytes, values: dict[str, str]) -> str | bytes:
    if isinstance(item, bytes):
        return item
    for name, value in values.items():
        item = item.replace("{" + name + "}", value)
    return item


def shell_words_after_kafkactl(err: str) -> list[list[str]]:
    """Each `kafkactl ...` command suggested on stderr, split as a shell would."""
    out = []
    for line in err.splitlines():
        at = line.find("kafkactl ")
        while at >= 0:
            tail = line[at:]
            try:
                out.append(shlex.split(tail))
            except ValueError:
                out.append(["<unparseable>", tail])
            at = line.find("kafkactl ", at + 1)
    return out
