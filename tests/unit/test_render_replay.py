"""replay-dlq's progress: the one bar layout (render/progress.py) with the replay's counts."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from kafkactl.render.replay import ReplayProgress
from kafkactl.replay.model import ReplaySummary


def _terminal(monkeypatch: pytest.MonkeyPatch, terminal: bool = True) -> io.StringIO:
    out = io.StringIO()
    console = Console(file=out, force_terminal=terminal, width=140, color_system=None)
    monkeypatch.setattr("kafkactl.render.live.err", console)
    return out


def test_the_bar_shows_records_scanned_of_the_range_and_what_was_replayed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = _terminal(monkeypatch)
    summary = ReplaySummary("orders.dlq", "kafkactl-replay.orders.dlq", "retry", dry_run=False)
    summary.total, summary.scanned, summary.replayed, summary.failed = 1000, 250, 240, 3
    with ReplayProgress(True) as progress:
        progress.update(summary)
    text = out.getvalue()
    for part in ("replaying", " 25%", "250 of 1,000 records", "records/s", "ETA", "replayed 240"):
        assert part in text, text
    assert "failed 3" in text
    assert text.index("records/s") < text.index("ETA") < text.index("replayed 240")


def test_a_dry_run_counts_what_it_would_replay(monkeypatch: pytest.MonkeyPatch) -> None:
    out = _terminal(monkeypatch)
    summary = ReplaySummary("orders.dlq", "g", "retry", dry_run=True)
    summary.total, summary.scanned = 10, 10
    summary.targets = {"orders": 7}
    with ReplayProgress(True, "reading") as progress:
        progress.update(summary)
    assert "would replay 7" in out.getvalue()
    assert "100%" in out.getvalue()


def test_nothing_is_drawn_off_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    out = _terminal(monkeypatch, terminal=False)
    with ReplayProgress(True) as progress:
        assert not progress.enabled
        progress.update(ReplaySummary("d", "g", "retry", dry_run=False, total=5, scanned=1))
    assert out.getvalue() == ""
