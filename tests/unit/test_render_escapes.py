"""Untrusted text never reaches the terminal raw: one helper (kafkactl.terminal_text) applied by
the Rich console every table, live view and message goes through, and by the pretty log sink."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator

import pytest
from loguru import logger

from kafkactl import log
from kafkactl.render import SafeConsole, table
from kafkactl.render.live import LiveRegion
from kafkactl.terminal_text import safe_for_terminal

HOSTILE = {
    "CSI clear screen": ("a\x1b[2Jb", "a\\x1b[2Jb"),
    "OSC window title": ("\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07"),
    "C1 CSI": ("x\x9b2Jy", "x\\x9b2Jy"),
    "carriage return": ("ok\rFAKE", "ok\\rFAKE"),
    "backspace and NUL": ("a\x08\x00b", "a\\x08\\x00b"),
    "DEL": ("a\x7fb", "a\\x7fb"),
    "bidi override": ("abc\u202edcb", "abc\\u202edcb"),
    "bidi isolate": ("\u2066x\u2069", "\\u2066x\\u2069"),
    "line separator": ("a\u2028b", "a\\u2028b"),
    "byte not UTF-8": ("k\udcff", "k\\xff"),
    "lone surrogate": ("\ud800", "\\ud800"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_each_control_is_shown_as_a_visible_escape(case: str) -> None:
    raw, shown = HOSTILE[case]
    assert safe_for_terminal(raw) == shown


def test_printable_text_is_left_alone() -> None:
    text = "order 17 failed: ValueError — naïve café [bold] 日本 \\x1b"
    assert safe_for_terminal(text) is text


def test_newlines_and_tabs_are_escaped_in_a_line_and_kept_in_a_block() -> None:
    assert safe_for_terminal("a\nb\tc") == "a\\nb\\tc"
    assert safe_for_terminal("a\nb\tc", keep_lines=True) == "a\nb\tc"
    assert safe_for_terminal("a\n\x1b", keep_lines=True) == "a\n\\x1b"


def _console() -> tuple[SafeConsole, io.StringIO]:
    out = io.StringIO()
    console = SafeConsole(
        file=out, force_terminal=True, width=160, color_system="truecolor", highlight=False
    )
    return console, out


def test_a_table_cell_with_escapes_is_shown_escaped_and_styled_cells_keep_their_style() -> None:
    console, out = _console()
    rows = [("k\x1b[2J\x1b]0;t\x07", "[red]failed:[/] Bad\x9bClass")]
    console.print(table("Dry run \x1b[5m", ("key", "target"), rows))
    text = out.getvalue()
    assert "k\\x1b[2J\\x1b]0;t\\x07" in text
    assert "Bad\\x9bClass" in text and "Dry run \\x1b[5m" in text
    # The only escape sequences left are Rich's own styles (SGR: ESC [ ... m).
    for sequence in text.split("\x1b")[1:]:
        assert sequence.startswith("["), repr(sequence[:10])
        assert sequence[1 : sequence.index("m")].replace(";", "").isdigit(), repr(sequence[:12])
    assert "\x07" not in text and "\x9b" not in text


def test_a_message_printed_above_a_live_region_is_escaped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    console, out = _console()
    monkeypatch.setattr("kafkactl.render.live.err", console)
    with LiveRegion(True) as region:
        region.print_above("warning: key \x1b]0;title\x07 ignored")
        region.draw("progress \x1b[2J")
    text = out.getvalue()
    assert "key \\x1b]0;title\\x07 ignored" in text and "progress \\x1b[2J" in text
    assert "\x07" not in text


@pytest.fixture
def pretty_log(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    out = io.StringIO()
    monkeypatch.setattr(sys, "stderr", out)
    log.setup_logging("INFO", "pretty")
    yield out
    logger.configure(handlers=[{"sink": sys.stderr}], patcher=lambda record: None)


def test_the_pretty_log_line_escapes_the_message(pretty_log: io.StringIO) -> None:
    logger.bind(key="k\x1b").warning("could not replay {}: {}", "key\x1b[2J", "msg\r\nFAKE")
    line = pretty_log.getvalue()
    assert "could not replay key\\x1b[2J: msg\\r\\nFAKE" in line
    assert "\x1b" not in line and line.count("\n") == 1


def test_a_logged_traceback_is_escaped_too(pretty_log: io.StringIO) -> None:
    try:
        raise ValueError("bad key \x1b]0;pwned\x07")
    except ValueError as exc:
        logger.opt(exception=exc).error("could not settle")
    text = pretty_log.getvalue()
    assert "ValueError: bad key \\x1b]0;pwned\\x07" in text and "\x1b" not in text


def test_json_log_lines_stay_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    import orjson

    out = io.StringIO()
    monkeypatch.setattr(sys, "stderr", out)
    log.setup_logging("INFO", "json")
    try:
        logger.bind(key="k\x1b").warning("bad {}", "v\x1b[2J")
    finally:
        logger.configure(handlers=[{"sink": sys.stderr}], patcher=lambda record: None)
    line = orjson.loads(out.getvalue())
    assert line["msg"] == "bad v\x1b[2J" and line["key"] == "k\x1b"
    assert log.SHOWN not in line
