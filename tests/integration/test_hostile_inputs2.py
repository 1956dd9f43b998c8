"""Hostile input, round two (issue 22): times and digits, files by kind and size, unbounded
input, the open-file limit, and schema registry answers no registry gives.

- Engine-independent (run once): times before 1970 or past int64 ms and non-ASCII digits in
  every position/time flag; config, password and certificate files that are a directory, a
  FIFO, a device, over 1 MiB or nested 5,000 deep (and a BOM, accepted); `ulimit -n 6/8/12`;
  produce --value-subject against a registry answering empty, garbage, 5xx, 500 MB, a redirect
  loop.
- Each engine: `produce -i /dev/zero` ends with one line, exit 1, under 200 MB peak RSS (the
  child's RUSAGE_CHILDREN); a 64 MB line between two lines is dropped as it is read (its line
  number, a truncated reject entry) and kcat reads the two others; consume of a wire-format
  record against each hostile registry answer is one line.

Every run is in its own session under a hard timeout (hostile_cases.run); kcat is the reader.
"""

from __future__ import annotations

import http.server
import json
import os
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.hostile_cases import (
    assert_one_error,
    kafkactl,
    kcat_count,
    kcat_produce,
    kcat_read,
    run,
    shell,
)

RSS_LIMIT_KB = 200 * 1024
# Runs a command and writes the peak RSS of its process tree (RUSAGE_CHILDREN, KiB) to the
# file named by argv[1]; an address-space cap keeps a regression from taking the machine down.
RSS_WRAPPER = """
import resource, subprocess, sys
out, argv = sys.argv[1], sys.argv[2:]
cap = lambda: resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))
code = subprocess.call(argv, preexec_fn=cap)
open(out, "w").write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(code)
"""


