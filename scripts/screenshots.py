"""Pictures of kafkactl in a terminal for the README: docs/screens/*.svg (run by
scripts/screenshots.sh, which provides the broker and the environment).

Each command runs on a pseudo-terminal whose output goes through a VT emulator
(tests/integration/terminal_screen.py, the one the terminal test reads); the screen it shows is
printed, colours and all, into a recording Rich console and saved as SVG. So a picture is what
an operator's terminal showed, and nothing in kafkactl exists for the pictures.

The scenario is the demo's (scripts/demo.sh, scripts/demo_handler.py) with more orders and a
slower handler, so the consume view can be taken mid-run, failures folded.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyte
from rich.console import Console
from rich.style import Style
from rich.text import Text

from tests.integration.terminal_screen import TerminalScreen

REPO = Path(__file__).resolve().parent.parent
ORDERS = 40_000
GROUP = "billing"
# A folded count: `x1,204 in 10s: ...` (with a multiplication sign).
FOLDED = re.compile("\u00d7[\\d,]+ in \\d+s: ")


class FaintScreen(pyte.HistoryScreen):
    """pyte has no faint attribute (SGR 2), which kafkactl's log lines use for times and
    notes: it is kept in `blink` (SGR 5, which kafkactl never uses) and drawn dim."""

    def select_graphic_rendition(self, *attrs: int) -> None:
        """SGR 2 becomes 5 and 22 also ends 5; colour parameters (38;5;N, 38;2;R;G;B) pass."""
        out: list[int] = []
        i = 0
        while i < len(attrs):
            if attrs[i] in (38, 48) and i + 1 < len(attrs):
                size = 3 if attrs[i + 1] == 5 else 5
                out.extend(attrs[i : i + size])
                i += size
                continue
            out.extend({2: (5,), 22: (22, 25)}.get(attrs[i], (attrs[i],)))
            i += 1
        super().select_graphic_rendition(*out)


def _colour(name: str) -> str | None:
    if name == "default":
        return None
    if re.fullmatch("[0-9a-fA-F]{6}", name):
        return f"#{name}"
    name = name.replace("brown", "yellow")  # pyte's name for ANSI colour 3
    return f"bright_{name[6:]}" if name.startswith("bright") else name


def _style(char: Any) -> Style:
    return Style(
        color=_colour(char.fg),
        bgcolor=_colour(char.bg),
        bold=char.bold,
        dim=char.blink,
        italic=char.italics,
        underline=char.underscore,
        strike=char.strikethrough,
        reverse=char.reverse,
    )


def _rows(term: TerminalScreen) -> list[Text]:
    """The screen, a styled Text per line, trailing empty lines left out."""
    rows: list[Text] = []
    for y in range(term.lines):
        line = term.screen.buffer[y]
        text = Text()
        # Runs of characters drawn alike, as one piece each (the right half of a wide
        # character is empty).
        chars = [line[x] for x in range(term.columns) if line[x].data]
        for _look, alike in itertools.groupby(chars, key=lambda char: char[1:]):
            run = list(alike)
            text.append("".join(char.data for char in run), _style(run[0]))
        text.rstrip()
        rows.append(text)
    while rows and not rows[-1].plain:
        rows.pop()
    return rows


def save(term: TerminalScreen, path: Path, title: str) -> None:
    """The screen as an SVG picture with `title` on its window."""
    console = Console(
        record=True,
        width=term.columns,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
    )
    for row in _rows(term):
        console.print(row, no_wrap=True, overflow="crop")
    console.save_svg(str(path), title=title)
    print(f"screenshots: {path} ({title})", file=sys.stderr)


def kafkactl(env: dict[str, str], *args: str) -> None:
    """Run a command without a terminal (the steps between pictures); its output only if it
    fails."""
    done = subprocess.run(
        [sys.executable, "-m", "kafkactl", *args], env=env, capture_output=True, timeout=300
    )
    if done.returncode != 0:
        sys.stderr.buffer.write(done.stderr[-4000:])
        raise SystemExit(f"screenshots: kafkactl {' '.join(args)} exited {done.returncode}")


def on_terminal(
    env: dict[str, str], args: list[str], columns: int = 110, lines: int = 45
) -> TerminalScreen:
    """Start a command on a terminal of `columns` x `lines`."""
    term = TerminalScreen(columns, lines)
    term.screen = FaintScreen(columns, lines, history=10_000, ratio=0.5)
    term.stream = pyte.ByteStream(term.screen)
    term.start(args, env, str(REPO))
    return term


def finished(env: dict[str, str], args: list[str], path: Path, columns: int = 110) -> None:
    """Run a command to its end on a terminal and take its last screen."""
    term = on_terminal(env, args, columns)
    try:
        term.wait_exit(120)
        save(term, path, "kafkactl " + " ".join(args))
    finally:
        term.kill()


def _live_table(term: TerminalScreen) -> dict[str, int]:
    rows = {}
    for line in term.display():
        if match := re.fullmatch(r"│ +(\S[^│]*?) +│ +([\d,]+) │", line):
            rows[match.group(1)] = int(match.group(2).replace(",", ""))
    return rows


def _orders(path: Path) -> None:
    # scripts/demo.sh's orders: every 25th in currency XXX (a bug: retried, then the DLQ),
    # every 50th with a negative amount (fatal: straight to the DLQ); ids ending in 7 time out
    # once.
    with path.open("w") as out:
        for i in range(ORDERS):
            currency = "XXX" if i % 25 == 3 else "EUR"
            amount = -5 if i % 50 == 11 else 10 + i % 990
            order = {"id": i, "customer": f"c{i % 17}", "amount": amount, "currency": currency}
            out.write(json.dumps(order) + "\n")


def _wait(term: TerminalScreen, ready: Callable[[], bool], what: str) -> None:
    term.wait_until(ready, 120, what, lambda: None)


def main(out: Path) -> None:
    """Set up the demo topic, run the commands on a terminal and save their pictures."""
    out.mkdir(parents=True, exist_ok=True)
    # scripts/screenshots.sh names it "orders" on a broker of its own, as the README does.
    topic = os.environ.get("SCREENSHOTS_TOPIC") or f"orders-{int(time.time())}"
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "KAFKA_LOG_FORMAT")}
    env.update(
        TERM="xterm-256color",
        PYTHONPATH=f"{REPO / 'scripts'}:{REPO}",
        KAFKA_RETRY_DELAYS="1s,2s,4s",
        DEMO_HANDLER_MS="5",
    )
    kafkactl(env, "create-topics", topic, "--group", GROUP, "--partitions", "3", "-q")
    with tempfile.TemporaryDirectory() as tmp:
        orders = Path(tmp) / "orders.jsonl"
        _orders(orders)
        kafkactl(env, "produce", topic, "--key-field", "id", "-i", str(orders), "-q")

    args = ["consume", topic, "-g", GROUP, "--handler", "demo_handler:process", "-w", "8"]
    term = on_terminal(env, args)
    title = "kafkactl " + " ".join(args)
    try:
        # Mid-run: failures of two kinds folded into counts, some already in the DLQ.
        _wait(
            term,
            lambda: (
                sum(bool(FOLDED.search(line)) for line in term.display()) >= 2
                and _live_table(term).get("sent_to_dlq", 0) > 0
                and _live_table(term).get("received", 0) < ORDERS
            ),
            "folded failures mid-run",
        )
        save(term, out / "consume-live.svg", title)
        term.type(b"\x03")
        term.wait_exit(120)
        save(term, out / "consume-summary.svg", title + "   (then Ctrl-C)")
    finally:
        term.kill()

    # The rest of the run, quickly and without pictures: every order handled or dead-lettered
    # (the unknown-currency ones after their three retry tiers).
    kafkactl({**env, "DEMO_HANDLER_MS": "0"}, *args, "-e", "-q")
    finished(env, ["health", "--topic", topic, "--group", GROUP], out / "health.svg")
    finished(env, ["dlq", "summary", topic, "-g", GROUP], out / "dlq-summary.svg", columns=160)
    replay = ["replay-dlq", topic, "-g", GROUP, "--error-class", "LookupError", "--limit", "10"]
    finished(env, [*replay, "--dry-run"], out / "replay-dry-run.svg", columns=130)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs" / "screens")
