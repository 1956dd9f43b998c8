"""replay-dlq logic: reading DLQ headers, filters, targets, header rewriting, progress keeping."""

from __future__ import annotations

import threading
from collections import namedtuple

import pytest

from kafkactl import headers as hdr
from kafkactl.config import load_settings
from kafkactl.producer import Delivery
from kafkactl.replay import (
    MEMO_MAX_RANGES,
    METADATA_MAX_CHARS,
    Decision,
    Fence,
    Filters,
    RangeSet,
    RateLimiter,
    ReplayEngine,
    ReplayOptions,
    _Partition,
    decide,
    decode_int,
    decode_progress,
    decode_ranges,
    encode_progress,
    encode_ranges,
    parse_replay_from,
    read_dead_letter,
    replay_headers,
    target_for,
)

SETTINGS = load_settings(env={"KAFKA_RETRY_DELAYS": "1s,10s"})
DLQ = "orders.billing.dlq"

Record = namedtuple("Record", "topic partition offset timestamp key value headers")
TP = namedtuple("TP", "topic partition")


def _record(headers, offset=7, partition=1, key=b"k1", timestamp=1_000):
    return Record(DLQ, partition, offset, timestamp, key, b'{"id":1}', headers)


def _kafkactl_headers(**extra):
    headers = [
        ("message-id", b"id-1"),
        ("trace", b"abc"),
        (hdr.ORIGINAL_TOPIC, b"orders"),
        (hdr.ORIGINAL_PARTITION, b"2"),
        (hdr.ORIGINAL_OFFSET, b"40"),
        (hdr.ORIGINAL_TIMESTAMP, b"900"),
        (hdr.GROUP, b"billing"),
        (hdr.ATTEMPT, b"3"),
        (hdr.FIRST_FAILURE, b"950"),
        (hdr.LAST_FAILURE, b"990"),
        (hdr.ERROR_KIND, b"retryable"),
        (hdr.ERROR_CLASS, b"requests.exceptions.Timeout"),
        (hdr.ERROR_MESSAGE, b"Read timed out after 30s"),
        (hdr.ERROR_TRACE, b"Traceback ..."),
    ]
    headers += [(k, str(v).encode()) for k, v in extra.items()]
    return headers


CONNECT = [
    ("__connect.errors.topic", b"payments"),
    ("__connect.errors.partition", b"3"),
    ("__connect.errors.offset", b"1234"),
    ("__connect.errors.connector.name", b"jdbc-sink"),
    ("__connect.errors.exception.class.name", b"org.apache.kafka.connect.errors.DataException"),
    ("__connect.errors.exception.message", b"Converting byte[] to Kafka Connect data failed"),
]
SPRING = [
    ("kafka_dlt-original-topic", b"invoices"),
    ("kafka_dlt-original-partition", (5).to_bytes(4, "big")),
    ("kafka_dlt-original-offset", (2**40 + 3).to_bytes(8, "big")),
    ("kafka_dlt-original-timestamp", (1_700_000_000_000).to_bytes(8, "big")),
    ("kafka_dlt-original-consumer-group", b"invoicing"),
    (
        "kafka_dlt-exception-fqcn",
        b"org.springframework.kafka.listener.ListenerExecutionFailedException",
    ),
    ("kafka_dlt-exception-cause-fqcn", b"java.lang.IllegalStateException"),
    ("kafka_dlt-exception-message", b"Listener failed; nested exception is bad state"),
]


# --- reading dead letters -------------------------------------------------------------------


def test_spring_binary_ints():
    assert decode_int((5).to_bytes(4, "big")) == 5
    assert decode_int((2**40).to_bytes(8, "big")) == 2**40
    assert decode_int((-1).to_bytes(4, "big", signed=True)) == -1
    assert decode_int(b"17") == 17  # text from other writers
    assert decode_int(b"12345") == 12345
    assert decode_int(b"\xff\xfe\x00") is None
    assert decode_int(None) is None


