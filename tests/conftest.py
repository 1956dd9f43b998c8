"""Shared fixtures: a real Kafka broker (KAFKA_BROKERS if it answers, else scripts/kafka-local)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
KAFKA_LOCAL = REPO / "scripts" / "kafka-local"


def _answers(bootstrap: str, timeout: float = 2.0) -> bool:
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            with socket.create_connection((host or "localhost", int(port)), timeout=timeout):
                return True
        except (OSError, ValueError):
            continue
    return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalBroker:
    """A broker run by scripts/kafka-local, which tests may stop and start (fault tests)."""

    def __init__(self, port: int, controller_port: int, data_dir: str) -> None:
        self.port = port
        self.env = {
            **os.environ,
            "KAFKA_LOCAL_PORT": str(port),
            "KAFKA_LOCAL_CONTROLLER_PORT": str(controller_port),
            "KAFKA_LOCAL_DIR": data_dir,
        }

    def run(self, action: str) -> None:
        """start | stop | status through the script."""
        subprocess.run([str(KAFKA_LOCAL), action], env=self.env, check=True, timeout=180)

    def restart(self) -> None:
        """Stop the broker and start it again on the same port and data."""
        self.run("stop")
        self.run("start")


def _broker_from_script_env() -> LocalBroker | None:
    """The broker scripts/test.sh started (it exports KAFKA_LOCAL_*), if that is what we use."""
    data_dir = os.environ.get("KAFKA_LOCAL_DIR")
    port = os.environ.get("KAFKA_LOCAL_PORT")
    if not data_dir or not port or not (Path(data_dir) / "kafka.pid").exists():
        return None
    cport = os.environ.get("KAFKA_LOCAL_CONTROLLER_PORT") or str(int(port) + 1)
    return LocalBroker(int(port), int(cport), data_dir)


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[LocalBroker | None]:
    """The broker the tests use: KAFKA_BROKERS if it answers, else one started here.

    None means a broker the tests did not start (not theirs to restart).
    """
    given = os.environ.get("KAFKA_BROKERS")
    if given and _answers(given):
        yield _broker_from_script_env()
        return
    data_dir = tempfile.mkdtemp(prefix="kafkactl-test-broker-")
    broker = LocalBroker(_free_port(), _free_port(), data_dir)
    broker.run("start")
    os.environ["KAFKA_BROKERS"] = f"127.0.0.1:{broker.port}"
    try:
        yield broker
    finally:
        broker.run("stop")


@pytest.fixture
def restartable_broker(kafka_broker: LocalBroker | None) -> LocalBroker:
    """The broker, for tests that stop and start it; it must be one the tests manage."""
    if kafka_broker is None:
        pytest.fail(
            "fault tests need a broker started by scripts/kafka-local (run scripts/test.sh, "
            "or unset KAFKA_BROKERS so the tests start one)"
        )
    return kafka_broker


@pytest.fixture(scope="session")
def brokers(kafka_broker: LocalBroker | None) -> str:
    """Bootstrap servers of the real broker."""
    return os.environ["KAFKA_BROKERS"]


@pytest.fixture
def topic_name() -> str:
    """A fresh topic name per test, so tests never see each other's records."""
    return f"t-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def admin(brokers: str) -> Iterator[object]:
    """A kafka-python admin client on the real broker."""
    from kafka import KafkaAdminClient

    client = KafkaAdminClient(bootstrap_servers=brokers.split(","))
    yield client
    client.close()


# Every behaviour holds on both engines (DESIGN §3.3): each CLI test runs once per engine.
ENGINES = ("kafka-python", "librdkafka")


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """The engine the CLI under test runs on (KAFKA_ENGINE)."""
    return str(request.param)


