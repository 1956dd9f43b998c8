"""Foreign dead letters through the replay engine (in-memory cluster): the copies leave out the
frameworks' error context unless --keep-foreign-headers, and the dry run says what it dropped
and where framework headers repeat."""

from __future__ import annotations

import os
from typing import Any

from kafkactl import headers as hdr
from kafkactl.config import load_settings
from kafkactl.render import err
from kafkactl.render.replay import header_notes, summary_table
from kafkactl.replay import Replayer, ReplayOptions
from tests.fakes import FakeCluster
from tests.unit.replay_samples import CONNECT, SPRING

SETTINGS = load_settings(env={}, config_path=os.devnull)
DLQ = "payments.dlq"
BUSINESS = [("tenant", b"acme")]
# Connect's headers once more, as Connect appends them when a copy that kept them fails again.
CONNECT_AGAIN = [
    ("__connect.errors.topic", b"payments"),
    ("__connect.errors.partition", b"3"),
    ("__connect.errors.offset", b"1300"),
    ("__connect.errors.exception.message", b"second failure"),
]


def cluster_with(*dead_letters: list[tuple[str, bytes]]) -> FakeCluster:
    cluster = FakeCluster()
    cluster.create_topics(["payments", "invoices", DLQ])
    for i, headers in enumerate(dead_letters):
        cluster.produce(DLQ, b'{"id": %d}' % i, b"k%d" % i, headers, 0)
    return cluster


def engine(cluster: FakeCluster, **options: Any) -> Replayer:
    replay = Replayer(
        SETTINGS,
        ReplayOptions(dlq=DLQ, to="original", poll_timeout_ms=10, **options),
        connect_admin=cluster.connect_admin,
        connect_consumer=cluster.connect_consumer,
        connect_producer=cluster.connect_producer,
    )
    replay.open()
    return replay


def names(record: Any) -> list[str]:
    return [k for k, _ in record.headers]


def test_copies_leave_out_the_error_context_and_keep_business_headers():
    cluster = cluster_with(BUSINESS + CONNECT, BUSINESS + SPRING)
    with engine(cluster) as replay:
        summary = replay.run()
    assert summary.replayed == 2 and summary.targets == {"payments": 1, "invoices": 1}
    [connect] = cluster.records("payments")
    [spring] = cluster.records("invoices")
    for copy in (connect, spring):
        assert not [n for n in names(copy) if n.startswith(("__connect.", "kafka_dlt-"))]
        assert hdr.get_text(copy.headers, "tenant") == "acme"
        assert len(names(copy)) == len(set(names(copy))), names(copy)
    assert hdr.get_text(connect.headers, hdr.ORIGINAL_OFFSET) == "1234"
    assert hdr.get_text(spring.headers, hdr.ORIGINAL_OFFSET) == str(2**40 + 3)
    assert summary.foreign_families == {"__connect.errors.*": 1, "kafka_dlt-*": 1}
    assert summary.as_dict()["foreign_headers"]["kept"] is False


def test_keep_foreign_headers_copies_them():
    cluster = cluster_with(BUSINESS + CONNECT)
    with engine(cluster, keep_foreign_headers=True) as replay:
        summary = replay.run()
    [copy] = cluster.records("payments")
    assert copy.headers[: 1 + len(CONNECT)] == BUSINESS + CONNECT
    assert summary.foreign_kept and summary.as_dict()["foreign_headers"]["kept"] is True


def test_the_dry_run_reads_the_last_occurrence_and_says_so():
    cluster = cluster_with(BUSINESS + CONNECT + CONNECT_AGAIN, BUSINESS + CONNECT)
    with engine(cluster) as replay:
        plan = replay.plan()
    assert [(r.original_topic, r.repeated) for r in plan.rows] == [
        (
            "payments",
            [
                "__connect.errors.exception.message",
                "__connect.errors.offset",
                "__connect.errors.partition",
                "__connect.errors.topic",
            ],
        ),
        ("payments", []),
    ]
    assert "second failure" in plan.rows[0].error
    assert plan.repeated_records == 1
    doc = plan.as_dict()
    assert doc["foreign_headers"]["repeated"]["__connect.errors.offset"] == 1
    assert doc["records"][0]["repeated"][0] == "__connect.errors.exception.message"
    assert doc["foreign_headers"]["families"] == {"__connect.errors.*": 2}
    assert cluster.records("payments") == []

    notes = header_notes(plan)
    assert notes[0].startswith("copies leave out the frameworks' error-context headers")
    assert "(dead letters with them: __connect.errors.* 2)" in notes[0]
    assert "--keep-foreign-headers keeps them" in notes[0]
    assert notes[1].startswith("1 dead letters carry framework headers more than once")
    assert "the last occurrence of each, the framework's newest, was read" in notes[1]
    with err.capture() as captured:
        summary_table(plan)
    assert "framework's newest, was read" in " ".join(captured.get().split())


def test_kafkactl_dead_letters_get_no_header_notes():
    cluster = FakeCluster()
    cluster.create_topics(["orders", DLQ])
    cluster.produce(DLQ, b"v", b"k", [(hdr.ORIGINAL_TOPIC, b"orders"), ("tenant", b"a")], 0)
    with engine(cluster) as replay:
        plan = replay.plan()
    assert plan.to_replay == 1 and header_notes(plan) == []
    assert "foreign_headers" not in plan.as_dict()