def test_reads_kafkactl_dead_letters():
    dl = read_dead_letter(_record(_kafkactl_headers(**{hdr.REPLAY_COUNT: 2})))
    assert dl.style == "kafkactl"
    assert (dl.original_topic, dl.original_partition, dl.original_offset) == ("orders", 2, 40)
    assert dl.original_timestamp == 900
    assert dl.group == "billing"
    assert dl.error_class == "requests.exceptions.Timeout"
    assert dl.error_message == "Read timed out after 30s"
    assert dl.replay_count == 2
    assert dl.error_text() == "requests.exceptions.Timeout: Read timed out after 30s"


def test_reads_connect_dead_letters():
    dl = read_dead_letter(_record(CONNECT))
    assert dl.style == "connect"
    assert (dl.original_topic, dl.original_partition, dl.original_offset) == ("payments", 3, 1234)
    assert dl.group is None and dl.foreign_group is None
    assert dl.error_class == "org.apache.kafka.connect.errors.DataException"
    assert dl.error_message.startswith("Converting byte[]")
    assert dl.replay_count == 0


def test_reads_spring_dead_letters():
    dl = read_dead_letter(_record(SPRING))
    assert dl.style == "spring"
    assert (dl.original_topic, dl.original_partition, dl.original_offset) == (
        "invoices",
        5,
        2**40 + 3,
    )
    assert dl.original_timestamp == 1_700_000_000_000
    assert dl.foreign_group == "invoicing"
    assert dl.error_classes == (
        "org.springframework.kafka.listener.ListenerExecutionFailedException",
        "java.lang.IllegalStateException",
    )
    assert "bad state" in dl.error_message


def test_kafkactl_headers_win_over_foreign_ones():
    dl = read_dead_letter(_record(CONNECT + _kafkactl_headers()))
    assert dl.style == "kafkactl" and dl.original_topic == "orders"


def test_a_record_without_dlq_headers():
    dl = read_dead_letter(_record([("x", b"y")]))
    assert dl.style == "unknown" and dl.original_topic is None and dl.error_classes == ()


# --- filters ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (Filters(), True),
        (Filters(keys=(b"k1",)), True),
        (Filters(keys=(b"k2", b"k1")), True),
        (Filters(keys=(b"k2",)), False),
        (Filters(error_contains=("TIMED OUT",)), True),
        (Filters(error_contains=("refused", "timed out")), True),
        (Filters(error_contains=("refused",)), False),
        (Filters(error_classes=("Timeout",)), True),
        (Filters(error_classes=("requests.exceptions.Timeout",)), True),
        (Filters(error_classes=("exceptions.Timeout",)), False),
        (Filters(error_classes=("ValueError",)), False),
        (Filters(since_ms=1_000), True),
        (Filters(since_ms=1_001), False),
        (Filters(until_ms=1_000), False),
        (Filters(until_ms=1_001), True),
        (Filters(since_ms=500, until_ms=2_000, keys=(b"k1",), error_classes=("Timeout",)), True),
        (Filters(since_ms=500, keys=(b"nope",)), False),
    ],
)
def test_filters(filters, expected):
    dl = read_dead_letter(_record(_kafkactl_headers(), timestamp=1_000))
    assert filters.matches(dl) is expected


def test_filters_read_connect_and_spring_errors():
    connect = read_dead_letter(_record(CONNECT))
    spring = read_dead_letter(_record(SPRING))
    assert Filters(error_classes=("DataException",)).matches(connect)
    assert Filters(error_contains=("kafka connect data",)).matches(connect)
    assert Filters(error_classes=("IllegalStateException",)).matches(spring)  # the cause
    assert Filters(error_contains=("nested exception",)).matches(spring)
    assert not Filters(error_contains=("x",)).matches(read_dead_letter(_record([])))


def test_filters_active():
    assert not Filters().active
    assert Filters(keys=(b"a",)).active
    assert Filters(until_ms=5).active