@pytest.fixture
def cli_env(brokers: str, tmp_path: Path, engine: str) -> dict[str, str]:
    """Environment for running the CLI: the test broker, no stray config, JSON logs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "KAFKACTL_"))}
    env.update(
        KAFKA_BROKERS=brokers,
        KAFKA_ENGINE=engine,
        KAFKA_LOG_FORMAT="json",
        XDG_CONFIG_HOME=str(tmp_path / "xdg"),
        COLUMNS="200",
    )
    return env


@pytest.fixture
def run_cli(cli_env: dict[str, str], tmp_path: Path):
    """Run `python -m kafkactl ARGS` as a user would; returns the CompletedProcess."""

    def run(
        *args: str,
        input: str | bytes | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess:
        merged = {**cli_env, **(env or {})}
        return subprocess.run(
            [sys.executable, "-m", "kafkactl", *args],
            input=input.encode() if isinstance(input, str) else input,
            capture_output=True,
            env=merged,
            cwd=tmp_path,
            timeout=timeout,
        )

    return run


# --- the secured listeners (SSL, SASL_PLAINTEXT, SASL_SSL) -----------------------------------


class SecureBroker:
    """A broker started with KAFKA_LOCAL_SECURE=1: its listeners, CA file and SASL user."""

    def __init__(
        self,
        ports: dict[str, int],
        data_dir: str,
        user: str,
        password: str,
        script_env: dict[str, str],
    ) -> None:
        self.ports = ports
        self.script_env = script_env  # the KAFKA_LOCAL_* environment of scripts/kafka-local
        self.data_dir = data_dir
        self.tls_dir = Path(data_dir) / "tls"
        self.ca_file = str(self.tls_dir / "ca.pem")
        self.user = user
        self.password = password

    def address(self, protocol: str) -> str:
        """host:port of the listener for PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL."""
        return f"127.0.0.1:{self.ports[protocol]}"

    def env(self, protocol: str, mechanism: str | None = None, **extra: str) -> dict[str, str]:
        """kafkactl settings (environment) for one listener; `extra` adds or overrides."""
        env = {"KAFKA_BROKERS": self.address(protocol), "KAFKA_SECURITY_PROTOCOL": protocol}
        if protocol in ("SSL", "SASL_SSL"):
            env["KAFKA_SSL_CAFILE"] = self.ca_file
        if protocol.startswith("SASL_"):
            env.update(
                KAFKA_SASL_MECHANISM=mechanism or "SCRAM-SHA-512",
                KAFKA_SASL_USERNAME=self.user,
                KAFKA_SASL_PASSWORD=self.password,
            )
        env.update(extra)
        return env


def _secure_from_script_env() -> SecureBroker | None:
    """The secured listeners of the broker scripts/test.sh started, if it has them."""
    names = {
        "PLAINTEXT": "KAFKA_LOCAL_PORT",
        "SSL": "KAFKA_LOCAL_SSL_PORT",
        "SASL_PLAINTEXT": "KAFKA_LOCAL_SASL_PLAINTEXT_PORT",
        "SASL_SSL": "KAFKA_LOCAL_SASL_SSL_PORT",
    }
    data_dir = os.environ.get("KAFKA_LOCAL_DIR")
    if os.environ.get("KAFKA_LOCAL_SECURE") != "1" or not data_dir:
        return None
    if not all(os.environ.get(var, "").isdigit() for var in names.values()):
        return None
    ports = {protocol: int(os.environ[var]) for protocol, var in names.items()}
    if not (Path(data_dir) / "tls" / "ca.pem").is_file():
        return None
    if not all(_answers(f"127.0.0.1:{port}") for port in ports.values()):
        return None
    return SecureBroker(
        ports,
        data_dir,
        os.environ.get("KAFKA_LOCAL_SASL_USER", "kafkactl"),
        os.environ.get("KAFKA_LOCAL_SASL_PASSWORD", "kafkactl-secret"),
        dict(os.environ),
    )


@pytest.fixture(scope="session")
def secure_broker() -> Iterator[SecureBroker]:
    """A broker with SSL, SASL_PLAINTEXT and SASL_SSL listeners (PLAIN, SCRAM-SHA-256/512).

    The one scripts/test.sh started when it has them, else one started here (and stopped at
    the end) with scripts/kafka-local and KAFKA_LOCAL_SECURE=1.
    """
    found = _secure_from_script_env()
    if found is not None:
        yield found
        return
    data_dir = tempfile.mkdtemp(prefix="kafkactl-test-secure-")
    socks = [socket.socket() for _ in range(5)]
    for sock in socks:
        sock.bind(("127.0.0.1", 0))
    port, cport, ssl_port, sasl_port, sasl_ssl_port = (s.getsockname()[1] for s in socks)
    for sock in socks:
        sock.close()
    user, password = "kafkactl", f"secret-{uuid.uuid4().hex[:12]}"
    env = {
        **os.environ,
        "KAFKA_LOCAL_PORT": str(port),
        "KAFKA_LOCAL_CONTROLLER_PORT": str(cport),
        "KAFKA_LOCAL_DIR": data_dir,
        "KAFKA_LOCAL_SECURE": "1",
        "KAFKA_LOCAL_SSL_PORT": str(ssl_port),
        "KAFKA_LOCAL_SASL_PLAINTEXT_PORT": str(sasl_port),
        "KAFKA_LOCAL_SASL_SSL_PORT": str(sasl_ssl_port),
        "KAFKA_LOCAL_SASL_USER": user,
        "KAFKA_LOCAL_SASL_PASSWORD": password,
    }
    subprocess.run([str(KAFKA_LOCAL), "start"], env=env, check=True, timeout=180)
    ports = {
        "PLAINTEXT": port,
        "SSL": ssl_port,
        "SASL_PLAINTEXT": sasl_port,
        "SASL_SSL": sasl_ssl_port,
    }
    try:
        yield SecureBroker(ports, data_dir, user, password, env)
    finally:
        subprocess.run([str(KAFKA_LOCAL), "stop"], env=env, check=False, timeout=180)
        shutil.rmtree(data_dir, ignore_errors=True)


# --- the schema registry (DESIGN §14.1) ----------------------------------------------------------

SCHEMA_REGISTRY_LOCAL = REPO / "scripts" / "schema-registry-local"
REGISTRY_API = "/apis/ccompat/v7"


def _registry_answers(url: str, timeout: float = 3.0) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"{url}/subjects", timeout=timeout) as response:
            return bool(response.status == 200)
    except (OSError, ValueError):
        return False


class LocalRegistry:
    """A Confluent-compatible schema registry: its URL, and small HTTP helpers for tests that
    check what it holds independently of kafkactl."""

    def __init__(self, url: str) -> None:
        self.url = url

    def request(self, method: str, path: str, body: object = None) -> tuple[int, object]:
        """One HTTP call to the registry's Confluent API; (status, parsed JSON body)."""
        import json
        import urllib.error
        import urllib.request

        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            f"{self.url}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/vnd.schemaregistry.v1+json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def schema(self, schema_id: int) -> dict[str, object]:
        """GET /schemas/ids/{id}."""
        status, body = self.request("GET", f"/schemas/ids/{schema_id}")
        assert status == 200, (status, body)
        assert isinstance(body, dict)
        return body

    def set_compatibility(self, subject: str, level: str) -> None:
        """PUT /config/{subject}."""
        status, body = self.request("PUT", f"/config/{subject}", {"compatibility": level})
        assert status == 200, (status, body)


