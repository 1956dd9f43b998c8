"""`health` as one operation (DESIGN §11.1): connect the admin client (and the schema registry
when one is set), check once or every interval until interrupted, close what was opened."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from kafkactl.admin.health import HealthQuery, HealthReport, check
from kafkactl.config import Settings

if TYPE_CHECKING:
    from kafkactl.dlq.scan import TopError


def run_health(
    settings: Settings,
    query: HealthQuery,
    on_report: Callable[[HealthReport], None] | None = None,
    every: float | None = None,
) -> HealthReport | None:
    """One check, or (`every` seconds: --watch) one after another until SIGINT, each handed
    to `on_report`; the last report, None when interrupted before the first finished."""
    from kafkactl.dlq.scan import dlq_top_error
    from kafkactl.kafka import connect_admin

    registry = None
    if settings.schema_registry_url is not None:
        from kafkactl.kafka.schemas import connect_registry

        registry = connect_registry(settings)
    try:
        client = connect_admin(settings)
    except BaseException:
        if registry is not None:
            registry.close()
        raise

    def top_error(dlq: str) -> TopError | None:
        return dlq_top_error(settings, client, dlq)

    report = None
    try:
        while True:
            report = check(client, settings, query, top_error, registry)
            if on_report is not None:
                on_report(report)
            if every is None:
                return report
            time.sleep(every)
    except KeyboardInterrupt:
        if every is None:
            raise
        return report
    finally:
        client.close()
        if registry is not None:
            registry.close()
