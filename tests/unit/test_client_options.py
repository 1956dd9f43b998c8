"""-X settings kafkactl reads itself: the delivery timeout bounds the end of a produce."""

from __future__ import annotations

import os

import pytest

from kafkactl.config import load_settings
from kafkactl.ingest.flush import FLUSH_TIMEOUT_S, flush_timeout_for
from kafkactl.kafka.client_options import delivery_timeout_s


@pytest.mark.parametrize(
    ("options", "seconds"),
    [
        (None, None),
        ("delivery.timeout.ms=20000", 20.0),
        ("message.timeout.ms=5000", 5.0),
        ("delivery_timeout_ms=7000", 7.0),
        ("linger.ms=5", None),
        ("delivery.timeout.ms=-5", None),
        ("delivery.timeout.ms=99999999999999999999", 2_147_483.647),
        ("delivery.timeout.ms=\u0661\u0662", None),
    ],
)
def test_the_delivery_timeout_x_sets(options: str | None, seconds: float | None) -> None:
    env = {"KAFKA_CLIENT_OPTIONS": options} if options else {}
    settings = load_settings(env=env, config_path=os.devnull)
    assert delivery_timeout_s(settings) == seconds


def test_the_end_of_a_produce_waits_the_delivery_timeout_and_a_margin() -> None:
    assert flush_timeout_for(None) == FLUSH_TIMEOUT_S == 135.0
    assert flush_timeout_for(20.0) == 35.0
