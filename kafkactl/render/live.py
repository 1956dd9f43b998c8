"""The one live region of the terminal: redrawn in place (Rich Live), inactive off a terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import RenderableType

from kafkactl.render import err, print_lock

if TYPE_CHECKING:
    from rich.live import Live


class LiveRegion:
    """A block of stderr redrawn in place while a command runs; only on a terminal.

    `transient` regions vanish at exit (a final table is printed instead); others stay.
    """

    def __init__(self, enabled: bool, transient: bool = True) -> None:
        self.enabled = enabled and err.is_terminal
        self._transient = transient
        self._live: Live | None = None

    @property
    def active(self) -> bool:
        """True while the region is on screen."""
        return self._live is not None

    def __enter__(self) -> LiveRegion:
        if self.enabled:
            from rich.live import Live

            with print_lock:
                self._live = Live(console=err, auto_refresh=False, transient=self._transient)
                self._live.__enter__()
        return self

    def draw(self, renderable: RenderableType) -> None:
        """Replace what the region shows (no-op when inactive); folded log counts that are
        due print above it first."""
        from kafkactl.log import flush_folded

        with print_lock:
            if self._live is not None:
                flush_folded()
                self._live.update(renderable, refresh=True)

    def print_above(self, text: str) -> None:
        """A line printed above the region, which stays whole below it."""
        with print_lock:
            err.print(text, soft_wrap=True)

    def __exit__(self, *exc: Any) -> None:
        if self._live is not None:
            from kafkactl.log import flush_folded

            with print_lock:
                flush_folded(final=True)
                self._live.__exit__(*exc)
                self._live = None
