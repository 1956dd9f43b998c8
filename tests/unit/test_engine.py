"""Choosing the engine: auto, an explicit one, and one that is not installed (exit 2)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kafkactl import kafka
from kafkactl.config import load_settings
from kafkactl.errors import EXIT_USAGE, ConfigError

REPO = Path(__file__).resolve().parents[2]


def _settings(**env: str):
    return load_settings(env={"KAFKA_BROKERS": "127.0.0.1:1", **env}, config_path=os.devnull)


def test_auto_picks_librdkafka_when_it_imports(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(kafka, "librdkafka_available", lambda: True)
    assert kafka.engine_name(_settings()) == "librdkafka"


def test_auto_falls_back_to_kafka_python(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(kafka, "librdkafka_available", lambda: False)
    assert kafka.engine_name(_settings()) == "kafka-python"
    assert kafka.engine_name(_settings(KAFKA_ENGINE="kafka-python")) == "kafka-python"


def test_asking_for_librdkafka_without_it_names_the_setting_and_the_fix(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setattr(kafka, "librdkafka_available", lambda: False)
    with pytest.raises(ConfigError) as excinfo:
        kafka.engine_name(_settings(KAFKA_ENGINE="librdkafka"))
    message = str(excinfo.value)
    assert message.startswith(
        "KAFKA_ENGINE (from env): the librdkafka engine needs confluent-kafka"
    )
    assert "pip install 'kafkactl[fast]'" in message
    assert excinfo.value.exit_code == EXIT_USAGE


def test_an_unknown_engine_is_a_config_error():
    with pytest.raises(ConfigError) as excinfo:
        _settings(KAFKA_ENGINE="rust")
    assert "KAFKA_ENGINE (from env): 'rust' is not allowed" in str(excinfo.value)


def _without_confluent_kafka(tmp_path: Path) -> dict[str, str]:
    """An environment where `import confluent_kafka` fails, as when it is not installed."""
    shadow = tmp_path / "shadow" / "confluent_kafka"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('No module named confluent_kafka')\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "KAFKACTL_"))}
    env.update(PYTHONPATH=f"{shadow.parent}{os.pathsep}{REPO}", KAFKA_BROKERS="127.0.0.1:1")
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
    return env


def test_engine_flag_without_confluent_kafka_is_exit_2_with_the_pip_command(tmp_path: Path):
    result = subprocess.run(
        [sys.executable, "-m", "kafkactl", "--engine", "librdkafka", "health"],
        capture_output=True,
        text=True,
        env=_without_confluent_kafka(tmp_path),
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        "error: --engine (from flag): the librdkafka engine needs confluent-kafka, which is not "
        "installed; install it with: pip install 'kafkactl[fast]' (or: pip install "
        "confluent-kafka) — or use --engine kafka-python"
    ]


def test_config_shows_the_engine_auto_picked(tmp_path: Path):
    env = _without_confluent_kafka(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "kafkactl", "config", "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert '"name": "kafka-python"' in result.stdout
    assert '"KAFKA_ENGINE"' in result.stdout


def test_version_names_the_engine_and_libraries():
    result = subprocess.run(
        [sys.executable, "-m", "kafkactl", "--version"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    assert "engine auto: " in result.stdout and "kafka-python 3." in result.stdout
