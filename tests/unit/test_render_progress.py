"""The progress helper: fraction, rate and ETA of work of known size, one layout everywhere."""

from __future__ import annotations

import io
from typing import Any

import pytest
from rich.console import Console

from kafkactl.render.progress import Estimate, ProgressDisplay, bar, clock, estimate, size


def test_estimate_from_the_average_rate_so_far() -> None:
    assert estimate(25, 100, 5.0) == Estimate(0.25, 5.0, 15.0)


def test_estimate_before_any_time_or_progress_has_no_eta() -> None:
    assert estimate(0, 100, 0.0) == Estimate(0.0, 0.0, None)
    assert estimate(10, 100, 0.0).eta is None


def test_estimate_is_clamped_to_the_total() -> None:
    found = estimate(150, 100, 10.0)
    assert found.fraction == 1.0
    assert found.eta == 0.0


def test_work_done_before_the_clock_started_is_not_in_the_rate() -> None:
    assert estimate(60, 100, 10.0, base=20) == Estimate(0.6, 4.0, 10.0)


def test_an_empty_total_is_done() -> None:
    assert estimate(0, 0, 1.0) == Estimate(1.0, 0.0, 0.0)


def test_clock() -> None:
    assert clock(None) == "-:--:--"
    assert clock(83.4) == "0:01:23"
    assert clock(3600 * 2 + 61) == "2:01:01"


def test_size() -> None:
    assert size(512) == "512 B"
    assert size(17.2 * 1024 * 1024) == "17.2 MiB"


def _text(renderable: Any) -> str:
    console = Console(width=140, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def test_bar_line_reads_description_bar_percent_count_rate_eta_in_that_order() -> None:
    text = _text(bar("orders", 50, 200, 10.0, extra="replayed 40"))
    parts = ["orders", "━", " 25%", "50 of 200 records", "5 records/s", "ETA 0:00:30"]
    parts.append("replayed 40")
    places = [text.index(part) for part in parts]
    assert places == sorted(places), text


def test_bar_in_bytes() -> None:
    mib = 1024 * 1024
    text = _text(bar("big.jsonl", 10 * mib, 40 * mib, 5.0, unit="bytes"))
    assert " 25%" in text
    assert "10.0 MiB of 40.0 MiB" in text
    assert "2.0 MiB/s" in text
    assert "ETA 0:00:15" in text
    assert "records" not in text


def test_bar_of_unknown_size_has_no_percentage_or_eta() -> None:
    text = _text(bar("reading", 300, None, 3.0))
    assert "%" not in text
    assert "300 records" in text
    assert "100 records/s" in text
    assert "ETA -:--:--" in text


def test_markup_in_the_description_is_shown_as_written() -> None:
    assert "[red]topic" in _text(bar("[red]topic", 1, 2, 1.0))


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_display_times_from_entry_and_draws_below(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr(
        "kafkactl.render.live.err",
        Console(file=out, force_terminal=True, width=140, color_system=None),
    )
    clock_ = _Clock()
    with ProgressDisplay(True, "reading dlq", now=clock_) as display:
        clock_.now += 4.0
        display.update(1000, 4000, below="counters line")
    text = out.getvalue()
    assert "reading dlq" in text
    assert "1,000 of 4,000 records" in text
    assert "250 records/s" in text
    assert "ETA 0:00:12" in text
    assert text.index("ETA") < text.index("counters line")


def test_display_off_a_terminal_draws_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr("kafkactl.render.live.err", Console(file=out, force_terminal=False))
    with ProgressDisplay(True, "reading") as display:
        assert not display.enabled
        display.update(1, 2)
    assert out.getvalue() == ""
