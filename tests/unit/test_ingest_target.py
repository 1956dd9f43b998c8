"""The topic produce sends to must exist, and a forced partition must be one of its."""

from __future__ import annotations

import os

import pytest

from kafkactl.config import load_settings
from kafkactl.errors import KafkactlError, OptionError, UsageError
from kafkactl.ingest.target import partition_count
from tests.fakes import FakeCluster

SETTINGS = load_settings(env={}, config_path=os.devnull)


@pytest.fixture
def cluster() -> FakeCluster:
    cluster = FakeCluster()
    cluster.create_topic("orders", partitions=3)
    return cluster


def test_the_partition_count_of_an_existing_topic(cluster: FakeCluster) -> None:
    settings = SETTINGS
    assert partition_count(settings, "orders", connect=cluster.connect_admin) == 3
    assert partition_count(settings, "orders", 2, connect=cluster.connect_admin) == 3


def test_a_missing_topic_says_how_to_create_it(cluster: FakeCluster) -> None:
    with pytest.raises(KafkactlError, match="topic nope does not exist; create it with: ") as info:
        partition_count(SETTINGS, "nope", connect=cluster.connect_admin)
    assert "kafkactl create-topics nope" in str(info.value)
    assert not isinstance(info.value, UsageError)


def test_a_partition_out_of_range_is_a_usage_error(cluster: FakeCluster) -> None:
    with pytest.raises(OptionError) as info:
        partition_count(SETTINGS, "orders", 3, connect=cluster.connect_admin)
    assert isinstance(info.value, UsageError)
    assert info.value.option == "partition"
    assert (
        str(info.value.worded("--partition"))
        == "--partition 3 does not exist: orders has 3 partitions (0-2)"
    )
