"""Every Rich table, live view and progress display: data to stdout, the rest to stderr.

Common helpers and the admin views live here; each long-running command has its own module
(render/produce.py, render/consume.py, render/replay.py).
"""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import orjson
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from kafkactl.log import redact
from kafkactl.terminal_text import safe_for_terminal

if TYPE_CHECKING:
    from kafkactl.admin.health import HealthReport
    from kafkactl.admin.queries import TopicResult
    from kafkactl.dlq.scan import TopError


class SafeConsole(Console):
    """A Rich console that shows every control character of the text it renders as a visible
    escape (`kafkactl.terminal_text`): the one place untrusted keys, headers, error text and
    topic names are made safe, whichever table, live view or message carries them. Rich's own
    styling and cursor movement are segments it emits after this and are untouched."""

    def render_str(self, text: str, **options: Any) -> Text:
        """The text as Rich would render it, its control characters escaped first (the
        escapes hold no `[`, so Rich markup around the text means what it meant)."""
        return super().render_str(safe_for_terminal(text, keep_lines=True), **options)


def _console() -> Console:
    console = SafeConsole(stderr=True, highlight=False, soft_wrap=False)
    if not console.is_terminal:
        # Piped or logged stderr: don't squeeze tables into 80 columns.
        console.width = int(os.environ.get("COLUMNS") or 200)
    return console


err = _console()
# One writer on stderr at a time. A line printed above a live view and the view's redraw each
# work out where the view is; Rich does that under its lock but renders and writes after it,
# so two threads printing at once (a worker's log line, the view's refresh thread) could leave
# a stale copy of the view on the screen.
print_lock = threading.RLock()


def _print(*objects: Any, **options: Any) -> None:
    with print_lock:
        err.print(*objects, **options)


_STATUS_STYLE = {
    "healthy": "bold green",
    "ok": "green",
    "created": "green",
    "exists": "cyan",
    "degraded": "bold yellow",
    "warning": "yellow",
    "under-replicated": "yellow",
    "unhealthy": "bold red",
    "failed": "red",
    "missing": "red",
    "leaderless": "red",
    "below-min-isr": "red",
    "isr-shrunk": "yellow",
    "offline": "red",
}


def error(message: str) -> None:
    """One line on stderr: what failed, why, and what to do."""
    _print(f"[bold red]error:[/] {_escape(redact(message))}", soft_wrap=True)


def warning(message: str) -> None:
    """One warning line on stderr."""
    _print(f"[yellow]warning:[/] {_escape(redact(message))}", soft_wrap=True)


def info(message: str) -> None:
    """One informational line on stderr (suppressed by callers in --quiet mode)."""
    _print(_escape(message), soft_wrap=True)


# `HH:MM:SS LEVEL   ` before the message of a pretty log line.
_LOG_PREFIX = re.compile(r"\d\d:\d\d:\d\d [A-Z]+ +")
_MIN_MESSAGE_WIDTH = 40


def log_line(text: str) -> None:
    """A pretty log line (ANSI colours) on stderr, above any live view; wrapped at words,
    continuation lines indented under the message."""
    _print(hanging(Text.from_ansi(text.rstrip("\n")), err.width), soft_wrap=True)


def hanging(line: Text, width: int) -> Text:
    """`line` wrapped at words to `width`, later lines indented to where its message starts."""
    plain = line.plain
    if line.cell_len <= width and "\n" not in plain:
        return line
    prefix = _LOG_PREFIX.match(plain)
    indent = prefix.end() if prefix and width - prefix.end() >= _MIN_MESSAGE_WIDTH else 0
    head, body = line.divide([indent]) if indent else (Text(), line)
    out = head.copy()
    for n, part in enumerate(body.wrap(err, width - indent, overflow="fold")):
        part.rstrip()
        if n:
            out.append("\n" + " " * indent)
        out.append_text(part)
    return out


def print_json(document: Any) -> None:
    """The command's result as one JSON document on stdout."""
    sys.stdout.write(
        orjson.dumps(document, option=orjson.OPT_INDENT_2, default=str).decode() + "\n"
    )
    sys.stdout.flush()


def emit(document: Any, json_out: bool, quiet: bool, table: Callable[[], None]) -> None:
    """A command's result: JSON on stdout with --json, else the table (nothing with -q)."""
    if json_out:
        print_json(document)
    elif not quiet:
        table()


def styled(status: str) -> str:
    """A status word in its colour."""
    style = _STATUS_STYLE.get(status)
    return f"[{style}]{status}[/]" if style else _escape(status)


def table(
    title: str | None,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    numeric: Sequence[str] = (),
) -> Table:
    """A Rich table with right-aligned numeric columns; cells are escaped unless pre-styled."""
    result = Table(title=title, title_justify="left", header_style="bold", expand=False)
    for column in columns:
        result.add_column(column, justify="right" if column in numeric else "left")
    for row in rows:
        result.add_row(*("-" if cell is None else str(cell) for cell in row))
    return result


