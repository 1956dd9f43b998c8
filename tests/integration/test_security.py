"""TLS and SASL end to end against the real broker's secured listeners (KAFKA_LOCAL_SECURE=1).

The broker (fixture `secure_broker`) has PLAINTEXT, SSL, SASL_PLAINTEXT and SASL_SSL listeners,
a throwaway CA, and one user known to PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import KAFKA_LOCAL, REPO, SecureBroker
from tests.integration.kafka_helpers import header, read_all

MECHANISMS = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]
_ENGINE: dict[str, str] = {}


@pytest.fixture(autouse=True)
def _on_each_engine(engine: str) -> Iterator[None]:
    """Every security behaviour holds on both engines: each test runs once per engine."""
    _ENGINE["name"] = engine
    yield
    _ENGINE.clear()


def _cli(
    tmp_path: Path, *args: str, env: dict[str, str], input: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    """Run `python -m kafkactl ARGS` with only the KAFKA_* settings given (JSON logs)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "KAFKACTL_"))}
    clean.update(
        KAFKA_LOG_FORMAT="json",
        XDG_CONFIG_HOME=str(tmp_path / "xdg"),
        COLUMNS="200",
        PYTHONPATH=os.pathsep.join([str(REPO), str(tmp_path)]),
        KAFKA_ENGINE=_ENGINE.get("name", "auto"),
    )
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-m", "kafkactl", *args],
        input=input.encode() if input is not None else None,
        capture_output=True,
        env=clean,
        cwd=tmp_path,
        timeout=timeout,
    )


def _err(result: subprocess.CompletedProcess) -> str:
    err = result.stderr.decode()
    assert "Traceback" not in err, err[-3000:]
    return err


def _topic() -> str:
    return f"sec-{uuid.uuid4().hex[:10]}"


# --- every protocol and mechanism works --------------------------------------------------------


def test_health_and_create_topics_over_ssl(secure_broker: SecureBroker, tmp_path: Path) -> None:
    env = secure_broker.env("SSL")
    topic = _topic()
    created = _cli(tmp_path, "create-topics", topic, "--no-retry", "-p", "2", "--json", env=env)
    assert created.returncode == 0, _err(created)
    result = _cli(tmp_path, "health", "-t", topic, "--no-retry", "--json", env=env)
    assert result.returncode == 0, _err(result)
    report = json.loads(result.stdout)
    assert report["verdict"] == "healthy"
    assert [(t["name"], t["status"], t["partitions"]) for t in report["topics"]] == [
        (topic, "ok", 2)
    ]
    # The broker advertises this listener's own address, reached over TLS too.
    assert [b["port"] for b in report["brokers"]] == [secure_broker.ports["SSL"]]


def test_health_and_create_topics_over_sasl_plaintext_plain(
    secure_broker: SecureBroker, tmp_path: Path
) -> None:
    env = secure_broker.env("SASL_PLAINTEXT", "PLAIN")
    topic = _topic()
    created = _cli(tmp_path, "create-topics", topic, "-g", f"g1-{topic}", "--json", env=env)
    assert created.returncode == 0, _err(created)
    # The group has to exist (committed offsets) or health calls it unknown.
    produced = _cli(tmp_path, "produce", topic, env=env, input='{"n":1}\n')
    assert produced.returncode == 0, _err(produced)
    consumed = _cli(tmp_path, "consume", topic, "-g", f"g1-{topic}", "-e", "-q", env=env)
    assert consumed.returncode == 0, _err(consumed)
    result = _cli(tmp_path, "health", "-t", topic, "-g", f"g1-{topic}", "--json", env=env)
    assert result.returncode == 0, _err(result)
    report = json.loads(result.stdout)
    assert report["verdict"] == "healthy"
    assert [t["status"] for t in report["topics"]] == ["ok"] * 5  # main, 3 tiers, DLQ


