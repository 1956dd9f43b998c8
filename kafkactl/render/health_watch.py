"""`health --watch`: the health report redrawn in place (DESIGN §2)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kafkactl.render import health_report, health_tables
from kafkactl.render.live import LiveRegion

if TYPE_CHECKING:
    from kafkactl.admin.health import HealthReport


class LiveView:
    """`health --watch`: the report redrawn in place on a terminal; printed each time elsewhere."""

    def __init__(self, enabled: bool) -> None:
        self._region = LiveRegion(enabled, transient=False)

    def __enter__(self) -> LiveView:
        self._region.__enter__()
        return self

    def update_health(self, report: HealthReport) -> None:
        """Show a fresh health report in place."""
        if self._region.active:
            self._region.draw(health_tables(report))
        else:
            health_report(report)

    def __exit__(self, *exc: Any) -> None:
        self._region.__exit__(*exc)