# --- targets ----------------------------------------------------------------------------------


def _target(headers, to="retry", fallback=None):
    return target_for(read_dead_letter(_record(headers)), to, SETTINGS, DLQ, fallback)


def test_retry_target_is_tier_one_of_the_failing_group():
    assert _target(_kafkactl_headers()) == ("orders.billing.retry.1", None)
    # The record's own group wins over --group.
    assert _target(_kafkactl_headers(), fallback="other") == ("orders.billing.retry.1", None)


def test_original_and_explicit_targets():
    assert _target(_kafkactl_headers(), "original") == ("orders", None)
    assert _target(CONNECT, "original") == ("payments", None)
    assert _target(SPRING, "original") == ("invoices", None)
    assert _target([], "elsewhere") == ("elsewhere", None)


def test_foreign_records_need_a_group_for_retry():
    target, reason = _target(CONNECT)
    assert target is None and "--group" in reason
    assert _target(CONNECT, fallback="billing") == ("payments.billing.retry.1", None)
    # Spring names the group that failed the record.
    assert _target(SPRING) == ("invoices.invoicing.retry.1", None)
    assert _target(SPRING, fallback="billing") == ("invoices.billing.retry.1", None)


def test_no_origin_means_no_retry_or_original_target():
    for to in ("retry", "original"):
        target, reason = _target([("message-id", b"x")], to)
        assert target is None and "--to TOPIC" in reason


def test_the_dlq_is_never_a_target():
    target, reason = _target([], DLQ)
    assert target is None and "DLQ itself" in reason


def test_decide_order_filters_parking_target():
    kwargs = dict(settings=SETTINGS, dlq=DLQ, fallback_group=None, max_replays=3)
    fresh = read_dead_letter(_record(_kafkactl_headers()))
    parked = read_dead_letter(_record(_kafkactl_headers(**{hdr.REPLAY_COUNT: 3})))
    foreign = read_dead_letter(_record(CONNECT))
    assert decide(fresh, filters=Filters(), to="retry", **kwargs) == Decision(
        "replay", "orders.billing.retry.1"
    )
    assert decide(fresh, filters=Filters(keys=(b"x",)), to="retry", **kwargs).action == "filtered"
    assert decide(parked, filters=Filters(), to="retry", **kwargs).action == "parked"
    # A parked record that a filter leaves out is just filtered out.
    assert decide(parked, filters=Filters(keys=(b"x",)), to="retry", **kwargs).action == "filtered"
    assert decide(foreign, filters=Filters(), to="retry", **kwargs).action == "failed"
    assert decide(parked, filters=Filters(), to="retry", **{**kwargs, "max_replays": 4}).action == (
        "replay"
    )


# --- the copy's headers -----------------------------------------------------------------------


def test_replay_headers_reset_retry_state_and_set_replay_fields_once():
    dl = read_dead_letter(
        _record(_kafkactl_headers(**{hdr.REPLAY_COUNT: 1, hdr.REPLAY_AT: 5, hdr.REPLAY_FROM: "x"}))
    )
    out = replay_headers(dl, DLQ, now_ms=123_456)
    names = [k for k, _ in out]
    assert len(names) == len(set(names)), names
    for name in hdr.RETRY_STATE:
        assert hdr.get(out, name) is None, name
    assert hdr.get_text(out, hdr.REPLAY_COUNT) == "2"
    assert hdr.get_text(out, hdr.REPLAY_AT) == "123456"
    assert hdr.get_text(out, hdr.REPLAY_FROM) == f"{DLQ}:1:7"
    # Kept: message-id, the record's own headers, the write-once origin fields.
    assert hdr.get_text(out, "message-id") == "id-1"
    assert hdr.get_text(out, "trace") == "abc"
    assert hdr.get_text(out, hdr.ORIGINAL_TOPIC) == "orders"
    assert hdr.get_text(out, hdr.ORIGINAL_OFFSET) == "40"
    assert hdr.get_text(out, hdr.GROUP) == "billing"
    assert names[:2] == ["message-id", "trace"], "the record's own headers keep their order"