@pytest.mark.parametrize("protocol", ["SASL_PLAINTEXT", "SASL_SSL"])
@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_health_with_every_mechanism(
    secure_broker: SecureBroker, tmp_path: Path, protocol: str, mechanism: str
) -> None:
    result = _cli(tmp_path, "health", "--json", env=secure_broker.env(protocol, mechanism))
    assert result.returncode == 0, _err(result)
    assert json.loads(result.stdout)["verdict"] == "healthy"


def test_password_from_file_and_masked_in_config(
    secure_broker: SecureBroker, tmp_path: Path
) -> None:
    secret_file = tmp_path / "kafka.password"
    secret_file.write_text(f"  {secure_broker.password}\n")
    env = secure_broker.env("SASL_SSL", "SCRAM-SHA-256", KAFKA_SASL_PASSWORD_FILE=str(secret_file))
    del env["KAFKA_SASL_PASSWORD"]
    result = _cli(tmp_path, "health", "--json", env=env)
    assert result.returncode == 0, _err(result)

    shown = _cli(tmp_path, "config", "--json", env=env)
    assert shown.returncode == 0, _err(shown)
    assert secure_broker.password not in shown.stdout.decode() + shown.stderr.decode()
    config = json.loads(shown.stdout)["settings"]
    assert config["sasl_password"]["value"] == "********"
    assert config["sasl_password"]["source"] == "env (password file)"
    assert config["sasl_password_file"]["value"] == str(secret_file)
    table = _cli(tmp_path, "config", env=env)
    assert table.returncode == 0
    assert secure_broker.password not in table.stdout.decode() + table.stderr.decode()


def test_config_file_context_with_sasl_ssl(secure_broker: SecureBroker, tmp_path: Path) -> None:
    secret_file = tmp_path / "prod.password"
    secret_file.write_text(secure_broker.password + "\n")
    (tmp_path / "kafkactl.toml").write_text(
        'current-context = "local"\n'
        "[contexts.local]\n"
        f'brokers = "{secure_broker.address("PLAINTEXT")}"\n'
        "[contexts.secure]\n"
        f'brokers = "{secure_broker.address("SASL_SSL")}"\n'
        'security-protocol = "SASL_SSL"\n'
        'sasl-mechanism = "SCRAM-SHA-512"\n'
        f'sasl-username = "{secure_broker.user}"\n'
        f'sasl-password-file = "{secret_file}"\n'
        f'ssl-cafile = "{secure_broker.ca_file}"\n'
    )
    result = _cli(tmp_path, "--context", "secure", "health", "--json", env={})
    assert result.returncode == 0, _err(result)
    assert [b["port"] for b in json.loads(result.stdout)["brokers"]] == [
        secure_broker.ports["SASL_SSL"]
    ]
    shown = _cli(tmp_path, "--context", "secure", "config", "--json", env={})
    assert json.loads(shown.stdout)["settings"]["security_protocol"] == {
        "value": "SASL_SSL",
        "env": "KAFKA_SECURITY_PROTOCOL",
        "source": "file:secure",
    }
    assert secure_broker.password not in shown.stdout.decode()


def test_kafka_local_status_prints_the_secured_listeners(secure_broker: SecureBroker) -> None:
    result = subprocess.run(
        [str(KAFKA_LOCAL), "status"],
        env=secure_broker.script_env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    for protocol in ("SSL", "SASL_PLAINTEXT", "SASL_SSL"):
        assert f"{protocol} " in result.stderr
        assert secure_broker.address(protocol) in result.stderr


# --- clear failures ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("protocol", "mechanism"),
    [("SASL_SSL", "SCRAM-SHA-512"), ("SASL_PLAINTEXT", "SCRAM-SHA-256"), ("SASL_SSL", "PLAIN")],
)
def test_wrong_password_exits_3_at_once(
    secure_broker: SecureBroker, tmp_path: Path, protocol: str, mechanism: str
) -> None:
    wrong = f"wrong-{uuid.uuid4().hex[:8]}"
    env = secure_broker.env(protocol, mechanism, KAFKA_SASL_PASSWORD=wrong)
    started = time.monotonic()
    result = _cli(tmp_path, "health", "--connect-timeout", "30s", env=env)
    elapsed = time.monotonic() - started
    err = _err(result)
    assert result.returncode == 3, err
    assert f"authentication failed for user {secure_broker.user} (mechanism {mechanism})" in err
    assert wrong not in err and secure_broker.password not in err
    assert elapsed < 10, f"an auth failure must not be retried until the timeout ({elapsed:.1f}s)"
    assert len(err.strip().splitlines()) == 1, err


