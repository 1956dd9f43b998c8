"""Completion names: prefix filtering with internal topics hidden, a lookup bounded in time,
and nothing at all (not an error) when settings or the cluster fail."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from kafkactl.admin.completion import (
    COMPLETION_TIMEOUT_S,
    CONNECT_TIMEOUT_S,
    cluster_names,
    completion_settings,
    completion_timeout,
    matching,
    within,
)
from kafkactl.config import Settings, load_settings
from kafkactl.errors import ConfigError, ConnectError
from kafkactl.kafka.admin_port import AdminPort
from kafkactl.kafka.ports import TopicPartition
from tests.fakes.admin import FakeAdmin
from tests.fakes.cluster import FakeBrokerError, FakeCluster

TOPICS = ["orders", "orders.billing.dlq", "payments", "__consumer_offsets", "_schemas"]


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No KAFKA_*/KAFKACTL_* variables, no config file to find."""
    for name in list(os.environ):
        if name.startswith(("KAFKA_", "KAFKACTL_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)


def settings() -> Settings:
    return load_settings({"brokers": "fake:9092"}, env={})


def fake_with_admin(cluster: FakeCluster) -> Callable[..., list[str]]:
    """kafka.with_admin over a fake cluster: the work runs, the admin is closed after."""

    def run(_: Settings, work: Callable[[AdminPort], list[str]]) -> list[str]:
        admin = FakeAdmin(cluster)
        try:
            return work(admin)
        finally:
            admin.close()

    return run


# --- matching ---------------------------------------------------------------------------------


def test_matching_keeps_names_with_the_prefix_sorted() -> None:
    assert matching(["payments", "orders.billing.dlq", "orders"], "ord") == [
        "orders",
        "orders.billing.dlq",
    ]
    assert matching(TOPICS, "x") == []


def test_an_empty_prefix_offers_every_name_but_the_internal_ones() -> None:
    assert matching(TOPICS, "") == ["orders", "orders.billing.dlq", "payments"]


def test_internal_names_are_offered_once_the_prefix_starts_with_an_underscore() -> None:
    assert matching(TOPICS, "_") == ["__consumer_offsets", "_schemas"]
    assert matching(TOPICS, "__") == ["__consumer_offsets"]


def test_a_name_listed_twice_is_offered_once() -> None:
    assert matching(["orders", "orders"], "o") == ["orders"]


# --- within -----------------------------------------------------------------------------------


def test_within_returns_what_the_fetch_found() -> None:
    assert within(lambda: ["a", "b"], 5.0) == ["a", "b"]


def test_a_failing_fetch_gives_no_names() -> None:
    def fail() -> list[str]:
        raise FakeBrokerError("NOT_CONTROLLER")

    assert within(fail, 5.0) == []


def test_a_fetch_that_does_not_finish_in_time_is_given_up() -> None:
    release = threading.Event()

    def stuck() -> list[str]:
        release.wait(30)
        return ["late"]

    started = time.monotonic()
    try:
        assert within(stuck, 0.2) == []
        assert time.monotonic() - started < 5  # given up at the timeout, not when it ends
    finally:
        release.set()


# --- cluster_names ----------------------------------------------------------------------------


def test_topic_names_come_from_the_cluster_filtered_by_the_prefix() -> None:
    cluster = FakeCluster()
    cluster.create_topics(TOPICS)
    found = cluster_names("topics", "or", settings, with_admin=fake_with_admin(cluster))
    assert found == ["orders", "orders.billing.dlq"]
    assert [a.closed for a in cluster.admins] == [True]


def test_group_names_come_from_the_cluster_filtered_by_the_prefix() -> None:
    cluster = FakeCluster()
    cluster.create_topic("orders")
    for group in ("billing", "bi-reports", "audit"):
        cluster.commit(group, {TopicPartition("orders", 0): 1}, None)
    found = cluster_names("groups", "bi", settings, with_admin=fake_with_admin(cluster))
    assert found == ["bi-reports", "billing"]


def test_a_cluster_that_fails_the_listing_gives_no_names() -> None:
    cluster = FakeCluster()
    cluster.create_topics(TOPICS)

    def failing(s: Settings, work: Callable[[AdminPort], list[str]]) -> list[str]:
        admin = FakeAdmin(cluster)
        admin.fail_next("topic_names")
        return work(admin)

    assert cluster_names("topics", "", settings, with_admin=failing) == []


def test_an_unreachable_cluster_gives_no_names() -> None:
    def unreachable(s: Settings, work: Callable[[AdminPort], list[str]]) -> list[str]:
        raise ConnectError("cannot reach Kafka at fake:9092 within 1.5s")

    assert cluster_names("groups", "", settings, with_admin=unreachable) == []


def test_bad_settings_give_no_names() -> None:
    def bad() -> Settings:
        raise ConfigError("KAFKA_BROKERS", "env", "is empty")

    assert cluster_names("topics", "", bad, with_admin=fake_with_admin(FakeCluster())) == []


# --- completion_settings ----------------------------------------------------------------------


@pytest.mark.usefixtures("clean_env")
def test_completion_settings_connect_for_a_short_time_at_most(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAFKA_CONNECT_TIMEOUT", "30s")
    assert completion_settings({}).connect_timeout == CONNECT_TIMEOUT_S
    assert completion_settings({"connect_timeout": "500ms"}).connect_timeout == 0.5


@pytest.mark.usefixtures("clean_env")
def test_completion_settings_take_flags_over_the_environment_and_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "k.toml"
    config.write_text('[contexts.prod]\nbrokers = "prod:9092"\n[contexts.dev]\nbrokers = "dev:1"\n')
    assert completion_settings({}, str(config), "prod").brokers == ("prod:9092",)
    monkeypatch.setenv("KAFKA_BROKERS", "env:9092")
    assert completion_settings({}, str(config), "prod").brokers == ("env:9092",)
    assert completion_settings({"brokers": "flag:1"}, str(config), "dev").brokers == ("flag:1",)


@pytest.mark.usefixtures("clean_env")
def test_completion_settings_raise_on_bad_settings_like_a_command() -> None:
    with pytest.raises(ConfigError):
        completion_settings({"connect_timeout": "banana"})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5", 5.0),
        ("0.5", 0.5),
        (None, COMPLETION_TIMEOUT_S),
        ("", COMPLETION_TIMEOUT_S),
        ("abc", COMPLETION_TIMEOUT_S),
        ("0", COMPLETION_TIMEOUT_S),
        ("nan", COMPLETION_TIMEOUT_S),
        ("1e9", COMPLETION_TIMEOUT_S),
        ("-3", COMPLETION_TIMEOUT_S),
    ],
)
def test_the_lookup_budget_comes_from_the_environment_when_valid(value, expected):
    environ = {} if value is None else {"KAFKACTL_COMPLETION_TIMEOUT": value}
    assert completion_timeout(environ) == expected