@pytest.fixture(scope="session")
def schema_registry() -> Iterator[LocalRegistry]:
    """The registry the schema tests use: KAFKACTL_TEST_SCHEMA_REGISTRY_URL when it answers
    (scripts/test.sh starts one; the other tests run without a registry), else one started
    here with scripts/schema-registry-local (built once from Maven Central, cached) and stopped
    at the end. Started only when a test asks."""
    given = os.environ.get("KAFKACTL_TEST_SCHEMA_REGISTRY_URL")
    if given and _registry_answers(given):
        yield LocalRegistry(given.rstrip("/"))
        return
    run_dir = tempfile.mkdtemp(prefix="kafkactl-test-registry-")
    env = {
        **os.environ,
        "SCHEMA_REGISTRY_LOCAL_PORT": str(_free_port()),
        "SCHEMA_REGISTRY_LOCAL_DIR": run_dir,
    }
    subprocess.run([str(SCHEMA_REGISTRY_LOCAL), "start"], env=env, check=True, timeout=900)
    url = f"http://127.0.0.1:{env['SCHEMA_REGISTRY_LOCAL_PORT']}{REGISTRY_API}"
    try:
        yield LocalRegistry(url)
    finally:
        subprocess.run([str(SCHEMA_REGISTRY_LOCAL), "stop"], env=env, check=False, timeout=60)
        shutil.rmtree(run_dir, ignore_errors=True)
