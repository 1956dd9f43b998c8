"""--isolation-level (DESIGN §4.3a): a copy pipe reading with read_committed carries only what a
transactional producer committed, never what it aborted; read_uncommitted carries both.
Both engines; the transactional producer is confluent-kafka's, the counts are kcat's."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.integration.hostile_cases import assert_clean, kafkactl, kcat_count, kcat_read, shell

pytestmark = pytest.mark.integration

COMMITTED, ABORTED = 40, 25


def _transactional_batches(brokers: str, topic: str) -> None:
    """One committed transaction of COMMITTED records, then an aborted one of ABORTED."""
    from confluent_kafka import Producer

    producer = Producer(
        {"bootstrap.servers": brokers, "transactional.id": f"iso-{uuid.uuid4().hex[:8]}"}
    )
    producer.init_transactions(30)
    for kind, count in (("committed", COMMITTED), ("aborted", ABORTED)):
        producer.begin_transaction()
        for n in range(count):
            producer.produce(topic, json.dumps({"kind": kind, "n": n}).encode(), key=str(n))
        if kind == "committed":
            producer.commit_transaction(30)
        else:
            producer.flush(30)
            producer.abort_transaction(30)


@pytest.mark.parametrize("level", ["read_committed", "read_uncommitted"])
def test_copy_pipe_reads_only_committed_transactions(
    brokers: str, cli_env: dict[str, str], level: str
) -> None:
    source, copy = (f"iso-{uuid.uuid4().hex[:8]}-{x}" for x in ("src", "copy"))
    created = kafkactl("create-topics", source, copy, "-p", "2", env=cli_env, timeout=60)
    assert created.returncode == 0, created
    _transactional_batches(brokers, source)

    piped = shell(
        f"KCTL consume {source} -e -q --isolation-level {level} | "
        f"KCTL produce {copy} --format envelope -q",
        env=cli_env,
        timeout=120,
    )
    assert piped.returncode == 0, piped
    assert_clean(piped)
    expected = COMMITTED if level == "read_committed" else COMMITTED + ABORTED
    assert kcat_count(brokers, copy) == expected
    kinds = {json.loads(r.value)["kind"] for r in kcat_read(brokers, copy)}
    assert kinds == ({"committed"} if level == "read_committed" else {"committed", "aborted"})


def test_isolation_level_is_a_setting_and_a_bad_one_is_exit_2(cli_env: dict[str, str]) -> None:
    shown = kafkactl(
        "config", "--json", env={**cli_env, "KAFKA_CONSUMER_ISOLATION_LEVEL": "read_committed"}
    )
    assert shown.returncode == 0, shown
    setting = json.loads(shown.out)["settings"]["consumer_isolation_level"]
    assert setting == {
        "value": "read_committed",
        "env": "KAFKA_CONSUMER_ISOLATION_LEVEL",
        "source": "env",
    }
    bad = kafkactl("consume", "t", "-e", "--isolation-level", "serializable", env=cli_env)
    assert bad.returncode == 2, bad
    assert "serializable" in bad.err
