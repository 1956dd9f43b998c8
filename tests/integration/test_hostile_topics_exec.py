"""Issue 22, cases C, M, N against the real broker: compacted dead-letter topics, --exec with
headers too big for the environment, a transform's background children, a deleted working
directory. Every process runs in its own session under a hard timeout (hostile_cases)."""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

import pytest
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic

from tests.integration.hostile_cases import (
    assert_clean,
    assert_one_error,
    kafkactl,
    kcat_count,
    kcat_path,
    shell,
)
from tests.integration.kafka_helpers import committed_and_end, produce
from tests.integration.test_hostile_input import _base_env, _uid
from tests.unit.test_handlers_exec import running

POLICY = "cleanup.policy"


@pytest.fixture
def env(brokers: str, tmp_path: Path) -> dict:
    """The environment of the engine-independent cases (admin runs on kafka-python always)."""
    return _base_env(brokers, tmp_path)


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


# --- M: --exec with headers too large for the environment; a transform's background children


def _create(env: dict, topic: str, group: str) -> None:
    ran = kafkactl("create-topics", topic, "-g", group, "-p", "1", env=env, timeout=60)
    assert ran.returncode == 0, f"setup: create-topics failed\n{ran}"


def test_exec_gets_200_kb_of_headers_in_a_file_and_nothing_goes_to_the_dlq(
    cli_env: dict, brokers: str, tmp_path: Path
) -> None:
    topic, group = f"h22m-{_uid()}", "g"
    _create(cli_env, topic, group)
    headers = [(f"h{i:03}", os.urandom(500).hex().encode()) for i in range(200)]  # ~200 KB
    produce(brokers, topic, [(b"k", b"v", headers)])
    seen = tmp_path / "headers.json"
    command = (
        f'test -z "${{KAFKA_HEADERS+set}}" && cat "$KAFKA_HEADERS_FILE" > {seen} '
        f'&& echo "$KAFKA_KEY" > {tmp_path / "key"}'
    )

    ran = kafkactl(
        "consume", topic, "-g", group, "-e", "--no-retry", "--exec", command,
        env=cli_env, timeout=90,
    )  # fmt: skip

    assert ran.returncode == 0, ran
    assert_clean(ran)
    assert json.loads(seen.read_bytes()) == {n: v.decode() for n, v in headers}
    assert (tmp_path / "key").read_text() == "k\n"
    assert kcat_count(brokers, f"{topic}.{group}.dlq") == 0
    (done,) = committed_and_end(brokers, group, [topic]).values()
    assert done == (1, 1), "the record is not committed"
    assert not list(Path(os.environ.get("TMPDIR", "/tmp")).glob("kafkactl-*.headers.json"))


def _dead_letters(brokers: str, topic: str, group: str, count: int) -> str:
    dlq = f"{topic}.{group}.dlq"
    records = [
        (
            f"k{i}".encode(),
            f"v{i}".encode(),
            [
                ("kafkactl.original.topic", topic.encode()),
                ("kafkactl.original.partition", b"0"),
                ("kafkactl.original.offset", str(i).encode()),
                ("kafkactl.group", group.encode()),
                ("kafkactl.attempt", b"3"),
                ("kafkactl.error.kind", b"retryable"),
                ("kafkactl.error.class", b"KeyError"),
                ("kafkactl.error.message", b"boom"),
            ],
        )
        for i in range(count)
    ]
    produce(brokers, dlq, records)
    return dlq


@pytest.mark.parametrize("start", ["", "setsid "], ids=["background", "setsid"])
def test_a_transform_s_background_child_is_no_timeout_and_does_not_outlive_it(
    cli_env: dict, brokers: str, start: str
) -> None:
    topic, group = f"h22m-{_uid()}", "g"
    _create(cli_env, topic, group)
    dlq = _dead_letters(brokers, topic, group, 3)
    marker = f"20.{uuid.uuid4().int % 10**9:09}"  # a unique `sleep` duration

    started = time.monotonic()
    ran = kafkactl(
        "replay-dlq", dlq, "--to", "original", "--transform", f"{start}sleep {marker} & cat",
        "--transform-timeout", "10s", "--yes", "--json", env=cli_env, timeout=60,
    )  # fmt: skip
    took = time.monotonic() - started

    assert ran.returncode == 0, ran
    assert_clean(ran)
    summary = json.loads(ran.out)
    assert (summary["replayed"], summary["unrepaired"]) == (3, 0), summary
    assert took < 10 + 20, f"the replay took {took:.1f}s"  # not one transform timeout per record
    assert kcat_count(brokers, topic) == 3
    assert running(marker) == [], "a child of the transform is still running"


# --- N: a deleted working directory with --handler / --transform-handler -------------------


@pytest.mark.parametrize(
    "command",
    [
        "KCTL consume h22n-none -g g -e --handler os.path:basename",
        "KCTL replay-dlq h22n-none -g g --dry-run --transform-handler os.path:basename",
    ],
    ids=["handler", "transform-handler"],
)
def test_a_deleted_working_directory_is_one_line_and_exit_2(env: dict, command: str) -> None:
    ran = shell(f'd=$(mktemp -d) && cd "$d" && rmdir "$d" && {command}', env, timeout=30)

    assert ran.returncode == 2, ran
    assert_one_error(ran, ["working directory no longer exists", "cd to"])
