"""Registered secrets never appear in log text."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from loguru import logger

from kafkactl import log
from kafkactl.config import load_settings
from kafkactl.log import redact, register_secrets

SECRET = "hunter2-Sup3r"


@pytest.fixture(autouse=True)
def fresh_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with no registered secrets and leaves the module state untouched."""
    monkeypatch.setattr(log, "_secrets", set())


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put loguru and the `kafka` stdlib logger back the way they were after setup_logging()."""
    kafka_logger = logging.getLogger("kafka")
    saved = (list(kafka_logger.handlers), kafka_logger.propagate, kafka_logger.level)
    yield
    logger.configure(handlers=[{"sink": sys.stderr}], patcher=lambda record: None)
    kafka_logger.handlers, kafka_logger.propagate, _ = saved
    kafka_logger.setLevel(saved[2])


def test_redact_masks_a_registered_secret() -> None:
    register_secrets([SECRET])
    assert redact(f"login failed for alice with password {SECRET}") == (
        "login failed for alice with password ***"
    )


def test_redact_masks_every_occurrence() -> None:
    register_secrets([SECRET])
    assert redact(f"{SECRET}:{SECRET}/{SECRET}") == "***:***/***"


def test_redact_masks_several_secrets() -> None:
    register_secrets(["alpha-secret"])
    register_secrets(["beta-secret"])
    assert redact("a=alpha-secret b=beta-secret") == "a=*** b=***"


def test_redact_leaves_text_without_secrets_alone() -> None:
    register_secrets([SECRET])
    assert redact("nothing to hide") == "nothing to hide"


def test_redact_without_registered_secrets_is_identity() -> None:
    assert redact(f"password {SECRET}") == f"password {SECRET}"


def test_empty_values_are_not_registered() -> None:
    register_secrets(["", SECRET])
    assert redact("abc") == "abc"
    assert redact(SECRET) == "***"


def test_settings_secrets_are_redacted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(
        env={
            "XDG_CONFIG_HOME": str(tmp_path),
            "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "KAFKA_SASL_MECHANISM": "PLAIN",
            "KAFKA_SASL_USERNAME": "alice",
            "KAFKA_SASL_PASSWORD": SECRET,
        }
    )
    register_secrets(settings.secrets())
    assert redact(f"sasl_plain_password={SECRET!r}") == "sasl_plain_password='***'"


def test_json_log_lines_are_redacted(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    register_secrets([SECRET])
    log.setup_logging("INFO", "json")
    logger.bind(key=f"k-{SECRET}").info("connecting with password {}", SECRET)
    err = capsys.readouterr().err
    assert SECRET not in err
    line = json.loads(err.strip().splitlines()[-1])
    assert line["msg"] == "connecting with password ***"
    assert line["key"] == "k-***"
    assert line["level"] == "INFO"


def test_pretty_log_lines_are_redacted(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    register_secrets([SECRET])
    log.setup_logging("INFO", "pretty")
    logger.warning(f"auth failed: {SECRET}")
    err = capsys.readouterr().err
    assert SECRET not in err
    assert "auth failed: ***" in err


def test_library_log_lines_are_redacted(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    register_secrets([SECRET])
    log.setup_logging("DEBUG", "json")
    logging.getLogger("kafka.conn").warning("sasl password %s rejected", SECRET)
    err = capsys.readouterr().err
    assert SECRET not in err
    assert "kafka: sasl password *** rejected" in err
