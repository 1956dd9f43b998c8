"""Real producers of foreign dead letters for the integration tests: a Kafka Connect standalone
worker (scripts/kafka-connect-local) and a Spring Kafka application (scripts/spring-dlt).

Both are started only for the tests that ask for them and always stopped: the Connect worker
once per session, a Spring application per test (it is given that test's topics). Start-up is
bounded (a Maven resolve or build the first time, then the JVM); what they log is kept in the
fixture's folder and shown when they fail to start.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.integration.kafka_helpers import track

CONNECT_LOCAL = REPO / "scripts" / "kafka-connect-local"
SPRING_RUN = REPO / "scripts" / "spring-dlt" / "run"
# A cold Maven resolve or build downloads from Maven Central: bounded, but not short.
PREPARE_TIMEOUT = 600
START_TIMEOUT = 120


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"({path} not written)"


class ConnectWorker:
    """A Kafka Connect standalone worker on the test broker; connectors through its REST API."""

    def __init__(self, brokers: str, folder: Path) -> None:
        self.folder = folder
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "KAFKA_CONNECT_BOOTSTRAP": brokers,
            "KAFKA_CONNECT_PORT": str(self.port),
            "KAFKA_CONNECT_DIR": str(folder),
        }

    def run(self, action: str) -> None:
        """start | stop through the script (start waits until the REST API answers)."""
        done = subprocess.run(
            [str(CONNECT_LOCAL), action],
            env=self.env,
            capture_output=True,
            timeout=PREPARE_TIMEOUT,
        )
        if done.returncode != 0:
            pytest.fail(
                f"kafka-connect-local {action} failed: {done.stderr.decode()[-2000:]}\n"
                + _tail(self.folder / "logs" / "connect.log")
            )

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            text = answer.read()
        return json.loads(text) if text else None

    def dead_lettering_sink(self, name: str, topic: str, dlq: str) -> Path:
        """A FileStreamSink on `topic` that dead-letters what it cannot convert into `dlq`
        (errors.tolerance=all, context headers on; values: JsonConverter with schemas, so a
        plain JSON value fails). Returns the sink file; waits until its task runs."""
        sink = self.folder / f"{name}.txt"
        self._call(
            "PUT",
            f"/connectors/{name}/config",
            {
                "connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector",
                "tasks.max": "1",
                "topics": topic,
                "file": str(sink),
                "key.converter": "org.apache.kafka.connect.storage.StringConverter",
                "value.converter": "org.apache.kafka.connect.json.JsonConverter",
                "value.converter.schemas.enable": "true",
                "errors.tolerance": "all",
                "errors.log.enable": "true",
                "errors.deadletterqueue.topic.name": dlq,
                "errors.deadletterqueue.topic.replication.factor": "1",
                "errors.deadletterqueue.context.headers.enable": "true",
            },
        )
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                status = self._call("GET", f"/connectors/{name}/status")
            except urllib.error.HTTPError:
                status = {}
            states = [status.get("connector", {}).get("state")] + [
                t.get("state") for t in status.get("tasks", [])
            ]
            if len(states) == 2 and set(states) == {"RUNNING"}:
                return sink
            if "FAILED" in states or time.monotonic() > deadline:
                pytest.fail(f"connector {name} is not running: {status}")
            time.sleep(0.2)

    def delete(self, name: str) -> None:
        """Remove a connector (its task stops consuming)."""
        self._call("DELETE", f"/connectors/{name}")


@pytest.fixture(scope="session")
def connect_worker(brokers: str) -> Iterator[ConnectWorker]:
    """A Connect standalone worker for the session (jars resolved once and cached)."""
    folder = Path(tempfile.mkdtemp(prefix="kafkactl-test-connect-"))
    worker = ConnectWorker(brokers, folder)
    worker.run("start")
    try:
        yield worker
    finally:
        worker.run("stop")
        shutil.rmtree(folder, ignore_errors=True)


class SpringApp:
    """One running Spring Kafka application (scripts/spring-dlt, mode plain or retry)."""

    def __init__(self, mode: str, brokers: str, topic: str, group: str, log: Path) -> None:
        self.log = log
        self._out = log.open("wb")
        self.proc = track(
            subprocess.Popen(
                [
                    str(SPRING_RUN),
                    mode,
                    f"bootstrap={brokers}",
                    f"topic={topic}",
                    f"group={group}",
                ],
                stdout=self._out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        )

    def lines(self, prefix: str) -> list[str]:
        """What the application said on stdout, lines starting with `prefix`."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return [line for line in text.splitlines() if line.startswith(prefix)]

    def wait_started(self) -> None:
        """Until the context is up (its listeners subscribed); fails if the JVM exits."""
        deadline = time.monotonic() + START_TIMEOUT
        while not self.lines("STARTED"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the Spring application did not start:\n{_tail(self.log)}")
            time.sleep(0.2)

    def stop(self) -> None:
        """SIGTERM (the context closes, consumers leave their group), then SIGKILL after 30s."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._out.close()


@pytest.fixture(scope="session")
def spring_build() -> None:
    """Compile the Spring application once (cached in scripts/spring-dlt/target)."""
    done = subprocess.run([str(SPRING_RUN), "build"], capture_output=True, timeout=PREPARE_TIMEOUT)
    if done.returncode != 0:
        pytest.fail(f"building scripts/spring-dlt failed: {done.stderr.decode()[-3000:]}")


@pytest.fixture
def spring_app(
    spring_build: None, brokers: str, tmp_path: Path
) -> Iterator[Callable[[str, str, str], SpringApp]]:
    """Start Spring applications: `spring_app(mode, topic, group)`; all stopped after the test."""
    started: list[SpringApp] = []

    def start(mode: str, topic: str, group: str) -> SpringApp:
        app = SpringApp(mode, brokers, topic, group, tmp_path / f"spring-{len(started)}.log")
        started.append(app)
        app.wait_started()
        return app

    try:
        yield start
    finally:
        for app in started:
            app.stop()
