"""The live view on a terminal: log lines from any thread print above it and it stays whole;
long log lines wrap at words under their message; the consume view redraws from its own
thread and that thread ends with the view.

The terminal here is a Rich console writing to memory whose output is replayed through a VT
emulator (pyte), so the tests read the screen, not the escape codes.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from typing import Any

import pyte
import pytest
from rich.console import Console
from rich.table import Table
from rich.text import Text

import kafkactl.render as render
import kafkactl.render.live as live
from kafkactl.render.consume import MetricsView
from kafkactl.render.live import LiveRegion

WIDTH = 80
LOGGERS = 4


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """stderr is a terminal of WIDTH columns that records everything written to it."""
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=WIDTH, height=500, color_system=None)
    monkeypatch.setattr(render, "err", console)
    monkeypatch.setattr(live, "err", console)
    yield out


def _screen(written: str) -> list[str]:
    """Every line the terminal shows after `written`: scrolled-off lines, then the screen."""
    screen = pyte.HistoryScreen(WIDTH, 500, history=100_000)
    pyte.Stream(screen).feed(written.replace("\n", "\r\n"))
    scrolled = ["".join(row[x].data for x in range(WIDTH)) for row in screen.history.top]
    lines = [line.rstrip() for line in scrolled + screen.display]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _table(rows: int) -> Table:
    table = Table(title="Metrics", title_justify="left")
    table.add_column("metric")
    table.add_column("value")
    for n in range(rows):
        table.add_row(f"row {n}", str(n))
    return table


def test_lines_from_many_threads_and_redraws_leave_the_screen_whole(
    terminal: io.StringIO,
) -> None:
    # Rich works out where the view is under its lock but renders and writes after it: without
    # kafkactl's print lock, a redraw racing a log line (the view changing height meanwhile)
    # overwrote lines and left stale copies of the view on the screen.
    lines_per_thread = 250

    def log(thread: int) -> None:
        for n in range(lines_per_thread):
            render.log_line(f"12:00:00 INFO    thread {thread} line {n}")

    def redraw(region: LiveRegion) -> None:
        for n in range(lines_per_thread):
            region.draw(_table(1 + n % 7))

    with LiveRegion(True, transient=False) as region:
        threads = [threading.Thread(target=log, args=(t,)) for t in range(LOGGERS)]
        threads.append(threading.Thread(target=redraw, args=(region,)))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        region.draw(_table(3))

    screen = _screen(terminal.getvalue())
    logged = [line for line in screen if " line " in line]
    assert sorted(logged) == sorted(
        f"12:00:00 INFO    thread {t} line {n}"
        for t in range(LOGGERS)
        for n in range(lines_per_thread)
    )
    # One table, the last drawn (title, borders, header, 3 rows), at the bottom.
    assert [n for n, line in enumerate(screen) if line.startswith("┏")] == [len(screen) - 7]
    assert screen[-8:-7] == ["Metrics"]
    assert screen[-1].startswith("└")


def test_a_long_log_line_wraps_at_words_under_its_message() -> None:
    line = Text(
        "12:00:00 WARNING \u00d71,599 in 10s: handler failed (retryable, retry tier 1): "
        "RuntimeError payment service timed out for order <n>"
    )
    assert render.hanging(line, 80).plain.split("\n") == [
        "12:00:00 WARNING \u00d71,599 in 10s: handler failed (retryable, retry tier 1):",
        "                 RuntimeError payment service timed out for order <n>",
    ]


def test_each_line_of_a_message_is_indented_and_a_short_line_stays_as_it_is() -> None:
    note = Text("12:00:00 WARNING handler failed: boom 3\n(more like this: one count every 10s)")
    assert render.hanging(note, 80).plain == (
        "12:00:00 WARNING handler failed: boom 3\n"
        "                 (more like this: one count every 10s)"
    )
    short = Text("12:00:00 INFO    assigned orders[0-2]")
    assert render.hanging(short, 80) is short


def test_a_line_without_the_log_prefix_or_on_a_narrow_terminal_wraps_without_indent() -> None:
    plain = Text("a line printed without a time and level in front of it " * 2)
    assert render.hanging(plain, 40).plain.split("\n") == [
        "a line printed without a time and level",
        "in front of it a line printed without a",
        "time and level in front of it",
    ]
    # 50 - 17 columns would be left for the message: too few to indent.
    narrow = render.hanging(Text("12:00:00 WARNING " + "word " * 12), 50).plain
    assert narrow.split("\n") == [
        "12:00:00 WARNING word word word word word word",
        "word word word word word word",
    ]


def test_the_consume_view_redraws_from_its_thread_and_the_thread_ends_with_it(
    terminal: io.StringIO,
) -> None:
    calls: list[float] = []
    received = [0]

    def snapshot() -> dict[str, Any]:
        calls.append(time.monotonic())
        received[0] += 1000
        return {"received": received[0]}

    view = MetricsView(enabled=True, source=snapshot, every=0.02)
    with view:
        deadline = time.monotonic() + 10
        while len(calls) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(calls) >= 3, "the view did not redraw by itself"
        drawn = _screen(terminal.getvalue())
        assert any(line.startswith("│ received") for line in drawn), drawn
    assert view._thread is not None and not view._thread.is_alive()
    after = len(calls)
    time.sleep(0.1)
    assert len(calls) == after, "the view kept reading the metrics after it closed"
    # The live region is transient: what stays on the screen after the view is nothing.
    assert _screen(terminal.getvalue()) == []
