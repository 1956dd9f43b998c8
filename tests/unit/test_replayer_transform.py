"""Replayer with a transform, over the in-memory cluster: repaired copies, unrepaired records
left in the DLQ, the dry run's before -> after, and resuming without transforming twice."""

from __future__ import annotations

from collections import Counter
from typing import Any

import orjson

from kafkactl import headers as hdr
from kafkactl.kafka.ports import TopicPartition
from kafkactl.message import Message
from kafkactl.replay import Fence, ReplayOptions, replay_from
from kafkactl.replay.transform import Unrepairable
from tests.fakes import FakeCluster, FakeProducer
from tests.unit.test_replayer import (
    DLQ,
    REPLAY_GROUP,
    T1,
    dlq_ends,
    engine,
    every_dead_letter,
    make_cluster,
    sources,
)


class FakeTransform:
    """Upper-cases values; values in `broken` cannot be repaired. Remembers what it saw."""

    description = "fake upper-case"

    def __init__(self, broken: set[bytes] = frozenset()) -> None:
        self.broken = broken
        self.seen: list[tuple[int, int]] = []
        self.messages: list[Message] = []
        self.closed = False

    def apply(self, message: Message) -> bytes:
        self.seen.append((message.partition, message.offset))
        self.messages.append(message)
        if message.value in self.broken:
            raise Unrepairable(f"cannot fix {message.value!r}", "trace")
        return (message.value or b"").upper()

    def close(self) -> None:
        self.closed = True


def transformed(cluster: FakeCluster, **options: Any):
    """Run an engine with `options` (a transform among them) to the end; its summary."""
    with engine(cluster, **options) as replay:
        return replay.run()


def test_transformed_copies_carry_the_new_value_and_the_header():
    cluster = make_cluster([[b"a", b"b"], [b"c"]])
    transform = FakeTransform()
    summary = transformed(cluster, transform=transform)

    assert (summary.replayed, summary.unrepaired, summary.failed) == (3, 0, 0)
    assert summary.transform == "fake upper-case"
    dead = {replay_from(DLQ, r.partition, r.offset): r for r in cluster.records(DLQ)}
    copies = cluster.records(T1)
    assert sources(copies) == every_dead_letter(cluster)
    for copy in copies:
        origin = dead[hdr.get_text(copy.headers, hdr.REPLAY_FROM)]
        assert copy.value == origin.value.upper() and copy.key == origin.key
        assert hdr.get_text(copy.headers, hdr.REPLAY_TRANSFORMED) == "true"
        assert hdr.get_text(copy.headers, hdr.MESSAGE_ID) == hdr.get_text(
            origin.headers, hdr.MESSAGE_ID
        )
    # The transform saw each dead letter once, as a Message of the DLQ record.
    assert sorted(transform.seen) == [(0, 0), (0, 1), (1, 0)]
    assert {m.topic for m in transform.messages} == {DLQ}
    assert transform.messages[0].message_id == "orders/1/0"
    assert transform.closed
    assert cluster.committed_offsets(REPLAY_GROUP) == dlq_ends(cluster)


def test_without_a_transform_copies_have_no_transformed_header():
    cluster = make_cluster([[b"a"]])
    transformed(cluster)
    (copy,) = cluster.records(T1)
    assert copy.value == b"value-0" and hdr.get(copy.headers, hdr.REPLAY_TRANSFORMED) is None


def test_unrepaired_records_stay_in_the_dlq_counted_with_their_reason():
    cluster = make_cluster([[b"a", b"b", b"c", b"d"]])
    transform = FakeTransform(broken={b"value-1", b"value-3"})
    summary = transformed(cluster, transform=transform)

    assert (summary.replayed, summary.unrepaired, summary.failed) == (2, 2, 0)
    assert summary.unrepaired_reasons == {
        "cannot fix b'value-1'": 1,
        "cannot fix b'value-3'": 1,
    }
    assert summary.unrepaired_records == [
        {"partition": 0, "offset": 1, "reason": "cannot fix b'value-1'"},
        {"partition": 0, "offset": 3, "reason": "cannot fix b'value-3'"},
    ]
    as_json = summary.as_dict()
    assert as_json["unrepaired"] == 2 and as_json["transform"] == "fake upper-case"
    assert sorted(sources(cluster.records(T1))) == [replay_from(DLQ, 0, o) for o in (0, 2)]
    assert len(cluster.records(DLQ)) == 4
    # Progress stops at the first unrepaired record: a later run tries the two again.
    assert cluster.committed(REPLAY_GROUP, TopicPartition(DLQ, 0)).offset == 1

    fixed = FakeTransform()
    again = transformed(cluster, transform=fixed)
    assert sorted(fixed.seen) == [(0, 1), (0, 3)], "only the unrepaired ones are tried again"
    assert (again.replayed, again.unrepaired, again.skipped) == (2, 0, 1)  # offset 2: memo
    assert sources(cluster.records(T1)) == every_dead_letter(cluster)
    assert cluster.committed_offsets(REPLAY_GROUP) == dlq_ends(cluster)


