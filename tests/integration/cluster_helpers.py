"""A 3-node KRaft cluster for the fault suite (scripts/kafka-local with KAFKA_LOCAL_NODES=3).

The cluster is started once per test session by the `cluster` fixture (on free ports, in a
temporary folder) and stopped at the end. `Cluster.node(action, i)` kills, stops, starts, pauses
or resumes one node; `healed()` brings every node back and waits until every replica is in
sync again, so each test starts from a whole cluster. kcat is the independent reader: it reads
the cluster's metadata (leaders, ISRs) and counts records.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import KAFKA_LOCAL
from tests.integration.hostile_cases import kcat_path

NODES = 3


def _free_run(count: int) -> int:
    """The first of `count` consecutive free loopback ports."""
    for _ in range(200):
        # Below the ephemeral range (32768-60999 here): a client's outgoing connection may take a
        # port of that range, and a killed node could not bind its own again on restart.
        base = random.randint(20_000, 32_000)
        socks = []
        try:
            for port in range(base, base + count):
                sock = socket.socket()
                socks.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
    raise RuntimeError("no run of free ports found")


class Cluster:
    """Three broker+controller nodes on loopback, driven through scripts/kafka-local."""

    def __init__(self, folder: Path) -> None:
        port = _free_run(2 * NODES)
        self.folder = folder
        self.ports = [port + i for i in range(NODES)]
        self.bootstrap = ",".join(f"127.0.0.1:{p}" for p in self.ports)
        self.env = {
            **os.environ,
            "KAFKA_LOCAL_NODES": str(NODES),
            "KAFKA_LOCAL_PORT": str(port),
            "KAFKA_LOCAL_CONTROLLER_PORT": str(port + NODES),
            "KAFKA_LOCAL_DIR": str(folder),
            "KAFKA_LOCAL_SECURE": "0",
            "KAFKA_LOCAL_HEAP": "384m",
        }

    def script(self, *args: str) -> None:
        """Run scripts/kafka-local with this cluster's settings."""
        done = subprocess.run(
            [str(KAFKA_LOCAL), *args], env=self.env, capture_output=True, timeout=240
        )
        if done.returncode != 0:
            pytest.fail(f"kafka-local {' '.join(args)} failed: {done.stderr.decode()[-2000:]}")

    def node(self, action: str, node: int) -> None:
        """kill | stop | start | pause | resume one node (1-based)."""
        self.script(action, str(node))

    def metadata(self, topic: str | None = None) -> dict:
        """kcat's view of the cluster (brokers, topics, partitions with leader/replicas/isrs)."""
        argv = [kcat_path(), "-L", "-J", "-b", self.bootstrap, "-m", "10"]
        if topic:
            argv += ["-t", topic]
        done = subprocess.run(argv, capture_output=True, timeout=60)
        assert done.returncode == 0, done.stderr.decode()
        return json.loads(done.stdout)

    def leader(self, topic: str, partition: int) -> int:
        """The node id leading one partition now."""
        for t in self.metadata(topic)["topics"]:
            for p in t["partitions"]:
                if p["partition"] == partition:
                    return int(p["leader"])
        raise AssertionError(f"{topic}[{partition}] not in the metadata")

    def in_sync(self) -> bool:
        """Every node up and every partition's ISR holding all its replicas."""
        try:
            meta = self.metadata()
        except (AssertionError, ValueError, subprocess.TimeoutExpired):
            return False
        if len(meta.get("brokers", [])) != NODES:
            return False
        return all(
            len(p.get("isrs", [])) == len(p.get("replicas", []))
            for t in meta.get("topics", [])
            for p in t.get("partitions", [])
        )

    def healed(self, timeout: float = 120) -> None:
        """Every node running again and every replica in sync."""
        for node in range(1, NODES + 1):
            if self._paused(node):
                self.node("resume", node)
            self.node("start", node)
        deadline = time.monotonic() + timeout
        while not self.in_sync():
            if time.monotonic() > deadline:
                pytest.fail("the cluster did not get all replicas back in sync")
            time.sleep(0.5)

    def _paused(self, node: int) -> bool:
        pid_file = self.folder / f"node-{node}" / "kafka.pid"
        try:
            pid = pid_file.read_text().strip()
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return False
        states = [line.split()[1] for line in status.splitlines() if line.startswith("State:")]
        return states == ["T"]


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    """The session's 3-node cluster (started on first use, stopped at the end)."""
    folder = Path(tempfile.mkdtemp(prefix="kafkactl-test-cluster-"))
    started = Cluster(folder)
    started.script("start")
    try:
        yield started
    finally:
        subprocess.run(
            [str(KAFKA_LOCAL), "stop"], env=started.env, capture_output=True, timeout=240
        )
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def whole_cluster(cluster: Cluster) -> Iterator[Cluster]:
    """The cluster with every node up and in sync, before and after the test."""
    cluster.healed()
    yield cluster
    cluster.healed()