def test_first_replay_counts_one():
    out = replay_headers(read_dead_letter(_record(_kafkactl_headers())), DLQ, now_ms=1)
    assert hdr.get_text(out, hdr.REPLAY_COUNT) == "1"


def test_replay_headers_of_foreign_records_carry_the_origin():
    out = replay_headers(read_dead_letter(_record(CONNECT)), DLQ, now_ms=1, group="billing")
    assert hdr.get_text(out, hdr.ORIGINAL_TOPIC) == "payments"
    assert hdr.get_text(out, hdr.ORIGINAL_PARTITION) == "3"
    assert hdr.get_text(out, hdr.ORIGINAL_OFFSET) == "1234"
    assert hdr.get_text(out, hdr.GROUP) == "billing"
    # No message-id in the DLQ: the one the consumer would have derived from the origin.
    assert hdr.get_text(out, "message-id") == "payments-3-1234"
    assert hdr.get_text(out, "__connect.errors.connector.name") == "jdbc-sink", "kept"
    spring = replay_headers(read_dead_letter(_record(SPRING)), DLQ, now_ms=1)
    assert hdr.get_text(spring, hdr.ORIGINAL_OFFSET) == str(2**40 + 3)
    assert hdr.get_text(spring, hdr.ORIGINAL_TIMESTAMP) == "1700000000000"
    bare = replay_headers(read_dead_letter(_record([])), DLQ, now_ms=1)
    assert hdr.get_text(bare, "message-id") == f"{DLQ}-1-7"


def test_replay_from_round_trip():
    assert parse_replay_from(f"{DLQ}:3:99") == (DLQ, 3, 99)
    assert parse_replay_from("a.b-c_d:0:0") == ("a.b-c_d", 0, 0)
    assert parse_replay_from("nonsense") is None
    assert parse_replay_from("t:x:1") is None
    assert parse_replay_from(None) is None


# --- progress -----------------------------------------------------------------------------------


def test_range_set_merges_splits_and_finds_gaps():
    rs = RangeSet()
    for o in (5, 7, 6, 1, 2, 10):
        rs.add(o)
    assert rs.ranges() == [(1, 2), (5, 7), (10, 10)]
    rs.add_range(3, 4)
    assert rs.ranges() == [(1, 7), (10, 10)]
    assert 4 in rs and 8 not in rs and 0 not in rs
    assert rs.first_missing(0) == 0
    assert rs.first_missing(1) == 8
    assert rs.first_missing(10) == 11
    assert rs.above(5) == [(6, 7), (10, 10)]
    rs.discard(3)
    assert rs.ranges() == [(1, 2), (4, 7), (10, 10)]
    rs.discard(10)
    rs.discard(99)
    assert rs.ranges() == [(1, 2), (4, 7)]
    rs.add_range(0, 20)
    assert rs.ranges() == [(0, 20)]
    rs.add_range(5, 2)  # empty
    assert len(rs) == 1


def test_ranges_encode_compactly_and_round_trip():
    ranges = [(12, 12), (14, 50), (1_000_000, 1_000_100)]
    text = encode_ranges(10, ranges)
    assert text.startswith("2,1+10,") and text.endswith("+2s")  # gaps and lengths, base 36
    assert decode_ranges(10, text) == ranges
    assert decode_ranges(0, "") == []


def test_progress_metadata_round_trip():
    done = RangeSet([(3, 4), (9, 20)])
    text = encode_progress(1, done, Fence(1234, ("a.retry.1", "b")))
    assert len(text) < 100
    again, fence = decode_progress(1, text)
    assert again.ranges() == [(3, 4), (9, 20)]
    assert fence == Fence(1234, ("a.retry.1", "b"))
    assert decode_progress(1, encode_progress(1, done, None))[1] is None
    # Foreign or broken metadata is ignored.
    assert decode_progress(1, "")[0].ranges() == []
    assert decode_progress(1, "{not json")[0].ranges() == []
    assert decode_progress(1, '{"v":99,"done":"1"}')[0].ranges() == []


