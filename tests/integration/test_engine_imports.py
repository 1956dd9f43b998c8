"""A librdkafka run loads no kafka-python module (DESIGN §3.6): its admin work goes through
confluent-kafka's AdminClient, and nothing else on the way imports the other engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.kafka_helpers import kcat

# Put on PYTHONPATH, Python imports it at start-up: at exit, the CLI run prints the kafka-python
# modules it loaded.
SITECUSTOMIZE = """
import atexit, json, sys

def _report():
    loaded = sorted(m for m in sys.modules if m == "kafka" or m.startswith("kafka."))
    sys.stderr.write("KAFKA-PYTHON MODULES " + json.dumps(loaded) + "\\n")

atexit.register(_report)
"""


def _loaded(result) -> list[str]:
    """The kafka-python modules a CLI run imported; the run must have succeeded."""
    stderr = result.stderr.decode()
    assert result.returncode == 0, stderr
    (line,) = [x for x in stderr.splitlines() if x.startswith("KAFKA-PYTHON MODULES ")]
    return list(json.loads(line.removeprefix("KAFKA-PYTHON MODULES ")))


@pytest.mark.parametrize("engine", ["librdkafka"], indirect=True)
def test_a_librdkafka_run_imports_no_kafka_python_module(
    run_cli, brokers: str, topic_name: str, tmp_path: Path
) -> None:
    empty = f"{topic_name}-empty"
    created = run_cli("create-topics", topic_name, empty, "--no-retry", "-p", "2")
    assert created.returncode == 0, created.stderr.decode()
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(SITECUSTOMIZE)
    env = {"PYTHONPATH": str(hook)}

    loaded = {
        "consume -e (empty topic)": _loaded(run_cli("consume", empty, "-e", env=env)),
        "produce": _loaded(run_cli("produce", topic_name, input='{"a": 1}\n', env=env)),
        "health": _loaded(run_cli("health", "-t", topic_name, "--no-retry", env=env)),
        "topics describe": _loaded(run_cli("topics", "describe", topic_name, env=env)),
    }
    assert loaded == {what: [] for what in loaded}
    records = kcat(brokers, "-C", "-t", topic_name, "-e", "-q", "-f", "%s\\n").splitlines()
    assert records == [b'{"a": 1}'], "the run produced its record"
