"""Handlers of the cluster fault suite (--handler tests.integration.cluster_handlers:X).

Values are JSON {"id": ..., "mode": ...}; successes are appended to KAFKACTL_TEST_LOG as
`id attempt epoch_ms` lines, like tests/integration/pipeline_handlers.py.
"""

from __future__ import annotations

import os
import time

from kafkactl import Message
from tests.integration.pipeline_handlers import handle


def slow_handle(message: Message) -> None:
    """`pipeline_handlers.handle` (ok / once / always / fatal) after a few milliseconds, so a
    run lasts long enough for a node to die in the middle of it."""
    time.sleep(float(os.environ.get("KAFKACTL_TEST_SLEEP", "0.003")))
    handle(message)
