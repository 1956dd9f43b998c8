"""consume on a terminal, read as an operator sees it: the command runs under a pseudo-terminal
of 110x45 whose output goes through a VT emulator (pyte). While a failing pipeline runs, the
metrics table stays whole at the bottom of the screen with log lines above it, repeated
failures fold into counts, and Ctrl-C ends the run with exit 0 and the summary table."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import REPO
from tests.integration.kafka_helpers import orders, produce, read_all
from tests.integration.terminal_screen import BOX, TerminalScreen

ORDERS = 3000
FAILING = ORDERS // 5  # pipeline_handlers.flaky fails every fifth order on every attempt
TIERS = ("main", "1", "2")  # KAFKA_RETRY_DELAYS=1s,2s: the main topic and two retry tiers
FIRST_IN_FULL = 3  # kafkactl.logfold.Folder: the first 3 lines of a kind print in full
NOTE = "(more like this: one count every 10s; --log-level DEBUG shows each)"
# `HH:MM:SS LEVEL   `: where a log line's message starts, and how far its wrapped lines are
# indented.
INDENT = " " * 17

_TIME = r"\d\d:\d\d:\d\d WARNING "
_FAILURE = (
    r"handler failed \(retryable(?:, retry tier (\d))?\): "
    r"RuntimeError payment service timed out for order "
)
FULL_LINE = re.compile(_TIME + _FAILURE + r"\d+( " + re.escape(NOTE) + ")?")
FOLD_LINE = re.compile(_TIME + r"\u00d7([\d,]+) in \d+s: " + _FAILURE + "<n>")
TOP = re.compile("┏━+┳━+┓")
HEADER = re.compile("┃ metric +┃ +value ┃")
RULE = re.compile("┡━+╇━+┩")
ROW = re.compile(r"│ ( *\S[^│]*?) +│ +(\S[^│]*) │")
BOTTOM = re.compile("└─+┴─+┘")


def _non_empty(lines: list[str]) -> list[str]:
    out = list(lines)
    while out and not out[-1]:
        out.pop()
    return out


def _table(lines: list[str]) -> tuple[int, dict[str, str]]:
    """Where the one table in `lines` starts (its title line) and its rows; asserts it is
    whole, ends the lines and has nothing glued to any of its lines."""
    tops = [i for i, line in enumerate(lines) if TOP.fullmatch(line)]
    assert len(tops) == 1, f"expected one table, found {len(tops)}:\n" + "\n".join(lines)
    top = tops[0]
    assert HEADER.fullmatch(lines[top + 1]), lines[top + 1]
    assert RULE.fullmatch(lines[top + 2]), lines[top + 2]
    assert BOTTOM.fullmatch(lines[-1]), f"the last line is not the table's bottom: {lines[-1]!r}"
    rows: dict[str, str] = {}
    for line in lines[top + 3 : -1]:
        row = ROW.fullmatch(line)
        assert row, f"not a table row (text glued to the table?): {line!r}"
        rows[row.group(1).strip()] = row.group(2)
    return top - 1, rows


def _count(rows: dict[str, str], name: str) -> int:
    return int(rows.get(name, "0").replace(",", ""))


def _joined(lines: list[str]) -> list[str]:
    """Log lines whole again: a wrapped line continues on lines indented under its message."""
    out: list[str] = []
    for line in lines:
        if out and line.startswith(INDENT) and line.strip():
            out[-1] += " " + line.strip()
        else:
            out.append(line)
    return out


def _failure_lines(log: list[str]) -> tuple[dict[str, list[str]], dict[str, list[int]]]:
    """The full failure lines and the folded counts of each tier; asserts every line naming
    the failure is one or the other (nothing garbled)."""
    full: dict[str, list[str]] = {tier: [] for tier in TIERS}
    folded: dict[str, list[int]] = {tier: [] for tier in TIERS}
    for line in log:
        if "payment service" not in line:
            continue
        if match := FULL_LINE.fullmatch(line):
            full[match.group(1) or "main"].append(line)
        elif match := FOLD_LINE.fullmatch(line):
            folded[match.group(2) or "main"].append(int(match.group(1).replace(",", "")))
        else:
            raise AssertionError(f"a failure line neither in full nor folded: {line!r}")
    return full, folded


def test_live_table_stays_at_the_bottom_and_failures_fold(
    cli_env, run_cli, brokers, topic_name, tmp_path: Path
):
    group = f"billing-{topic_name[2:8]}"  # its own: one group's members rebalance together
    env = {k: v for k, v in cli_env.items() if k not in ("COLUMNS", "LINES", "KAFKA_LOG_FORMAT")}
    env.update(TERM="xterm-256color", PYTHONPATH=str(REPO), KAFKA_RETRY_DELAYS="1s,2s")
    created = run_cli("create-topics", topic_name, "-g", group, "-p", "3", env=env)
    assert created.returncode == 0, created.stderr.decode()
    produce(brokers, topic_name, orders(["ok"] * ORDERS))

    term = TerminalScreen(columns=110, lines=45)
    live: dict[str, str] = {}

    def live_screen_is_whole() -> None:
        """Checked on every settled screen: once the table is up, it is the last thing on the
        screen, whole, and no piece of it is anywhere else (nor in what scrolled off)."""
        screen = _non_empty(term.display())
        if not any(TOP.fullmatch(line) for line in screen):
            assert not live, "the live table went away:\n" + "\n".join(screen)
            return
        title, rows = _table(screen)
        assert screen[title] == "Metrics", screen[title]
        above = screen[:title] + term.scrolled_off()
        assert not [line for line in above if BOX.search(line)], "table pieces above the table"
        live.clear()
        live.update(rows)

    def all_tiers_folded() -> bool:
        _full, folded = _failure_lines(_joined(term.transcript()))
        return _count(live, "sent_to_dlq") == FAILING and all(folded.values())

    term.start(
        [
            "consume",
            topic_name,
            "-g",
            group,
            "--handler",
            "tests.integration.pipeline_handlers:flaky",
            "-w",
            "4",
        ],
        env,
        str(tmp_path),
    )
    try:
        term.wait_until(lambda: _count(live, "failed") > 0, 90, "failures", live_screen_is_whole)
        # Every failure has gone through both tiers into the DLQ, and each tier's failures
        # have been folded into a count at least once (10 s after its first counted one).
        term.wait_until(all_tiers_folded, 90, "a folded count per tier", live_screen_is_whole)
        full, folded = _failure_lines(_joined(term.transcript()))
        for tier in TIERS:
            assert len(full[tier]) == FIRST_IN_FULL, (tier, full[tier])
            assert [line.endswith(NOTE) for line in full[tier]] == [False, False, True], tier
            assert sum(folded[tier]) <= FAILING - FIRST_IN_FULL, (tier, folded[tier])

        term.type(b"\x03")  # Ctrl-C at the terminal: SIGINT to the foreground process group
        assert term.wait_exit(90) == 0, "\n".join(term.transcript()[-60:])
    finally:
        term.kill()

    transcript = term.transcript()
    title, summary = _table(transcript)  # the live table left no copy behind: one table
    assert transcript[title] == "Consume summary (stopped: SIGINT)", transcript[title]
    assert "kafkactl: SIGINT received, finishing in-flight work (Ctrl-C again to force)" in (
        transcript
    )
    assert _count(summary, "failed") == FAILING * len(TIERS), summary
    assert _count(summary, "sent_to_dlq") == FAILING, summary
    assert _count(summary, "processed") == ORDERS - FAILING, summary
    for tier in ("1", "2"):
        assert _count(summary, f"retried tier {tier}") == FAILING, summary
    # Every failure is on the terminal: in full (the first 3 of its tier) or in a count.
    full, folded = _failure_lines(_joined(transcript[:title]))
    for tier in TIERS:
        assert len(full[tier]) + sum(folded[tier]) == FAILING, (tier, full[tier], folded[tier])
    assert len(read_all(brokers, f"{topic_name}.{group}.dlq")) == FAILING
