"""Shared fixtures: a real Kafka broker (KAFKA_BROKERS if it answers, else scripts/kafka-local)."""

from __future__ import annotations

import os
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


@pytest.fixture
def cli_env(brokers: str, tmp_path: Path) -> dict[str, str]:
    """Environment for running the CLI: the test broker, no stray config, JSON logs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "KAFKACTL_"))}
    env.update(
        KAFKA_BROKERS=brokers,
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
