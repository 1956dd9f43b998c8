"""scripts/demo.sh runs the whole story to the end against the real broker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, LocalRegistry


# The whole story end to end (now with an outage absorbed by the breaker) takes minutes on a
# loaded 2-core machine: more than the suite's 300 s per test; the run itself is bounded at 600 s.
@pytest.mark.timeout(660)
def test_demo_runs_to_the_end(
    brokers: str, engine: str, tmp_path: Path, schema_registry: LocalRegistry
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "KAFKACTL_"))}
    env.update(
        KAFKA_BROKERS=brokers,
        KAFKA_ENGINE=engine,
        KAFKA_SCHEMA_REGISTRY_URL=schema_registry.url,
        KAFKACTL_VENV=str(Path(sys.executable).parent.parent),
    )
    result = subprocess.run(
        ["bash", str(REPO / "scripts" / "demo.sh")],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        timeout=600,
    )
    err = result.stderr.decode()
    assert result.returncode == 0, err[-4000:]
    assert "a broker answers already; using it" in err
    assert "Consume summary (stopped: end)" in err
    assert "Traceback" not in err
    # The replay moved the LookupError dead letters back, and the second consume processed them.
    assert "8. The bug is fixed" in err and "Done." in err
    assert "kafkactl 0." in err and "engine auto:" in err
    # The schema step: Avro through the registry, one line rejected, the orders decoded.
    assert "a schema registry answers at" in err
    assert "line 2: invalid" in err and "does not fit schema" in err
    assert b'"value_schema_id"' in result.stdout and b'"customer":"c3"' in result.stdout
