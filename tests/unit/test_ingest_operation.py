"""produce's operation: an input or reject file that cannot be opened is one usage error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kafkactl.config import load_settings
from kafkactl.errors import UsageError
from kafkactl.ingest import ProduceOptions
from kafkactl.ingest.operation import ProduceRequest, produce_records

SETTINGS = load_settings(env={}, config_path=os.devnull)


def _no_progress(*_args: object) -> object:
    raise AssertionError("no progress before the input and reject file are open")


def _no_stage() -> tuple[None, None]:
    raise AssertionError("no schema stage before the input and reject file are open")


def test_an_input_that_cannot_be_read_is_a_usage_error(tmp_path: Path) -> None:
    missing = tmp_path / "absent.jsonl"
    request = ProduceRequest(ProduceOptions("orders"), input_path=str(missing))
    with pytest.raises(UsageError, match=r"^cannot read --input '.*absent\.jsonl': "):
        produce_records(SETTINGS, request, _no_progress, build_stage=_no_stage)  # type: ignore[arg-type]


def test_a_reject_file_that_cannot_be_written_is_a_usage_error(tmp_path: Path) -> None:
    lines = tmp_path / "in.jsonl"
    lines.write_text('{"id": 1}\n')
    request = ProduceRequest(
        ProduceOptions("orders"),
        input_path=str(lines),
        reject_path=str(tmp_path / "no-such-dir" / "rejects.jsonl"),
    )
    with pytest.raises(UsageError, match=r"^cannot write --reject-file '.*rejects\.jsonl': "):
        produce_records(SETTINGS, request, _no_progress, build_stage=_no_stage)  # type: ignore[arg-type]