def test_oversized_metadata_keeps_the_low_ranges_and_the_runs_fence():
    done = RangeSet([(10 * i**3, 10 * i**3) for i in range(1, 2000)])
    run = Fence(5, ("t",))
    text = encode_progress(0, done, None, run)
    assert len(text) <= METADATA_MAX_CHARS
    kept, fence = decode_progress(0, text)
    assert kept.ranges() == done.ranges()[: len(kept)]
    assert fence == run, "dropped ranges must be findable again"


def test_memo_capacity():
    part = _Partition(TP(DLQ, 0), 0, 10_000, None, RangeSet(), None)
    part.claimed.add_range(0, 9)
    assert not part.memo_full(10)  # extends the done prefix
    for i in range(MEMO_MAX_RANGES):
        part.claimed.add(20 + 2 * i)  # 11 is left out: one range each
    last = 20 + 2 * (MEMO_MAX_RANGES - 1)
    assert part.memo_full(last + 2)
    assert not part.memo_full(last + 1), "extending the last range needs no room"
    assert not part.memo_full(10)


def test_rate_limiter_paces_without_spinning():
    now = [0.0]
    limiter = RateLimiter(4, burst=1, clock=lambda: now[0])
    assert limiter.delay() == 0
    limiter.take()
    assert limiter.delay() == pytest.approx(0.25)
    now[0] = 0.1
    assert limiter.delay() == pytest.approx(0.15)
    now[0] = 10.0
    assert limiter.delay() == 0  # never more than the burst saved up
    limiter.take()
    assert limiter.delay() == pytest.approx(0.25)
    stop = threading.Event()
    stop.set()
    assert limiter.acquire(stop) is False
    with pytest.raises(ValueError):
        RateLimiter(0)


# --- the engine, with fake clients --------------------------------------------------------------

CRec = namedtuple("CRec", "topic partition offset timestamp key value headers")


class FakeConsumer:
    """One DLQ partition's records; remembers commits."""

    def __init__(self, records):
        self.records = records
        self.commits = []
        self.tp = None
        self.pos = 0

    def assign(self, tps):
        self.tp = tps[0]

    def seek(self, tp, offset):
        self.pos = offset

    def poll(self, timeout=0.0, max_records=500):
        batch = [r for r in self.records if r.offset >= self.pos][:3]
        if batch:
            self.pos = batch[-1].offset + 1
        elif self.records:
            self.pos = max(self.pos, self.records[-1].offset + 1)
        return {self.tp: batch} if batch else {}

    def position(self, tp):
        return self.pos

    def commit(self, offsets, metadata=None, asynchronous=False):
        ((tp, offset),) = offsets.items()
        self.commits.append((offset, (metadata or {}).get(tp, "")))


class FakePublisher:
    def __init__(self, fail_offsets=()):
        self.sent = []
        self.fail = set(fail_offsets)

    def publish(self, topic, value, key=None, headers=None, on_delivery=None, **_):
        origin = parse_replay_from(hdr.get_text(headers, hdr.REPLAY_FROM))
        self.sent.append((topic, origin[2]))
        error = RuntimeError("boom") if origin[2] in self.fail else None
        on_delivery(Delivery(topic, 0, len(self.sent), error))

    def flush(self, timeout=None):
        return True


def _dlq_records(spec):
    """spec: per offset a key (None: a gap with no record)."""
    return [
        CRec(DLQ, 0, o, 1_000, k.encode(), b"v", _kafkactl_headers())
        for o, k in enumerate(spec)
        if k is not None
    ]


