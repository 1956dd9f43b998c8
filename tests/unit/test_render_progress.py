"""The progress helper: fraction, rate and ETA of work of known size."""

from __future__ import annotations

from rich.console import Console

from kafkactl.render.progress import Estimate, bar, clock, estimate


def test_estimate_from_the_average_rate_so_far() -> None:
    assert estimate(25, 100, 5.0) == Estimate(0.25, 5.0, 15.0)


def test_estimate_before_any_time_or_progress_has_no_eta() -> None:
    assert estimate(0, 100, 0.0) == Estimate(0.0, 0.0, None)
    assert estimate(10, 100, 0.0).eta is None


def test_estimate_is_clamped_to_the_total() -> None:
    found = estimate(150, 100, 10.0)
    assert found.fraction == 1.0
    assert found.eta == 0.0


def test_an_empty_total_is_done() -> None:
    assert estimate(0, 0, 1.0) == Estimate(1.0, 0.0, 0.0)


def test_clock() -> None:
    assert clock(None) == "-:--:--"
    assert clock(83.4) == "0:01:23"
    assert clock(3600 * 2 + 61) == "2:01:01"


def test_bar_shows_percentage_rate_and_eta() -> None:
    console = Console(width=110, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(bar(50, 200, 10.0, "{rate:,.0f} records/s", "extra"))
    text = console.export_text()
    assert " 25%" in text
    assert "5 records/s" in text
    assert "ETA 0:00:30" in text
    assert "extra" in text
