"""Asking before a change that cannot be undone: on a terminal a y/N question on stderr; off a
terminal the command needs --yes (exit 2), so a script never hangs on a prompt."""

from __future__ import annotations

import sys

import typer

from kafkactl.errors import UsageError

EXIT_INTERRUPTED = 130


def require_yes_off_terminal(yes: bool, refusing: str) -> None:
    """Off a terminal without --yes: one usage line (exit 2) before anything is done."""
    if not yes and not sys.stdin.isatty():
        raise UsageError(
            f"refusing to {refusing} without confirmation: stdin is not a terminal; add --yes"
        )


def confirm(question: str, nothing_done: str) -> bool:
    """Ask on the terminal; Ctrl-C or end of input there means no (exit 130)."""
    import signal

    from kafkactl.signals import STOP_SIGNALS
    from kafkactl.terminal_text import safe_for_terminal

    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.default_int_handler)
    # Not typer.confirm: with err=True it still writes part of the prompt to stdout.
    try:
        while True:
            sys.stderr.write(f"{safe_for_terminal(question)} [y/N] ")
            sys.stderr.flush()
            line = sys.stdin.readline()
            if not line:
                raise EOFError
            answer = line.strip().lower()
            if answer in ("", "n", "no"):
                return False
            if answer in ("y", "yes"):
                return True
    except (KeyboardInterrupt, EOFError):
        sys.stderr.write(f"\n{nothing_done}\n")
        raise typer.Exit(EXIT_INTERRUPTED) from None
