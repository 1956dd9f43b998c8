"""Bootstrapping a kafka-python client: settings it refuses are a usage error at once."""

from __future__ import annotations

import os
import time

import pytest
from kafka.errors import KafkaConfigurationError

from kafkactl.config import load_settings
from kafkactl.errors import UsageError
from kafkactl.kafka.kafka_python.connect import connect


def test_settings_kafka_python_refuses_are_exit_2_at_once_not_30_s_of_retries() -> None:
    settings = load_settings(
        {"brokers": "127.0.0.1:9", "connect_timeout": "30s"}, env={}, config_path=os.devnull
    )

    def refuse() -> object:
        raise KafkaConfigurationError("Must set delivery_timeout_ms higher than linger_ms")

    started = time.monotonic()
    with pytest.raises(UsageError, match="kafka-python refused the client settings") as caught:
        connect(settings, refuse, "the producer")
    assert caught.value.exit_code == 2
    assert time.monotonic() - started < 5