def test_resuming_after_partial_progress_transforms_nothing_twice():
    cluster = make_cluster([[b"a", b"b", b"c"], [b"d", b"e", b"f"]])
    first = FakeTransform()
    part = transformed(cluster, transform=first, limit=2)
    assert part.stopped_by == "limit" and part.replayed == 2

    second = FakeTransform()
    rest = transformed(cluster, transform=second)
    assert (rest.replayed, rest.scanned) == (4, 4)  # resumes after the committed progress
    assert not set(first.seen) & set(second.seen)
    assert Counter(first.seen + second.seen) == Counter(
        (r.partition, r.offset) for r in cluster.records(DLQ)
    )
    assert sources(cluster.records(T1)) == every_dead_letter(cluster)


def test_copies_of_a_crashed_transformed_run_are_recovered_not_transformed_again():
    cluster = make_cluster([[b"a", b"b", b"c"]])
    lost = FakeProducer(cluster, lose_reports=True)
    # Copies of offsets 0 and 1 land but their acknowledgements never come; the run "dies".
    engine(cluster, lost, flush_timeout=0.1, limit=2, transform=FakeTransform()).run()
    assert [hdr.get(r.headers, hdr.REPLAY_TRANSFORMED) for r in cluster.records(T1)] == [
        b"true",
        b"true",
    ]

    resumed_transform = FakeTransform()
    resumed = transformed(cluster, transform=resumed_transform)
    assert resumed.recovered == 2 and resumed.replayed == 1
    assert resumed_transform.seen == [(0, 2)]
    assert sources(cluster.records(T1)) == every_dead_letter(cluster)


def test_recovery_recognises_a_transformed_copy():
    from kafkactl.replay.recovery import copy_of

    fence = Fence(1_000, (T1,))
    record = FakeCluster()
    record.create_topic(T1, 1)
    headers = [
        (hdr.REPLAY_FROM, replay_from(DLQ, 0, 5).encode()),
        (hdr.REPLAY_AT, b"2000"),
        (hdr.REPLAY_TRANSFORMED, b"true"),
    ]
    record.produce(T1, b"NEW VALUE", b"k", headers, 0)
    (copy,) = record.records(T1)
    assert copy_of(copy, (DLQ, 0), fence, 0) == 5


def test_a_dry_run_transforms_every_selected_record_and_shows_the_first_n():
    cluster = make_cluster([[b"a", b"b", b"c"], [b"d"]])
    transform = FakeTransform(broken={b"value-1"})
    with engine(cluster, transform=transform, show=2) as replay:
        plan = replay.plan(transform=True)

    assert len(transform.seen) == 4
    assert plan.to_replay == 3 and plan.unrepaired == 1
    assert [(p.offset, p.changes, p.reason) for p in plan.previews] == [
        (0, ["value-0 → VALUE-0"], None),
        (1, [], "cannot fix b'value-1'"),
    ]
    assert [r.action for r in plan.rows] == ["replay", "unrepaired", "replay", "replay"]
    assert plan.as_dict()["previews"][1]["unrepaired"] == "cannot fix b'value-1'"
    assert cluster.records(T1) == [] and cluster.commit_log == []


def test_the_confirmation_pass_does_not_run_the_transform():
    cluster = make_cluster([[b"a"]])
    transform = FakeTransform()
    with engine(cluster, transform=transform) as replay:
        plan = replay.plan()
        assert transform.seen == [] and plan.to_replay == 1 and plan.previews == []
        summary = replay.run()
    assert transform.seen == [(0, 0)] and summary.replayed == 1


def test_the_options_default_to_no_transform():
    assert ReplayOptions(dlq=DLQ).transform is None


def test_json_of_a_transformed_copy_is_what_the_function_returned():
    cluster = make_cluster([[b"a"]])

    class ToJson(FakeTransform):
        def apply(self, message: Message) -> bytes:
            return orjson.dumps({"was": (message.value or b"").decode()})

    transformed(cluster, transform=ToJson())
    assert orjson.loads(cluster.records(T1)[0].value) == {"was": "value-0"}
