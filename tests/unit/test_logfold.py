"""Folding repeated log lines on a terminal: first N in full, then one count per interval."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from loguru import logger

from kafkactl import log
from kafkactl.logfold import Folded, Folder


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_first_lines_of_a_kind_print_in_full_then_are_counted() -> None:
    folder = Folder(first=3, interval=10, clock=Clock())
    shown = [folder.offer("a", "A") for _ in range(5)]
    assert shown == [True, True, True, False, False]
    assert folder.is_last_in_full("a") is False  # past it


def test_kinds_are_counted_separately() -> None:
    folder = Folder(first=1, interval=10, clock=Clock())
    assert folder.offer("a", "A") is True
    assert folder.offer("b", "B") is True
    assert folder.offer("a", "A") is False
    assert folder.offer("b", "B") is False


def test_counts_are_due_once_per_interval() -> None:
    clock = Clock()
    folder = Folder(first=1, interval=10, clock=clock)
    folder.offer("a", "A")
    for _ in range(56):
        folder.offer("a", "A")
    clock.now += 9.9
    assert folder.due() == []
    clock.now += 0.1
    assert folder.due() == [Folded("A", "WARNING", 56, 10.0)]
    assert folder.due() == []  # restarted
    folder.offer("a", "A")
    clock.now += 3
    assert folder.due() == []
    assert folder.due(final=True) == [Folded("A", "WARNING", 1, 3.0)]


def test_the_window_starts_at_the_first_counted_line() -> None:
    clock = Clock()
    folder = Folder(first=0, interval=10, clock=clock)
    clock.now += 50  # nothing pending while idle
    folder.offer("a", "A")
    clock.now += 5
    assert folder.due() == []
    clock.now += 5
    assert [f.count for f in folder.due()] == [1]


def test_folded_text_names_count_span_and_kind() -> None:
    line = Folded("RuntimeError flaky downstream (retry 1)", "WARNING", 56, 10.2).text()
    assert line == "\u00d756 in 10s: RuntimeError flaky downstream (retry 1)"
    assert Folded("x", "WARNING", 1234, 0.2).text() == "\u00d71,234 in 1s: x"


def test_last_in_full_is_signalled_once() -> None:
    folder = Folder(first=2, interval=10, clock=Clock())
    folder.offer("a", "A")
    assert not folder.is_last_in_full("a")
    folder.offer("a", "A")
    assert folder.is_last_in_full("a")


@pytest.fixture
def terminal_sink(monkeypatch: pytest.MonkeyPatch) -> Any:
    printed: list[str] = []
    clock = Clock()
    sink = log.TerminalSink(Folder(first=2, interval=10, clock=clock))
    monkeypatch.setattr(log.TerminalSink, "_print", staticmethod(printed.append))
    handler = logger.add(sink, level="INFO", format="{level} {message}", colorize=False)
    yield sink, printed, clock
    logger.remove(handler)


def test_terminal_sink_folds_lines_bound_with_a_fold_key(terminal_sink: Any) -> None:
    _sink, printed, clock = terminal_sink
    fold = (("handler failed", "retryable", "RuntimeError", "boom", "main"), "RuntimeError boom")
    for n in range(10):
        logger.bind(fold=fold).warning("handler failed: RuntimeError boom {}", n)
    logger.info("an ordinary line")
    assert [p for p in printed if "handler failed" in p] == [
        "WARNING handler failed: RuntimeError boom 0\n",
        "WARNING handler failed: RuntimeError boom 1\n"
        "\x1b[2m(more like this: one count every 10s; --log-level DEBUG shows each)\x1b[0m",
    ]
    assert printed[-1] == "INFO an ordinary line\n"
    clock.now += 10
    logger.warning("next")
    assert "\u00d78 in 10s: RuntimeError boom" in printed[-2]
    assert printed[-1] == "WARNING next\n"


def test_terminal_sink_without_a_folder_prints_every_line(monkeypatch: pytest.MonkeyPatch) -> None:
    printed: list[str] = []
    monkeypatch.setattr(log.TerminalSink, "_print", staticmethod(printed.append))
    handler = logger.add(log.TerminalSink(None), level="DEBUG", format="{message}")
    try:
        for _ in range(10):
            logger.bind(fold=(("k",), "K")).warning("same")
    finally:
        logger.remove(handler)
    assert printed == ["same\n"] * 10


def test_json_lines_carry_no_fold_key(capsys: pytest.CaptureFixture[str]) -> None:
    log.setup_logging("INFO", "json")
    try:
        for _ in range(5):
            logger.bind(topic="t", fold=(("k",), "K")).warning("same")
    finally:
        logger.configure(handlers=[{"sink": sys.stderr}], patcher=lambda record: None)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 5
    assert all('"topic":"t"' in line and "fold" not in line for line in lines)
