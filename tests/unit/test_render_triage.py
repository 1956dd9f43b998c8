"""dlq summary's progress: the one bar layout (render/progress.py) over the records in range."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from kafkactl.render.triage import SummaryProgress


def test_the_bar_shows_records_read_of_the_range(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=140, color_system=None)
    monkeypatch.setattr("kafkactl.render.live.err", console)
    with SummaryProgress(True, "reading orders.dlq") as progress:
        progress.update(16_500, 50_000)
    text = out.getvalue()
    for part in ("reading orders.dlq", " 33%", "16,500 of 50,000 records", "records/s", "ETA"):
        assert part in text, text