def test_unknown_user_exits_3(secure_broker: SecureBroker, tmp_path: Path) -> None:
    env = secure_broker.env("SASL_SSL", "SCRAM-SHA-512", KAFKA_SASL_USERNAME="mallory")
    result = _cli(tmp_path, "health", env=env)
    assert result.returncode == 3
    assert "authentication failed for user mallory (mechanism SCRAM-SHA-512)" in _err(result)


@pytest.fixture(scope="module")
def other_tls(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A CA that did not sign the broker, and a self-signed certificate for wrong.example."""
    out = tmp_path_factory.mktemp("other-tls")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=out, check=True, capture_output=True)

    openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=other CA",
        "-keyout", "other-ca.key", "-out", "other-ca.pem",
    )  # fmt: skip
    openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=wrong.example",
        "-addext", "subjectAltName=DNS:wrong.example",
        "-keyout", "wrong.key", "-out", "wrong.pem",
    )  # fmt: skip
    return {
        "other_ca": str(out / "other-ca.pem"),
        "wrong_cert": str(out / "wrong.pem"),
        "wrong_key": str(out / "wrong.key"),
    }


@pytest.mark.parametrize("protocol", ["SSL", "SASL_SSL"])
@pytest.mark.parametrize("ca", ["system", "other"])
def test_untrusted_ca_exits_3_naming_the_certificate_problem(
    secure_broker: SecureBroker,
    tmp_path: Path,
    other_tls: dict[str, str],
    protocol: str,
    ca: str,
) -> None:
    env = secure_broker.env(protocol)
    if ca == "system":
        del env["KAFKA_SSL_CAFILE"]
    else:
        env["KAFKA_SSL_CAFILE"] = other_tls["other_ca"]
    started = time.monotonic()
    result = _cli(tmp_path, "health", "--connect-timeout", "30s", env=env)
    err = _err(result)
    assert result.returncode == 3, err
    assert "TLS certificate problem" in err
    assert "certificate verify failed" in err
    assert "KAFKA_SSL_CAFILE" in err
    assert time.monotonic() - started < 10
    assert len(err.strip().splitlines()) == 1, err


class _TlsServer:
    """A TLS server on 127.0.0.1 presenting a given certificate, then closing each connection."""

    def __init__(self, cert: str, key: str) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.settimeout(5)
            try:
                with self.context.wrap_socket(conn, server_side=True):
                    pass
            except (OSError, ssl.SSLError):
                conn.close()

    def close(self) -> None:
        self.sock.close()


def test_hostname_mismatch_exits_3_naming_it(tmp_path: Path, other_tls: dict[str, str]) -> None:
    server = _TlsServer(other_tls["wrong_cert"], other_tls["wrong_key"])
    try:
        env = {
            "KAFKA_BROKERS": f"127.0.0.1:{server.port}",
            "KAFKA_SECURITY_PROTOCOL": "SSL",
            "KAFKA_SSL_CAFILE": other_tls["wrong_cert"],  # trusted, but for another name
        }
        result = _cli(tmp_path, "health", "--connect-timeout", "10s", env=env)
        err = _err(result)
        assert result.returncode == 3, err
        assert "TLS certificate problem" in err and "hostname mismatch" in err
        assert "KAFKA_SSL_CHECK_HOSTNAME" in err

        # Without the hostname check the certificate is accepted (the server is no broker).
        env.update(KAFKA_SSL_CHECK_HOSTNAME="false")
        result = _cli(tmp_path, "health", "--connect-timeout", "3s", env=env)
        assert result.returncode == 3
        assert "hostname mismatch" not in _err(result)
    finally:
        server.close()


def test_tls_client_on_the_plaintext_port_says_so(
    secure_broker: SecureBroker, tmp_path: Path
) -> None:
    env = secure_broker.env("SSL", KAFKA_BROKERS=secure_broker.address("PLAINTEXT"))
    started = time.monotonic()
    result = _cli(tmp_path, "health", "--connect-timeout", "30s", env=env)
    err = _err(result)
    assert result.returncode == 3, err
    assert "answered with plaintext Kafka, not TLS" in err
    assert time.monotonic() - started < 10


def test_plaintext_client_on_a_tls_port_says_so(
    secure_broker: SecureBroker, tmp_path: Path
) -> None:
    env = {"KAFKA_BROKERS": secure_broker.address("SSL")}
    started = time.monotonic()
    result = _cli(tmp_path, "health", "--connect-timeout", "30s", env=env)
    err = _err(result)
    assert result.returncode == 3, err
    assert "speaks TLS" in err and "KAFKA_SECURITY_PROTOCOL=SSL" in err
    assert time.monotonic() - started < 10


def test_plaintext_client_on_a_sasl_port_says_so(
    secure_broker: SecureBroker, tmp_path: Path
) -> None:
    env = {"KAFKA_BROKERS": secure_broker.address("SASL_PLAINTEXT")}
    result = _cli(tmp_path, "health", "--connect-timeout", "30s", env=env)
    err = _err(result)
    assert result.returncode == 3, err
    assert "requires SASL authentication" in err and "SCRAM-SHA-512" in err


def test_sasl_client_on_a_plaintext_port_says_so(
    secure_broker: SecureBroker, tmp_path: Path
) -> None:
    env = secure_broker.env("SASL_PLAINTEXT", "PLAIN")
    env["KAFKA_BROKERS"] = secure_broker.address("PLAINTEXT")
    result = _cli(tmp_path, "health", "--connect-timeout", "30s", env=env)
    err = _err(result)
    assert result.returncode == 3, err
    assert "is not a SASL listener" in err and "KAFKA_SECURITY_PROTOCOL=PLAINTEXT" in err


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts TCP connections and never says a word."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def serve() -> None:
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1]
    server.close()
    for conn in held:
        conn.close()


def test_silent_tls_peer_does_not_hang_past_the_connect_timeout(
    tmp_path: Path, silent_server: int, secure_broker: SecureBroker
) -> None:
    env = {
        "KAFKA_BROKERS": f"127.0.0.1:{silent_server}",
        "KAFKA_SECURITY_PROTOCOL": "SSL",
        "KAFKA_SSL_CAFILE": secure_broker.ca_file,
    }
    started = time.monotonic()
    result = _cli(tmp_path, "health", "--connect-timeout", "3s", env=env, timeout=60)
    elapsed = time.monotonic() - started
    err = _err(result)
    assert result.returncode == 3, err
    assert "TLS handshake" in err
    assert elapsed < 3 + 4


def test_a_client_stuck_in_its_tls_handshake_is_abandoned(
    silent_server: int, secure_broker: SecureBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kafka-python's own handshake has no timeout; connect_with_backoff bounds it anyway."""
    from kafka import KafkaAdminClient

    from kafkactl.config import load_settings
    from kafkactl.errors import ConnectError
    from kafkactl.kafka import preflight
    from kafkactl.kafka.kafka_python.config import admin_config
    from kafkactl.kafka.kafka_python.connect import connect as connect_with_backoff

    # Pretend the probe passed, so the client itself meets the silent peer.
    monkeypatch.setattr(
        preflight, "check", lambda settings, timeout: preflight.ProbeResult("x", "ok")
    )
    settings = load_settings(
        env={
            "KAFKA_BROKERS": f"127.0.0.1:{silent_server}",
            "KAFKA_SECURITY_PROTOCOL": "SSL",
            "KAFKA_SSL_CAFILE": secure_broker.ca_file,
            "KAFKA_CONNECT_TIMEOUT": "3s",
        },
        config_path=os.devnull,
    )
    started = time.monotonic()
    with pytest.raises(ConnectError) as excinfo:
        connect_with_backoff(settings, lambda: KafkaAdminClient(**admin_config(settings)))
    assert time.monotonic() - started < 3 + 2
    assert "cannot reach Kafka" in str(excinfo.value)


# --- secrets ---------------------------------------------------------------------------------


def test_debug_logs_never_contain_the_password(secure_broker: SecureBroker, tmp_path: Path) -> None:
    """Every line of DEBUG runs (kafka-python dumps configs and SASL bytes) is free of it."""
    wrong = f"wrong-{uuid.uuid4().hex[:8]}"
    topic = _topic()
    password = secure_broker.password
    runs = [  # protocol, mechanism, password, log format, command
        ("SASL_SSL", "SCRAM-SHA-512", password, "json", ["create-topics", topic, "-g", "g"]),
        ("SASL_SSL", "SCRAM-SHA-512", password, "json", ["health", "-t", topic, "-g", "g"]),
        ("SASL_PLAINTEXT", "PLAIN", password, "json", ["health"]),
        ("SASL_PLAINTEXT", "PLAIN", password, "pretty", ["health"]),
        ("SASL_SSL", "PLAIN", wrong, "json", ["health", "--connect-timeout", "5s"]),
    ]
    lines: list[str] = []
    masked = 0
    for protocol, mechanism, secret, fmt, args in runs:
        env = secure_broker.env(
            protocol,
            mechanism,
            KAFKA_SASL_PASSWORD=secret,
            KAFKA_LOG_LEVEL="DEBUG",
            KAFKA_LOG_FORMAT=fmt,
        )
        result = _cli(tmp_path, *args, env=env)
        assert result.returncode in (0, 1, 3), result.stderr.decode()[-2000:]
        output = result.stdout.decode() + result.stderr.decode()
        lines.extend(output.splitlines())
        masked += output.count("***")
    if _ENGINE["name"] == "kafka-python":
        assert len(lines) > 200, "the DEBUG runs logged almost nothing; the test proves nothing"
        assert any("kafka: " in line for line in lines), "kafka-python's DEBUG log was not captured"
        assert masked > 0, "PLAIN sends the password in its auth bytes; it should show up masked"
    else:  # a librdkafka run loads no kafka-python (DESIGN §3.6): kafkactl's own DEBUG lines
        assert len(lines) > 30, "the DEBUG runs logged almost nothing; the test proves nothing"
        assert any("authenticated as" in line for line in lines), "the SASL preflight ran"
    for secret in (secure_broker.password, wrong):
        leaked = [line for line in lines if secret in line]
        assert not leaked, f"password in {len(leaked)} log line(s): {leaked[0][:300]}"


# --- the whole pipeline over SASL_SSL / SCRAM-SHA-512 -------------------------------------------

HANDLER_MODULE = '''
"""Fails "bad" orders (fatal, straight to the DLQ) while SEC_BROKEN=1; records successes."""
import os

from kafkactl import FatalError


def handle(message):
    order = message.json()
    if order["mode"] == "bad" and os.environ.get("SEC_BROKEN") == "1":
        raise FatalError("the downstream service rejected it")
    with open(os.environ["SEC_LOG"], "a") as log:
        log.write(f"{order['id']} {message.attempt}\\n")
'''


def test_produce_consume_dlq_replay_over_sasl_ssl_scram_sha_512(
    secure_broker: SecureBroker, tmp_path: Path
) -> None:
    (tmp_path / "sec_handlers.py").write_text(HANDLER_MODULE)
    done_log = tmp_path / "done.log"
    env = secure_broker.env(
        "SASL_SSL",
        "SCRAM-SHA-512",
        KAFKA_RETRY_DELAYS="200ms",
        SEC_LOG=str(done_log),
    )
    topic = _topic()
    group = f"billing-{topic[-8:]}"  # its own: one group's members rebalance together
    dlq = f"{topic}.{group}.dlq"

    created = _cli(tmp_path, "create-topics", topic, "-g", group, "-p", "2", env=env)
    assert created.returncode == 0, _err(created)

    modes = ["ok", "bad", "ok", "ok"] * 10  # 40 orders, 10 bad
    lines = "".join(json.dumps({"id": i, "mode": m}) + "\n" for i, m in enumerate(modes))
    reject = tmp_path / "rejects.jsonl"
    produced = _cli(
        tmp_path,
        "produce",
        topic,
        "--reject-file",
        str(reject),
        "--json",
        env=env,
        input=lines + "{not json\n",
    )
    assert produced.returncode == 1, _err(produced)  # the one invalid line
    summary = json.loads(produced.stdout)
    assert summary["published"] == len(modes)
    assert summary["invalid"] == 1
    assert secure_broker.password not in reject.read_text()

    consume = ["consume", topic, "-g", group, "--handler", "sec_handlers:handle", "-e", "--json"]
    first = _cli(tmp_path, *consume, env={**env, "SEC_BROKEN": "1"}, timeout=120)
    assert first.returncode == 0, _err(first)[-3000:]
    bad = {i for i, m in enumerate(modes) if m == "bad"}
    ok = set(range(len(modes))) - bad
    assert {int(line.split()[0]) for line in done_log.read_text().splitlines()} == ok
    dead = read_all(secure_broker.address("PLAINTEXT"), dlq)
    assert {json.loads(r.value)["id"] for r in dead} == bad
    assert {header(r, "kafkactl.error.kind") for r in dead} == {"fatal"}

    replay = ["replay-dlq", topic, "--group", group, "--yes", "--json"]
    replayed = _cli(tmp_path, *replay, env=env)
    assert replayed.returncode == 0, _err(replayed)
    assert json.loads(replayed.stdout)["replayed"] == len(bad)

    second = _cli(tmp_path, *consume, env={**env, "SEC_BROKEN": "0"}, timeout=120)
    assert second.returncode == 0, _err(second)[-3000:]
    done = [int(line.split()[0]) for line in done_log.read_text().splitlines()]
    assert sorted(done) == sorted(range(len(modes))), "every order processed exactly once"

    again = _cli(tmp_path, *replay, env=env)
    assert again.returncode == 0, _err(again)
    assert json.loads(again.stdout)["replayed"] == 0
    for result in (created, produced, first, replayed, second, again):
        assert secure_broker.password not in result.stdout.decode() + result.stderr.decode()


# --- KAFKA_SASL_PASSWORD_FILE rules (settings only, no broker) --------------------------------


def _settings(tmp_path: Path, env: dict[str, str], toml: str | None = None):
    from kafkactl.config import load_settings

    path = None
    if toml is not None:
        path = tmp_path / "ctx.toml"
        path.write_text(toml)
    base = {
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_MECHANISM": "PLAIN",
        "KAFKA_SASL_USERNAME": "u",
    }
    return load_settings(env={**base, **env}, config_path=str(path) if path else os.devnull)


def test_password_file_precedence(tmp_path: Path) -> None:
    from kafkactl.errors import ConfigError

    pw_file = tmp_path / "pw"
    pw_file.write_text("from-file\n")
    file_env = {"KAFKA_SASL_PASSWORD_FILE": str(pw_file)}
    assert _settings(tmp_path, file_env).sasl_password == "from-file"
    # Same level: the password itself wins over the file.
    both = {**file_env, "KAFKA_SASL_PASSWORD": "from-env"}
    assert _settings(tmp_path, both).sasl_password == "from-env"
    # Higher level wins: env password beats a context's file, env file beats a context password.
    ctx_file = f'[contexts.c]\nsasl-password-file = "{pw_file}"\n'
    assert (
        _settings(tmp_path, {"KAFKA_SASL_PASSWORD": "from-env"}, ctx_file).sasl_password
        == "from-env"
    )
    ctx_pw = '[contexts.c]\nsasl-password = "from-context"\n'
    loaded = _settings(tmp_path, file_env, ctx_pw)
    assert loaded.sasl_password == "from-file"
    assert loaded.sources["sasl_password"] == "env (password file)"
    assert "from-file" in loaded.secrets()

    with pytest.raises(ConfigError) as missing:
        _settings(tmp_path, {"KAFKA_SASL_PASSWORD_FILE": str(tmp_path / "nope")})
    assert missing.value.setting == "KAFKA_SASL_PASSWORD_FILE"
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ConfigError) as empty:
        _settings(tmp_path, {"KAFKA_SASL_PASSWORD_FILE": str(tmp_path / "empty")})
    assert "empty" in str(empty.value)
    with pytest.raises(ConfigError) as neither:
        _settings(tmp_path, {})
    assert "KAFKA_SASL_PASSWORD_FILE" in str(neither.value)