def _engine(records, end, committed=None, metadata="", publisher=None, **options):
    engine = ReplayEngine(SETTINGS, ReplayOptions(dlq=DLQ, **options))
    engine._consumer = FakeConsumer(records)
    engine._publisher = publisher or FakePublisher()
    engine._topic_exists = {"orders.billing.retry.1": True, "orders": True}
    memo, fence = decode_progress(committed, metadata) if committed is not None else (None, None)
    engine._parts = [_Partition(TP(DLQ, 0), 0, end, committed, memo or RangeSet(), fence)]
    return engine


def test_engine_commits_past_everything_when_nothing_is_filtered():
    engine = _engine(_dlq_records(["a", "b", None, "c"]), end=4)
    summary = engine.run()
    assert (summary.scanned, summary.replayed) == (3, 3)
    assert engine._publisher.sent == [("orders.billing.retry.1", o) for o in (0, 1, 3)]
    offset, metadata = engine._consumer.commits[-1]
    assert offset == 4, "the gap (a transaction marker) does not hold progress back"
    done, fence = decode_progress(4, metadata)
    assert done.ranges() == [] and fence is None, "a clean end drops the fence"
    assert summary.committed == {f"{DLQ}:0": 4}


def test_engine_fences_before_the_first_send():
    engine = _engine(_dlq_records(["a"]), end=1)
    engine.run()
    first_offset, first_meta = engine._consumer.commits[0]
    assert first_offset == 0
    assert decode_progress(0, first_meta)[1].topics == ("orders.billing.retry.1",)


def test_filtered_out_records_hold_progress_and_replayed_ones_are_remembered():
    records = _dlq_records(["a", "x", "a", "a", "x", "a"])
    engine = _engine(records, end=6, filters=Filters(keys=(b"a",)))
    summary = engine.run()
    assert (summary.matched, summary.replayed, summary.filtered) == (4, 4, 2)
    offset, metadata = engine._consumer.commits[-1]
    assert offset == 1, "the first filtered-out record holds the committed offset"
    done, fence = decode_progress(offset, metadata)
    assert done.ranges() == [(2, 3), (5, 5)] and fence is None

    # The same replay again: nothing new.
    again = _engine(
        records, end=6, committed=offset, metadata=metadata, filters=Filters(keys=(b"a",))
    )
    summary = again.run()
    assert again._publisher.sent == []
    assert (summary.replayed, summary.skipped, summary.filtered) == (0, 3, 2)

    # Without the filter: exactly the records left behind, and progress reaches the end.
    rest = _engine(records, end=6, committed=offset, metadata=metadata)
    summary = rest.run()
    assert [o for _, o in rest._publisher.sent] == [1, 4]
    assert rest._consumer.commits[-1][0] == 6


def test_a_failed_publish_stops_and_keeps_the_record():
    engine = _engine(_dlq_records(["a", "b", "c"]), end=3, publisher=FakePublisher({1}))
    summary = engine.run()
    assert summary.stopped_by == "publish failed"
    assert (summary.replayed, summary.failed) == (1, 1)
    assert engine._consumer.commits[-1][0] == 1


def test_limit_and_parking():
    records = _dlq_records(["a", "b", "c", "d"])
    records[1] = records[1]._replace(headers=_kafkactl_headers(**{hdr.REPLAY_COUNT: 3}))
    engine = _engine(records, end=4, limit=2)
    summary = engine.run()
    assert summary.stopped_by == "limit"
    assert (summary.replayed, summary.parked, summary.scanned) == (2, 1, 3)
    assert engine._consumer.commits[-1][0] == 3, "parked records are done too"


def test_recovery_counts_copies_of_an_interrupted_run_as_done():
    engine = _engine(_dlq_records(["a", "b", "c"]), end=3, committed=0, metadata="")
    engine._parts[0].recovered = RangeSet([(0, 1)])  # what _find_copies would have found
    engine._parts[0].fence = Fence(1, ("orders.billing.retry.1",))
    summary = engine.run()
    assert [o for _, o in engine._publisher.sent] == [2]
    assert (summary.skipped, summary.recovered, summary.replayed) == (2, 2, 1)
    assert engine._consumer.commits[-1][0] == 3


