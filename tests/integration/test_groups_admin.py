"""groups delete / delete-offsets / reset-offsets --all-topics against the real broker, both
engines: refused while the group has a member, dry runs change nothing, and what changed is
read back with kafka-python's own admin client."""

from __future__ import annotations

import json
import subprocess

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

from tests.integration.kafka_helpers import one_line_error, wait_for


def _ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    assert b"Traceback" not in result.stderr
    return result


def _committed(admin: KafkaAdminClient, group: str) -> dict[tuple[str, int], int]:
    offsets = admin.list_group_offsets(group).get(group, {})
    return {(tp.topic, tp.partition): m.offset for tp, m in offsets.items() if m.offset >= 0}


def _groups(admin: KafkaAdminClient) -> set[str]:
    return {g["group_id"] for g in admin.list_groups()}


def test_group_changes_refused_with_members_then_applied(run_cli, brokers, topic_name, g, admin):
    a, b, group = f"{topic_name}-a", f"{topic_name}-b", g("ops")
    _ok(run_cli("create-topics", a, b, "-p", "2", "--no-retry", "-q"))
    producer = KafkaProducer(bootstrap_servers=brokers.split(","))
    for n in range(12):
        producer.send(a if n % 2 else b, b"x", partition=n % 4 // 2)
    producer.flush()
    producer.close()
    ends = {(t, p): 3 for t in (a, b) for p in (0, 1)}

    member = KafkaConsumer(
        a,
        b,
        bootstrap_servers=brokers.split(","),
        group_id=group,
        client_id="worker-7",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    try:
        wait_for(
            lambda: member.poll(200) is not None and len(member.assignment()) == 4,
            30,
            "the member to get all four partitions",
        )
        member.commit({TopicPartition(t, p): OffsetAndMetadata(3, "", -1) for t, p in ends})
        for args in (
            ("groups", "delete", group, "--yes"),
            ("groups", "delete-offsets", group, "-t", a, "--execute"),
            ("groups", "reset-offsets", group, "--all-topics", "--to", "earliest", "--execute"),
        ):
            line = one_line_error(run_cli(*args), 1, "stop its consumers first")
            assert "1 member(s) (worker-7@" in line, line
        assert _committed(admin, group) == ends, "a refused change changed offsets"
    finally:
        member.close()

    plan = json.loads(
        _ok(
            run_cli("groups", "reset-offsets", group, "--all-topics", "--to", "earliest", "--json")
        ).stdout
    )
    assert {(r["topic"], r["partition"], r["new"]) for r in plan["rows"]} == {
        (t, p, 0) for t, p in ends
    }
    assert _committed(admin, group) == ends, "the dry run moved offsets"
    _ok(
        run_cli(
            "groups", "reset-offsets", group, "--all-topics", "--to", "earliest", "--execute", "-q"
        )
    )
    assert _committed(admin, group) == dict.fromkeys(ends, 0)

    dry = json.loads(_ok(run_cli("groups", "delete-offsets", group, "-t", a, "--json")).stdout)
    assert [r["partition"] for r in dry["rows"]] == [0, 1] and not dry["executed"]
    assert len(_committed(admin, group)) == 4, "the dry run deleted offsets"
    _ok(run_cli("groups", "delete-offsets", group, "-t", a, "--execute", "-q"))
    assert set(_committed(admin, group)) == {(b, 0), (b, 1)}
    one_line_error(
        run_cli("groups", "delete-offsets", group, "-t", a), 2, "no committed offsets on topic"
    )

    one_line_error(run_cli("groups", "delete", group, input=""), 2, "add --yes")
    assert group in _groups(admin)
    done = json.loads(_ok(run_cli("groups", "delete", group, "--yes", "--json")).stdout)
    assert [(r["group"], r["status"]) for r in done["groups"]] == [(group, "done")]
    assert group not in _groups(admin)
    assert _committed(admin, group) == {}
    one_line_error(run_cli("groups", "delete", group, "--yes"), 1, f"group {group} is unknown")