# --- what kafka-python only logs (fallback when the probe passed but the client failed) --------


def test_kafka_log_capture_finds_the_cause_and_stays_quiet() -> None:
    import logging

    from kafkactl.kafka import preflight

    kafka_logger = logging.getLogger("kafka")
    seen: list[str] = []

    class Old(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    old = Old()
    saved = (list(kafka_logger.handlers), kafka_logger.level, kafka_logger.propagate)
    kafka_logger.handlers, kafka_logger.propagate = [old], False
    kafka_logger.setLevel(logging.CRITICAL)
    try:
        with preflight.KafkaLogCapture() as captured:
            log = logging.getLogger("kafka.net.manager")
            log.warning(
                "Bootstrap connection to bootstrap-0 failed: [Error 58] "
                "SaslAuthenticationFailedError: SaslAuthenticationFailedError: Authentication "
                "failed due to invalid credentials with SASL mechanism PLAIN (backoff 0.80 secs)"
            )
            log.error("x: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: bad (_ssl.c)")
        assert captured.auth_failure() == (
            "SaslAuthenticationFailedError: Authentication failed due to invalid credentials "
            "with SASL mechanism PLAIN"
        )
        assert captured.certificate_failure() == "certificate verify failed: bad (_ssl.c)"
        assert captured.last_failure().startswith("[Error 58]")
        assert seen == [], "the user's handlers must not see what they would not have seen"
        assert kafka_logger.level == logging.CRITICAL
    finally:
        kafka_logger.handlers, _, kafka_logger.propagate = saved
        kafka_logger.setLevel(saved[1])


def test_auth_failure_seen_only_in_kafka_logs_is_not_retried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import logging

    from kafka.errors import KafkaTimeoutError

    from kafkactl.config import load_settings
    from kafkactl.errors import ConnectError
    from kafkactl.kafka import preflight
    from kafkactl.kafka.kafka_python.connect import connect as connect_with_backoff

    monkeypatch.setattr(
        preflight, "check", lambda settings, timeout: preflight.ProbeResult("x", "ok")
    )
    settings = load_settings(
        env={
            "KAFKA_BROKERS": "127.0.0.1:1",
            "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "KAFKA_SASL_MECHANISM": "SCRAM-SHA-256",
            "KAFKA_SASL_USERNAME": "alice",
            "KAFKA_SASL_PASSWORD": "pw-123",
            "KAFKA_CONNECT_TIMEOUT": "30s",
        },
        config_path=os.devnull,
    )
    calls = []

    def factory() -> None:
        calls.append(1)
        logging.getLogger("kafka.net.manager").warning(
            "Bootstrap connection to bootstrap-0 failed: [Error 58] SaslAuthenticationFailedError: "
            "SaslAuthenticationFailedError: Authentication failed (backoff 0.1 secs)"
        )
        raise KafkaTimeoutError("Unable to bootstrap from 127.0.0.1:1")

    with pytest.raises(ConnectError) as excinfo:
        connect_with_backoff(settings, factory)
    assert calls == [1]
    assert "authentication failed for user alice (mechanism SCRAM-SHA-256)" in str(excinfo.value)
    assert "pw-123" not in str(excinfo.value)
