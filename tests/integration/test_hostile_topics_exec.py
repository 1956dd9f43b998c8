"""Issue 22, cases C, M, N against the real broker: compacted dead-letter topics, --exec with
headers too big for the environment, a transform's background children, a deleted working
directory. Every process runs in its own session under a hard timeout (hostile_cases)."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic

from tests.integration.hostile_cases import assert_clean, kafkactl, kcat_path

POLICY = "cleanup.policy"


def _uid() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture
def env(brokers: str, tmp_path: Path) -> dict:
    """The environment of the engine-independent cases (admin runs on kafka-python always)."""
    out = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "KAFKACTL_"))}
    out.update(
        KAFKA_BROKERS=brokers,
        KAFKA_LOG_FORMAT="json",
        XDG_CONFIG_HOME=str(tmp_path / "xdg"),
        COLUMNS="200",
    )
    return out


@pytest.fixture(scope="session", autouse=True)
def _kcat_present() -> None:
    kcat_path()


def _configs(admin, names: list[str]) -> dict[str, dict[str, str]]:
    """Each topic's effective cleanup.policy and retention, read back by kafka-python."""
    keys = [POLICY, "retention.ms", "retention.bytes", "delete.retention.ms"]
    answer = admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, n, keys) for n in names], config_filter="all"
    )
    return {n: {k: e["value"] for k, e in v.items()} for n, v in answer["topic"].items()}


def _pipeline(topic: str, group: str) -> list[str]:
    return [topic, *(f"{topic}.{group}.retry.{n}" for n in (1, 2, 3)), f"{topic}.{group}.dlq"]


# --- C: tiers and the DLQ never inherit compaction or a shorter retention ------------------


def test_compact_applies_to_the_named_topic_only(env: dict, admin) -> None:
    topic, group = f"h22c-{_uid()}", "g"
    ran = kafkactl(
        "create-topics", topic, "-g", group, "-p", "1", "-c", f"{POLICY}=compact",
        "-c", "retention.ms=-1", "-c", "delete.retention.ms=1", env=env, timeout=60,
    )  # fmt: skip
    assert ran.returncode == 0, ran
    assert_clean(ran)

    found = _configs(admin, _pipeline(topic, group))

    assert found[topic][POLICY] == "compact"
    for copy in _pipeline(topic, group)[1:]:
        assert found[copy][POLICY] == "delete", (copy, found[copy])
        assert found[copy]["retention.ms"] == "-1", (copy, found[copy])  # the main topic's
        assert found[copy]["delete.retention.ms"] != "1", (copy, found[copy])


def test_an_existing_compacted_dlq_is_a_risk_in_create_topics_and_health(env: dict, admin):
    topic, group = f"h22c-{_uid()}", "g"
    names = _pipeline(topic, group)
    dlq = names[-1]
    admin.create_topics(
        [NewTopic(n, 1, 1) for n in names[:-1]]
        + [NewTopic(dlq, 1, 1, topic_configs={POLICY: "compact"})]
    )

    ran = kafkactl("create-topics", topic, "-g", group, "-p", "1", "--json", env=env, timeout=60)

    assert ran.returncode == 0, ran
    assert_clean(ran)
    warnings = [line for line in ran.err.splitlines() if dlq in line and "compact" in line]
    assert len(warnings) == 1 and "cleanup.policy=compact" in warnings[0], ran

    rows = {r["name"]: r for r in json.loads(ran.out)["topics"]}
    assert rows[dlq]["status"] == "exists"
    assert [r.split(":")[0] for r in rows[dlq]["risks"]] == ["has cleanup.policy=compact"]
    assert all(rows[n]["risks"] == [] for n in names[:-1])

    health = kafkactl("health", "-t", topic, "-g", group, "--json", env=env, timeout=60)

    assert health.returncode == 1, health
    report = json.loads(health.out)
    assert report["verdict"] == "degraded"
    assert any(dlq in r and "cleanup.policy=compact" in r for r in report["reasons"]), report
