import pytest

from tests.integration.cluster_helpers import cluster, whole_cluster  # noqa: F401 (fixtures)
from tests.integration.foreign_fixtures import (  # noqa: F401 (fixtures)
    connect_worker,
    spring_app,
    spring_build,
)
from tests.integration.kafka_helpers import RUNNING


def pytest_collection_modifyitems(items):
    """Everything under tests/integration talks to the real broker; a test that restarts the
    shared broker runs alone (scripts/test.sh runs `restarts_broker` after the parallel run)."""
    for item in items:
        if "/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)
        if "restartable_broker" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.restarts_broker)


@pytest.fixture
def g(topic_name: str):
    """Unique consumer group names: the broker may be shared with other test runs."""
    return lambda name: f"{name}-{topic_name[2:8]}"


@pytest.fixture(autouse=True)
def _no_stray_processes():
    """Kill any subprocess a failed test left running."""
    yield
    while RUNNING:
        proc = RUNNING.pop()
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