def test_match_copy_only_takes_this_partitions_copies_from_after_the_fence():
    part = _Partition(TP(DLQ, 0), 0, 100, 10, RangeSet(), Fence(1_000, ("t",)))
    part.start = 10
    found = RangeSet()

    def copy(origin, at):
        return CRec("t", 0, 0, 0, None, b"", [(hdr.REPLAY_FROM, origin), (hdr.REPLAY_AT, at)])

    for origin, at in (
        (f"{DLQ}:0:12".encode(), b"1000"),
        (f"{DLQ}:0:13".encode(), b"999"),  # an earlier, committed run
        (f"{DLQ}:1:14".encode(), b"2000"),  # another partition
        (b"other.dlq:0:15", b"2000"),
        (f"{DLQ}:0:5".encode(), b"2000"),  # below the committed offset
    ):
        ReplayEngine._match_copy(copy(origin, at), (DLQ, 0), part.fence, part, found)
    assert found.ranges() == [(12, 12)]


def test_dry_run_plan_sends_and_commits_nothing():
    engine = _engine(_dlq_records(["a", "b"]), end=2)
    engine._publisher = None
    plan = engine.plan()
    assert plan.dry_run and plan.to_replay == 2 and plan.targets == {"orders.billing.retry.1": 2}
    assert [(r.offset, r.action, r.target) for r in plan.rows] == [
        (0, "replay", "orders.billing.retry.1"),
        (1, "replay", "orders.billing.retry.1"),
    ]
    assert engine._consumer.commits == []
    assert plan.as_dict()["records"][0]["key"] == "a"


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        (hdr.REPLAY_COUNT, "-5"),
        (hdr.REPLAY_COUNT, "1.5"),
        (hdr.REPLAY_COUNT, "two"),
        (hdr.REPLAY_COUNT, "+1"),
        (hdr.REPLAY_COUNT, "\u0663"),  # a digit, but not an ASCII one
        (hdr.REPLAY_COUNT, str(2**31)),
        (hdr.ORIGINAL_PARTITION, "-1"),
        (hdr.ORIGINAL_OFFSET, "1e3"),
        (hdr.ORIGINAL_TIMESTAMP, str(2**63)),
    ],
)
def test_a_malformed_numeric_kafkactl_header_parks_the_record_naming_it(name, raw):
    headers = [(k, v) for k, v in _kafkactl_headers() if k != name] + [(name, raw.encode())]
    dl = read_dead_letter(_record(headers))
    decision = decide(
        dl,
        filters=Filters(),
        to="retry",
        settings=SETTINGS,
        dlq=DLQ,
        fallback_group=None,
        max_replays=3,
    )
    assert decision.action == "parked"
    assert name in decision.reason
    assert repr(raw) in decision.reason


def test_a_negative_replay_count_is_never_replayed_by_the_engine():
    records = _dlq_records(["a", "b"])
    records[0] = records[0]._replace(headers=_kafkactl_headers(**{hdr.REPLAY_COUNT: -5}))
    engine = _engine(records, end=2)
    summary = engine.run()
    assert [o for _, o in engine._publisher.sent] == [1]
    assert (summary.replayed, summary.parked) == (1, 1)


def test_a_copy_with_a_malformed_replay_at_is_not_taken_for_this_runs_copy():
    part = _Partition(TP(DLQ, 0), 0, 100, 10, RangeSet(), Fence(1_000, ("t",)))
    part.start = 10
    found = RangeSet()
    record = CRec(
        "t",
        0,
        0,
        0,
        None,
        b"",
        [(hdr.REPLAY_FROM, f"{DLQ}:0:12".encode()), (hdr.REPLAY_AT, b"soon")],
    )
    ReplayEngine._match_copy(record, (DLQ, 0), part.fence, part, found)
    assert found.ranges() == []
