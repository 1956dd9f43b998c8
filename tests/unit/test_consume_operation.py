"""consume's rules: reader without a group, pipeline with one, which flags go with which."""

from __future__ import annotations

import os

import pytest

from kafkactl.config import Settings, load_settings
from kafkactl.consumer.filters import build_filter
from kafkactl.consumer.operation import ConsumeRequest, group_settings, plan_consume, read_options
from kafkactl.errors import UsageError
from kafkactl.positions import Position

NO_FILTER = build_filter(None, [], None)


def _settings(group: str | None = None) -> Settings:
    env = {"KAFKA_CONSUMER_GROUP_ID": group} if group else {}
    return load_settings(env=env, config_path=os.devnull)


def test_without_a_group_reading_starts_at_the_beginning_and_runs_on() -> None:
    options = read_options(ConsumeRequest(["orders"]), NO_FILTER)
    assert options.start == Position("beginning")
    assert options.stop is None
    assert options.partitions is None
    assert options.on_failure == "stop"


def test_exit_at_end_stops_at_the_end_offsets_unless_to_says_where() -> None:
    at_end = read_options(ConsumeRequest(["orders"], exit_at_end=True), NO_FILTER)
    assert at_end.stop == Position("end")
    to_offset = read_options(ConsumeRequest(["orders"], to="5", exit_at_end=True), NO_FILTER)
    assert to_offset.stop == Position("offset", 5)


def test_without_a_group_partitions_and_skip_are_kept() -> None:
    request = ConsumeRequest(["orders"], from_="-10", partitions=[0, 2], on_failure="skip")
    options = read_options(request, NO_FILTER)
    assert options.start == Position("last", 10)
    assert options.partitions == [0, 2]
    assert options.on_failure == "skip"


@pytest.mark.parametrize(
    ("request_", "flag"),
    [
        (ConsumeRequest(["orders"], on_failure="dlq"), "--on-failure dlq"),
        (ConsumeRequest(["orders"], no_retry=True), "--no-retry"),
    ],
)
def test_tiers_and_the_dlq_need_a_group(request_: ConsumeRequest, flag: str) -> None:
    with pytest.raises(UsageError, match=f"^{flag} needs a consumer group"):
        read_options(request_, NO_FILTER)


@pytest.mark.parametrize(
    ("request_", "flag"),
    [
        (ConsumeRequest(["orders"], to="end"), "--to"),
        (ConsumeRequest(["orders"], partitions=[1]), "--partition"),
    ],
)
def test_to_and_partition_read_only_without_a_group(request_: ConsumeRequest, flag: str) -> None:
    with pytest.raises(UsageError, match=f"^{flag} reads without a group"):
        group_settings(_settings("billing"), request_)


@pytest.mark.parametrize(("start", "reset"), [("beginning", "earliest"), ("end", "latest")])
def test_from_with_a_group_becomes_auto_offset_reset(start: str, reset: str) -> None:
    settings = group_settings(_settings("billing"), ConsumeRequest(["orders"], from_=start))
    assert settings.consumer_auto_offset_reset == reset


def test_a_group_without_from_keeps_the_configured_reset() -> None:
    settings = _settings("billing")
    assert group_settings(settings, ConsumeRequest(["orders"])) is settings


@pytest.mark.parametrize("start", ["-10", "5", "-1h"])
def test_a_group_starts_where_it_committed(start: str) -> None:
    with pytest.raises(UsageError, match="a group starts where it committed"):
        group_settings(_settings("billing"), ConsumeRequest(["orders"], from_=start))


def test_no_group_plans_the_reader_without_asking_for_pipeline_options() -> None:
    def no_pipeline(group: str) -> object:
        raise AssertionError(f"pipeline options asked for {group}")

    make = plan_consume(
        _settings(),
        ConsumeRequest(["orders"]),
        object(),
        NO_FILTER,
        "none",
        no_pipeline,  # type: ignore[arg-type]
    )
    assert callable(make)


def test_a_group_checks_its_flags_after_its_options() -> None:
    asked: list[str] = []

    def options_for(group: str) -> object:
        asked.append(group)
        raise UsageError("--ordering must be one of ...")

    with pytest.raises(UsageError, match="--ordering"):
        plan_consume(
            _settings("billing"),
            ConsumeRequest(["orders"], to="end"),
            object(),  # type: ignore[arg-type]
            NO_FILTER,
            "none",
            options_for,  # type: ignore[arg-type]
        )
    assert asked == ["billing"]
