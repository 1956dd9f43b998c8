"""replay-dlq as one operation: open, plan (dry run or confirmation), confirm, run.

The caller supplies the options and a view: how progress shows and how the user is asked.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal, Protocol

from kafkactl.config import Settings
from kafkactl.metrics import Metrics
from kafkactl.replay.lease import replay_lease
from kafkactl.replay.model import ReplayOptions, ReplaySummary
from kafkactl.replay.replayer import Replayer
from kafkactl.signals import SignalName, stop_on_signals

# How the operation ended: a dry run; the user said no; a signal stopped the confirmation pass
# before anything was sent; or the replay ran (to the end, or until it was stopped).
Ending = Literal["dry-run", "declined", "interrupted", "ran"]


# Holds the lease of (settings, dlq, replay group, what to call when it is lost) for a block.
HoldLease = Callable[[Settings, str, str, Callable[[], None]], AbstractContextManager[object]]


class ProgressView(Protocol):
    """Shows the summary as it grows (a few times a second)."""

    def update(self, summary: ReplaySummary) -> None: ...


class ReplayView(Protocol):
    """How the operation shows progress and asks for confirmation."""

    def progress(self, description: str) -> AbstractContextManager[ProgressView]:
        """A progress display for one pass (`reading` for the plan, `replaying` for the run)."""
        ...

    def confirm(self, plan: ReplaySummary) -> bool:
        """Show what the run would send and ask; True to go ahead."""
        ...


@dataclass(frozen=True)
class ReplayOutcome:
    """How the operation ended, and the summary of its last pass."""

    ending: Ending
    summary: ReplaySummary


def replay_dlq(
    settings: Settings,
    options: ReplayOptions,
    view: ReplayView,
    *,
    dry_run: bool = False,
    confirm: bool = True,
    metrics: Metrics | None = None,
    watch_signals: Callable[[Callable[[SignalName], None]], object] = stop_on_signals,
    lease: HoldLease = replay_lease,
    **connect: Any,
) -> ReplayOutcome:
    """Replay `options.dlq`: a dry run plans only; otherwise the plan is confirmed (unless
    `confirm` is False) and then run. `watch_signals` gets the replayer's stop request once it is
    open (and again after the prompt); `lease` holds the replay's lease (not for a dry run,
    see `lease`); `connect` passes client factories to the replayer."""
    with (
        Replayer(settings, options, metrics or Metrics(), **connect) as replayer,
        nullcontext()
        if dry_run
        else lease(settings, options.dlq, replayer.group, replayer.lost_lease),
    ):
        replayer.open()
        watch_signals(replayer.request_stop)
        if dry_run or confirm:
            # The dry run tries the transform on every selected record; the confirmation pass
            # does not (the run transforms each record once, as it sends it).
            plan = _pass(replayer, view, "reading", partial(replayer.plan, transform=dry_run))
            if dry_run:
                return ReplayOutcome("dry-run", plan)
            if plan.interrupted:
                return ReplayOutcome("interrupted", plan)
            if plan.to_replay:
                if not view.confirm(plan):
                    return ReplayOutcome("declined", plan)
                watch_signals(replayer.request_stop)
            # else: nothing would be sent; the run only records progress over parked records.
        return ReplayOutcome("ran", _pass(replayer, view, "replaying", replayer.run))


def _pass(
    replayer: Replayer,
    view: ReplayView,
    description: str,
    run: Callable[[], ReplaySummary],
) -> ReplaySummary:
    with view.progress(description) as shown:
        replayer.on_progress = shown.update
        summary = run()
    replayer.on_progress = None
    return summary
