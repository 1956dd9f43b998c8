"""librdkafka's reconnect backoff: every client takes KAFKA_RECONNECT_BACKOFF_MIN and _MAX
(librdkafka waits about the first before its first connection to each broker it learns of:
100 ms by default, so `consume EMPTY -e` is not a second slower than kcat)."""

from __future__ import annotations

import os

import pytest

from kafkactl.config import load_settings
from kafkactl.kafka.librdkafka.config import admin_config, consumer_config, producer_config


@pytest.mark.parametrize(
    ("env", "first", "longest"),
    [
        ({}, 100, 30_000),
        ({"KAFKA_RECONNECT_BACKOFF_MIN": "2s", "KAFKA_RECONNECT_BACKOFF_MAX": "5s"}, 2000, 5000),
    ],
)
def test_every_client_takes_the_reconnect_backoff(
    env: dict[str, str], first: int, longest: int
) -> None:
    settings = load_settings(env=env, config_path=os.devnull)
    for config in (
        producer_config(settings),
        consumer_config(settings, None),
        consumer_config(settings, "g", bulk=True),
        admin_config(settings),
    ):
        assert (config["reconnect.backoff.ms"], config["reconnect.backoff.max.ms"]) == (
            first,
            longest,
        )


def test_x_sets_a_clients_backoff_over_the_setting() -> None:
    settings = load_settings(
        env={"KAFKA_CLIENT_OPTIONS": "reconnect.backoff.ms=300"}, config_path=os.devnull
    )
    assert admin_config(settings)["reconnect.backoff.ms"] == "300"