def _uid() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture
def env(brokers: str, tmp_path: Path) -> dict[str, str]:
    """The CLI's environment without an engine choice (cases that fail before connecting)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "KAFKACTL_"))}
    return {
        **clean,
        "KAFKA_BROKERS": brokers,
        "KAFKA_LOG_FORMAT": "json",
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
        "COLUMNS": "200",
    }


def _one_partition_topic(name: str, env: dict[str, str]) -> None:
    """Create `name` with one partition (so kcat reads its records in the order sent)."""
    ran = kafkactl("create-topics", name, "-p", "1", "--no-retry", "-q", env=env, timeout=60)
    assert ran.returncode == 0, ran


@pytest.fixture(scope="module")
def topic(brokers: str) -> str:
    """A 1-partition topic with three records (some cases read it)."""
    name = f"hostile2-{_uid()}"
    base = {**os.environ, "KAFKA_BROKERS": brokers}
    _one_partition_topic(name, base)
    kcat_produce(brokers, name, b"a\x1eb\x1ec")
    return name


@pytest.fixture(scope="module")
def wire_topic(brokers: str) -> str:
    """A 1-partition topic holding one wire-format record (magic 0, schema id 7)."""
    name = f"hostile2-wire-{_uid()}"
    _one_partition_topic(name, {**os.environ, "KAFKA_BROKERS": brokers})
    kcat_produce(brokers, name, b"\x00\x00\x00\x00\x07\x02hi")
    return name


# === times and digits ===========================================================================

BEFORE_1970 = ["1960-01-01T00:00:00Z", "0001-01-01", "-30000d"]


@pytest.mark.parametrize("value", BEFORE_1970)
@pytest.mark.parametrize("flag", ["--from", "--to"])
def test_a_time_before_1970_is_one_usage_line(env, topic, flag, value) -> None:
    if flag == "--to" and value == "-30000d":
        value = "1969-12-31T23:59:59Z"
    ran = kafkactl("consume", topic, "-e", f"{flag}={value}", "-q", env=env)
    assert ran.returncode == 2, ran
    assert_one_error(ran, [flag, value, "before 1970", "1970-01-01T00:00:00Z"])


@pytest.mark.parametrize(
    "argv",
    [
        ["groups", "reset-offsets", "G", "-t", "{T}", "--to", "1960-01-01"],
        ["dlq", "summary", "{T}", "--since", "1960-01-01"],
        ["replay-dlq", "{T}", "-g", "G", "--until", "1960-01-01", "--dry-run"],
    ],
    ids=["reset-offsets", "dlq-summary", "replay-dlq"],
)
def test_every_time_flag_refuses_times_before_1970(env, topic, argv) -> None:
    ran = kafkactl(*[a.replace("{T}", topic) for a in argv], env=env)
    assert ran.returncode == 2, ran
    assert_one_error(ran, ["1960-01-01", "before 1970"])


@pytest.mark.parametrize(
    ("argv", "extra_env", "keywords"),
    [
        (["consume", "{T}", "-e", "--from", "\u0661\u0662"], {}, ["--from", "ASCII"]),
        (["consume", "{T}", "-e", "--from", "-\u0661"], {}, ["--from", "ASCII"]),
        (["consume", "{T}", "-e", "--from", "@\u0661\u0662"], {}, ["--from", "ASCII"]),
        (["consume", "{T}", "-e", "--partition", "\u0663"], {}, ["--partition"]),
        (["consume", "{T}", "-e", "--count", "\u0661\u0660"], {}, ["--count"]),
        (["consume", "{T}", "-g", "G", "-e"], {"KAFKA_RETRY_DELAYS": "\u0661s"},
         ["KAFKA_RETRY_DELAYS"]),
        (["dlq", "summary", "{T}", "--since", "\u0661\u0662"], {}, ["--since", "ASCII"]),
    ],
    ids=["from", "from-last", "from-epoch", "partition", "count", "retry-delays", "since"],
)  # fmt: skip
def test_non_ascii_digits_are_refused(env, topic, argv, extra_env, keywords) -> None:
    ran = kafkactl(*[a.replace("{T}", topic) for a in argv], env={**env, **extra_env})
    assert ran.returncode == 2, ran
    assert_one_error(ran, keywords)
    assert ran.stdout == b"", ran  # nothing was read from offset 12 or partition 3


# === config and secret files by kind and size ===================================================


@pytest.fixture
def odd_files(tmp_path: Path) -> dict[str, tuple[str, str]]:
    (tmp_path / "a-dir").mkdir()
    os.mkfifo(tmp_path / "a-fifo")
    (tmp_path / "big.toml").write_bytes(b"#" * (3 * 1024 * 1024))
    (tmp_path / "deep.toml").write_text("a = " + "[" * 5000 + "]" * 5000 + "\n")
    return {
        "directory": (str(tmp_path / "a-dir"), "is a directory"),
        "fifo": (str(tmp_path / "a-fifo"), "is a FIFO"),
        "device": ("/dev/zero", "is a device"),
        "big": (str(tmp_path / "big.toml"), "is 3 MiB; config files are at most 1 MiB"),
        "deep": (str(tmp_path / "deep.toml"), "too deeply"),
    }


@pytest.mark.parametrize("kind", ["directory", "fifo", "device", "big", "deep"])
@pytest.mark.parametrize("how", ["--config", "KAFKACTL_CONFIG"])
def test_a_config_file_is_checked_by_kind_and_size(env, odd_files, kind, how) -> None:
    path, says = odd_files[kind]
    if how == "--config":
        ran = kafkactl("config", "--config", path, env=env, timeout=20)
    else:
        ran = kafkactl("config", env={**env, "KAFKACTL_CONFIG": path}, timeout=20)
    assert ran.returncode == 2, ran
    line = assert_one_error(ran, [says])
    assert "does not exist" not in line


@pytest.mark.parametrize("kind", ["directory", "fifo", "device", "big"])
@pytest.mark.parametrize("key", ["sasl-password-file", "ssl-cafile"])
def test_secret_files_named_in_a_config_file_are_checked(env, odd_files, tmp_path, kind, key):
    path, says = odd_files[kind]
    config = tmp_path / "kafkactl.toml"
    config.write_text(f'[contexts.x]\nbrokers = "{env["KAFKA_BROKERS"]}"\n{key} = "{path}"\n')
    ran = kafkactl("config", "--config", str(config), env=env, timeout=20)
    assert ran.returncode == 2, ran
    line = assert_one_error(ran, [key, says.split(";")[0].replace("config files", "")])
    assert "does not exist" not in line


def test_a_config_file_with_a_byte_order_mark_is_read(env, tmp_path) -> None:
    config = tmp_path / "bom.toml"
    config.write_bytes(b'\xef\xbb\xbf[contexts.x]\nclient-id = "from-the-bom-file"\n')
    ran = kafkactl("config", "--config", str(config), "--json", env=env, timeout=20)
    assert ran.returncode == 0, ran
    assert "from-the-bom-file" in ran.out


# === the open-file limit ========================================================================


@pytest.mark.parametrize("limit", [6, 8, 12])
@pytest.mark.parametrize(
    "command", ["echo '{}' | KCTL produce {T}", "KCTL consume {T} -g G -e", "KCTL health -t {T}"]
)
def test_too_few_open_files_is_one_line_at_once(env, topic, limit, command) -> None:
    script = f"ulimit -n {limit}; " + command.replace("{T}", topic)
    ran = shell(script, env, timeout=20)
    assert ran.returncode == 2, ran
    assert_one_error(ran, [f"open-file limit is {limit}", "ulimit -n"])
    assert ran.seconds < 10, ran  # no retries for a broker outage that is not one


# === unbounded input (each engine) ==============================================================


def _with_peak_rss(argv: list[str], tmp_path: Path) -> list[str]:
    return [sys.executable, "-c", RSS_WRAPPER, str(tmp_path / "maxrss"), *argv]


def _peak_rss_kb(tmp_path: Path) -> int:
    return int((tmp_path / "maxrss").read_text())


def test_produce_from_dev_zero_ends_in_one_line_under_200_mb(cli_env, brokers, tmp_path) -> None:
    name = f"hostile2-zero-{_uid()}"
    _one_partition_topic(name, cli_env)
    rejects = tmp_path / "rejects.jsonl"
    argv = [sys.executable, "-m", "kafkactl", "produce", name, "-i", "/dev/zero", "-q"]
    ran = run(_with_peak_rss([*argv, "--reject-file", str(rejects)], tmp_path), cli_env,
              timeout=90)  # fmt: skip
    assert ran.returncode == 1, ran
    assert_one_error(ran, ["line 1", "no end of line", "stopped reading"])
    assert _peak_rss_kb(tmp_path) < RSS_LIMIT_KB, f"peak RSS {_peak_rss_kb(tmp_path)} KiB\n{ran}"
    (entry,) = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert entry["line"] == 1 and entry["input_truncated"] is True
    assert len(entry["input"]) <= 1024 and "no end of line" in entry["error"]
    assert kcat_count(brokers, name) == 0


def test_a_64_mb_line_is_dropped_as_read_and_the_lines_around_it_are_sent(
    cli_env, brokers, tmp_path
) -> None:
    name = f"hostile2-long-{_uid()}"
    _one_partition_topic(name, cli_env)
    data = tmp_path / "in.jsonl"
    with data.open("wb") as out:
        out.write(b'{"n": 1}\n{"v": "')
        out.write(b"x" * (64 * 1024 * 1024))
        out.write(b'"}\n{"n": 3}\n')
    rejects = tmp_path / "rejects.jsonl"
    argv = [sys.executable, "-m", "kafkactl", "produce", name, "-i", str(data), "-q",
            "--reject-file", str(rejects)]  # fmt: skip
    ran = run(_with_peak_rss(argv, tmp_path), cli_env, timeout=90)
    assert ran.returncode == 1, ran  # an invalid line
    assert "line 2: invalid, skipped: record too large: a line of 67,108,87" in ran.err, ran
    assert _peak_rss_kb(tmp_path) < RSS_LIMIT_KB, f"peak RSS {_peak_rss_kb(tmp_path)} KiB\n{ran}"
    assert [r.value for r in kcat_read(brokers, name)] == [b'{"n": 1}', b'{"n": 3}']
    (entry,) = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert entry["line"] == 2 and entry["input_truncated"] is True
    assert entry["input"].startswith('{"v": "xxx') and len(entry["input"]) == 1024


# === schema registry answers ====================================================================


def _answer(mode: str, handler: http.server.BaseHTTPRequestHandler) -> None:
    def send(status: int, body: bytes = b"", **headers: str) -> None:
        handler.send_response(status)
        for name, value in {"Content-Length": str(len(body)), **headers}.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)

    if mode == "empty":
        send(200)
    elif mode == "garbage":
        send(200, b"<html><body>Welcome to nginx!</body></html>")
    elif mode == "5xx":
        send(503, b"upstream connect error")
    elif mode == "redirect-loop":
        send(302, Location=handler.path)
    elif mode == "500MB":
        handler.send_response(200)
        handler.send_header("Content-Length", str(500 * 2**20))
        handler.end_headers()
        chunk = b'{"schema": "' + b"x" * (2**20)
        try:
            for _ in range(500):
                handler.wfile.write(chunk)
        except OSError:
            pass  # kafkactl hung up at its cap


@pytest.fixture
def hostile_registry() -> Iterator[dict[str, str]]:
    """A local HTTP server answering every request the way `mode["mode"]` says; yields a dict
    with its `url` (set `mode` before each run)."""
    state = {"mode": "empty"}

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            _answer(state["mode"], self)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            _answer(state["mode"], self)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


REGISTRY_CASES = {  # mode: (exit code, words of the error line)
    "empty": (1, ["answered HTTP 200 with an empty body"]),
    "garbage": (1, ["not JSON", "Welcome to nginx"]),
    "5xx": (3, ["kept failing", "HTTP 503"]),
    "500MB": (1, ["body over 16 MiB"]),
    "redirect-loop": (1, ["redirect (HTTP 302", "does not follow redirects"]),
}


# Decoding in consume: a registry failing with 5xx is "could not be reached" (held 5 s).
CONSUME_WORDS = {"5xx": ["could not be reached", "503"]}


@pytest.mark.parametrize("mode", list(REGISTRY_CASES))
def test_produce_against_a_hostile_registry_is_one_line(
    env, topic, hostile_registry, tmp_path, mode
) -> None:
    hostile_registry["mode"] = mode
    code, words = REGISTRY_CASES[mode]
    registry_env = {**env, "KAFKA_SCHEMA_REGISTRY_URL": hostile_registry["url"]}
    argv = [sys.executable, "-m", "kafkactl", "produce", topic, "--value-subject", "S", "-q"]
    ran = run(_with_peak_rss(argv, tmp_path), registry_env, input=b'{"a": 1}\n', timeout=60)
    assert ran.returncode == code, ran
    assert_one_error(ran, [hostile_registry["url"], *words])
    assert _peak_rss_kb(tmp_path) < RSS_LIMIT_KB, f"peak RSS {_peak_rss_kb(tmp_path)} KiB\n{ran}"


@pytest.mark.parametrize("mode", list(REGISTRY_CASES))
def test_consume_of_a_wire_format_record_against_a_hostile_registry_is_one_line(
    cli_env, wire_topic, hostile_registry, tmp_path, mode
) -> None:
    name = wire_topic
    hostile_registry["mode"] = mode
    registry_env = {**cli_env, "KAFKA_SCHEMA_REGISTRY_URL": hostile_registry["url"]}
    argv = [sys.executable, "-m", "kafkactl", "consume", name, "-e", "-q"]
    ran = run(_with_peak_rss(argv, tmp_path), registry_env, timeout=60)
    assert ran.returncode == 1, ran
    words = CONSUME_WORDS.get(mode, REGISTRY_CASES[mode][1])
    line = assert_one_error(ran, ["schema id 7", hostile_registry["url"], *words])
    assert "AttributeError" not in line
    assert _peak_rss_kb(tmp_path) < RSS_LIMIT_KB, f"peak RSS {_peak_rss_kb(tmp_path)} KiB\n{ran}"