def show(*renderables: RenderableType) -> None:
    """Print tables or text on stderr."""
    for item in renderables:
        _print(item)


def settings_table(
    rows: Iterable[tuple[str, str, str]], context: str | None, path: str | None
) -> None:
    """`kafkactl config`: every setting, its value (secrets masked) and where it came from."""
    title = "Effective configuration"
    if path:
        title += f" — {path}" + (f" [context {context}]" if context else "")
    show(table(title, ("setting", "value", "source"), ((e, _escape(v), s) for e, v, s in rows)))


def topics_table(results: Iterable[TopicResult]) -> None:
    """`kafkactl create-topics`: one row per topic with what happened to it."""
    rows = [
        (
            r.name,
            r.role,
            r.partitions,
            r.replication,
            styled(r.status),
            _escape(r.detail or "") if r.status == "failed" else "",
        )
        for r in results
    ]
    show(
        table(
            "Topics",
            ("topic", "role", "partitions", "replication", "status", "detail"),
            rows,
            numeric=("partitions", "replication"),
        )
    )


def health_report(report: HealthReport) -> None:
    """`kafkactl health`: cluster, topics, group lag, and the verdict."""
    show(health_tables(report))


def _answering(report: HealthReport) -> str:
    """Brokers answering of those expected, with the missing ones' ids: `2 of 3 (missing 3)`."""
    seen = len(report.brokers)
    expected = report.expected_brokers or seen
    missing = f" (missing {_ids(report.missing_brokers)})" if report.missing_brokers else ""
    return f"{seen} of {expected}{missing}"


def health_tables(report: HealthReport) -> Group:
    """The health report as Rich tables and its verdict (printed, or drawn by --watch)."""
    parts: list[RenderableType] = []
    cluster = table(
        "Cluster",
        ("cluster id", "controller", "brokers", "answering", "bootstrap", "checked in"),
        [
            (
                report.cluster_id,
                report.controller_id,
                ", ".join(f"{b.node_id}@{b.host}:{b.port}" for b in report.brokers),
                _answering(report),
                ", ".join(report.bootstrap),
                f"{report.elapsed_ms} ms",
            )
        ],
    )
    parts.append(cluster)
    if report.topics:
        parts.append(
            table(
                "Topics",
                (
                    "topic",
                    "role",
                    "status",
                    "partitions",
                    "offline",
                    "under-replicated",
                    "min.insync",
                    "at min.insync",
                    "below min.insync",
                ),
                [
                    (
                        t.name,
                        t.role,
                        styled(t.status),
                        t.partitions,
                        _ids(t.leaderless),
                        _ids(t.under_replicated),
                        "" if t.min_insync is None else t.min_insync,
                        _ids(t.at_min_isr),
                        _ids(t.below_min_isr),
                    )
                    for t in report.topics
                ],
                numeric=("partitions",),
            )
        )
    for group in report.groups:
        parts.append(
            table(
                f"Group {group.group}"
                + (" (unknown group)" if group.status == "unknown" else "")
                + f" — total lag {group.total_lag:,}, DLQ depth {group.dlq_depth:,}"
                + top_error_note(group.dlq_top_error),
                ("topic", "partition", "committed", "end", "lag"),
                # Counts with thousands separators, offsets (positions) as Kafka prints them,
                # as `groups describe` does.
                [
                    (p.topic, p.partition, p.committed, p.end, f"{p.lag:,}")
                    for p in group.partitions
                ],
                numeric=("partition", "committed", "end", "lag"),
            )
        )
    registry = report.registry
    if registry is not None:
        if registry.reachable:
            rows = [(t, ", ".join(found) or "-") for t, found in registry.subjects.items()]
            if rows:
                parts.append(table("Schema subjects", ("topic", "subjects"), rows))
            parts.append(f"Schema registry {_escape(registry.url)} — answers")
        else:
            parts.append(f"Schema registry {_escape(registry.url)} — {styled('unreachable')}")
    verdict = f"verdict: {styled(report.verdict)}"
    if report.reasons:
        verdict += " — " + _escape("; ".join(report.reasons))
    parts.append(verdict)
    return Group(*parts)


def top_error_note(found: TopError | None) -> str:
    """`, top error fatal ValueError (812 of the last 1,000)` or nothing."""
    if found is None:
        return ""
    from kafkactl.dlq.triage import class_label

    label = class_label(found.kind, found.error_class)
    return _escape(f", top error {label} ({found.count:,} of the last {found.sampled:,})")


def _ids(values: Sequence[int]) -> str:
    return ",".join(str(v) for v in values) if values else "-"


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(str(text))
