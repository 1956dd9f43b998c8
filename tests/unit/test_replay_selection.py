"""Filters, targets and the decision for each dead letter."""

from __future__ import annotations

import pytest

from kafkactl import headers as hdr
from kafkactl.replay.deadletter import read_dead_letter
from kafkactl.replay.selection import Decision, Filters, decide, target_for
from tests.unit.replay_samples import CONNECT, DLQ, SETTINGS, SPRING, kafkactl_headers, record


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
    dl = read_dead_letter(record(kafkactl_headers(), timestamp=1_000))
    assert filters.matches(dl) is expected


def test_filters_read_connect_and_spring_errors():
    connect = read_dead_letter(record(CONNECT))
    spring = read_dead_letter(record(SPRING))
    assert Filters(error_classes=("DataException",)).matches(connect)
    assert Filters(error_contains=("kafka connect data",)).matches(connect)
    assert Filters(error_classes=("IllegalStateException",)).matches(spring)  # the cause
    assert Filters(error_contains=("nested exception",)).matches(spring)
    assert not Filters(error_contains=("x",)).matches(read_dead_letter(record([])))


def test_filters_active():
    assert not Filters().active
    assert Filters(keys=(b"a",)).active
    assert Filters(until_ms=5).active


def _target(headers, to="retry", fallback=None):
    return target_for(read_dead_letter(record(headers)), to, SETTINGS, DLQ, fallback)


def test_retry_target_is_tier_one_of_the_failing_group():
    assert _target(kafkactl_headers()) == ("orders.billing.retry.1", None)
    # The record's own group wins over --group.
    assert _target(kafkactl_headers(), fallback="other") == ("orders.billing.retry.1", None)


def test_original_and_explicit_targets():
    assert _target(kafkactl_headers(), "original") == ("orders", None)
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
    fresh = read_dead_letter(record(kafkactl_headers()))
    parked = read_dead_letter(record(kafkactl_headers(**{hdr.REPLAY_COUNT: 3})))
    foreign = read_dead_letter(record(CONNECT))
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
    headers = [(k, v) for k, v in kafkactl_headers() if k != name] + [(name, raw.encode())]
    dl = read_dead_letter(record(headers))
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


def _decide(headers, to="original", max_replays=3):
    dl = read_dead_letter(record(headers))
    return decide(
        dl,
        filters=Filters(),
        to=to,
        settings=SETTINGS,
        dlq=DLQ,
        fallback_group=None,
        max_replays=max_replays,
    )


@pytest.mark.parametrize(
    "origin", ["__consumer_offsets", "__transaction_state", "__cluster_metadata", "__mine"]
)
@pytest.mark.parametrize("to", ["original", "retry"])
def test_an_internal_origin_is_refused_with_its_reason(origin: str, to: str) -> None:
    decision = _decide(kafkactl_headers(**{hdr.ORIGINAL_TOPIC: origin}), to=to)
    assert decision.action == "failed"
    assert decision.reason is not None
    assert decision.reason.startswith(f"refused: its original topic {origin} is internal")
    assert decision.reason.endswith("use --to TOPIC")


@pytest.mark.parametrize(
    ("origin", "problem"),
    [
        ("orders with spaces", "may only hold"),
        ("a/b", "may only hold"),
        ("..", "cannot be"),
        ("x" * 250, "characters long"),
        ("ord\x1bers", "may only hold"),
    ],
)
def test_an_illegal_origin_is_refused_with_its_reason(origin: str, problem: str) -> None:
    decision = _decide(kafkactl_headers(**{hdr.ORIGINAL_TOPIC: origin}))
    assert decision.action == "failed" and decision.reason is not None
    assert decision.reason.startswith("refused: its original topic") and problem in decision.reason


def test_an_illegal_group_makes_an_illegal_retry_target_which_is_refused() -> None:
    decision = _decide(kafkactl_headers(**{hdr.GROUP: "bill ing"}), to="retry")
    assert decision.action == "failed" and decision.reason is not None
    assert decision.reason.startswith("refused: its target 'orders.bill ing.retry.1'")


def test_to_topic_sends_a_refused_origin_where_the_user_says() -> None:
    decision = _decide(kafkactl_headers(**{hdr.ORIGINAL_TOPIC: "__consumer_offsets"}), to="fixed")
    assert decision == Decision("replay", "fixed")


def test_an_internal_to_flag_is_an_option_error() -> None:
    from kafkactl.errors import OptionError
    from kafkactl.replay.model import ReplayOptions, check_target

    with pytest.raises(OptionError, match="__transaction_state is internal to Kafka"):
        check_target(ReplayOptions(dlq=DLQ, to="__transaction_state"))
