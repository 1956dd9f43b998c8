"""Commits: commit points, one asynchronous commit at a time, lost-partition recommits, the final
commit.

A partition's commit point is its lowest message not yet complete (OffsetTracker): a message is
complete when its handler succeeded or its retry/DLQ copy was acknowledged. What a handler wrote
(the print handler's buffered lines) is flushed before its offsets are committed, on every path
(periodic, revoked, final): a line still in the buffer when the output fails is lost with it, so
once a flush fails only the points flushed before it are ever committed.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from loguru import logger

from kafkactl.consumer.options import ConsumeStop
from kafkactl.consumer.state import Partitions, partition_names
from kafkactl.errors import OutputClosed
from kafkactl.handlers.base import Handler
from kafkactl.kafka import ConsumerPort, Offsets, TopicPartition
from kafkactl.kafka.admin_port import AdminPort
from kafkactl.metrics import Metrics

# Asynchronous commits go one at a time: a client may retry a commit that failed (librdkafka
# does, across a broker restart), and an older commit landing after a newer one would move the
# group's offset back. A commit not settled after this long no longer blocks the next one.
ASYNC_COMMIT_PATIENCE_S = 30.0


class Commits:
    """When and what the pipeline commits. Its state is guarded by `Partitions.lock`."""

    def __init__(
        self,
        partitions: Partitions,
        group: str,
        handler: Handler,
        metrics: Metrics,
        request_stop: Callable[[ConsumeStop], None],
    ) -> None:
        self._partitions = partitions
        self._group = group
        self._handler = handler
        self._metrics = metrics
        self._request_stop = request_stop
        self._async_commit_since: float | None = None
        self.lost_points: Offsets = {}  # done before partitions were lost (finish_revoke)
        self._flushed: Offsets = {}  # commit points whose lines were flushed to the output
        self.output_failure: str | None = None  # why the handler's output failed, as one line
        # Commit metadata for the periodic commits (the failure-storm breaker's state, which
        # `health -g` reads); a change of it commits every point again, so it lands at once.
        self.metadata: Callable[[], str | None] = lambda: None
        self._sent_metadata: str | None = None

    @property
    def settling(self) -> bool:
        """An asynchronous commit is under way (not settled yet)."""
        return self._async_commit_since is not None

    def output_closed(self, exc: OutputClosed) -> None:
        """The handler's output failed: commit only what was flushed before, and stop."""
        with self._partitions.lock:
            if self.output_failure is not None:
                return
            self.output_failure = (
                f"{exc}; consume stopped: offsets are committed only up to the last record "
                "whose output was written (the rest is read again next run)"
            )
        self._request_stop("output error")

    def commit(
        self, consumer: ConsumerPort, sync: bool, partitions: list[TopicPartition] | None = None
    ) -> Offsets:
        """Commit the points that moved (sync: every point, and wait); returns what was sent."""
        now = time.monotonic()
        since = self._async_commit_since
        if not sync and since is not None and now - since < ASYNC_COMMIT_PATIENCE_S:
            return {}  # one at a time: see ASYNC_COMMIT_PATIENCE_S
        text = None if sync else self.metadata()
        with self._partitions.lock:
            # The final commit sends every commit point again: an older commit the client
            # retried may have landed after a newer one.
            every = sync or text != self._sent_metadata
            offsets = self._partitions.tracker.to_commit(partitions, every=every)
        offsets = self.written(offsets)
        if not offsets:
            return {}
        if sync:
            consumer.commit(offsets)
            self._committed(offsets)
        else:
            self._async_commit_since = now
            metadata = dict.fromkeys(offsets, text) if text else None
            consumer.commit(offsets, metadata=metadata, asynchronous=True)
            self._sent_metadata = text
        return offsets

    def written(self, offsets: Offsets) -> Offsets:
        """Of `offsets` (taken before this call), the points whose output is surely written.

        Flushes the handler's output first: a point taken before a flush that succeeded is
        written up to it. Once a flush failed, the lines still buffered were lost with the
        output: only the points flushed before are committed, and the rest is read again.
        """
        if self.output_failure is None:
            try:
                self._handler.flush()
            except OutputClosed as exc:
                self.output_closed(exc)
            else:
                with self._partitions.lock:
                    self._flushed.update(offsets)
                return offsets
        with self._partitions.lock:
            return {
                tp: min(point, self._flushed[tp])
                for tp, point in offsets.items()
                if tp in self._flushed
            }

    def commit_done(self, offsets: Offsets, error: BaseException | None) -> None:
        """An asynchronous commit settled (engine thread: kafka-python IO, librdkafka poll)."""
        self._async_commit_since = None
        if error is not None:
            logger.warning("offset commit failed (will retry): {}", error)
            return
        self._committed(offsets)

    def _committed(self, offsets: Offsets) -> None:
        with self._partitions.lock:
            moved = self._partitions.tracker.mark_committed(offsets)
        self._metrics.incr("committed", moved)

    def revoked(self, revoked: set[TopicPartition], commit: bool) -> Offsets:
        """The commit points of revoked partitions, before they are forgotten.

        Lost partitions (`commit` False) are kept in `lost_points` instead, to commit once they
        are ours again. The caller holds the lock.
        """
        owned = self._partitions.epochs
        offsets = self._partitions.tracker.to_commit([tp for tp in revoked if tp in owned])
        offsets = self.written(offsets)
        for tp in revoked:
            self._flushed.pop(tp, None)
        if not commit:
            # Lost (the group fenced us, e.g. a session that expired while the broker
            # restarted): no commit is possible now. Kept, to commit once they are ours again.
            self.lost_points.update(offsets)
        return offsets

    def recommit_lost(self, consumer: ConsumerPort, admin: AdminPort) -> None:
        """Commit what was done on lost partitions that came back to this member.

        Only forward: a point at or below what the group has committed (another member went
        on) is dropped. The records in between were handled here (dedupe remembers them).
        """
        with self._partitions.lock:
            back = {tp: o for tp, o in self.lost_points.items() if tp in self._partitions.epochs}
        if not back:
            return
        try:
            group_now = admin.committed(self._group, list(back))
            ahead = {}
            for tp, point in back.items():
                done = group_now.get(tp)
                if done is None or done.offset < point:
                    ahead[tp] = point
            if ahead:
                consumer.commit(ahead)
                done_at = ", ".join(f"{tp.topic}[{tp.partition}]@{o}" for tp, o in ahead.items())
                logger.info("committed work done before the partitions were lost: {}", done_at)
        except Exception as exc:
            logger.warning("could not commit work done before a rebalance (will retry): {}", exc)
            return
        with self._partitions.lock:
            for tp in back:
                self.lost_points.pop(tp, None)

    def wait_for_lost(self, consumer: ConsumerPort, admin: AdminPort, deadline: float) -> None:
        """At shutdown, partitions were lost and the group has not given them back yet (a rejoin
        under way): wait for them until `deadline`, so the work done on them is committed."""
        logger.info(
            "waiting up to {:.0f}s for the group to give back lost partitions, to commit "
            "the work done on them (Ctrl-C again to skip)",
            max(0.0, deadline - time.monotonic()),
        )
        while time.monotonic() < deadline:
            with self._partitions.lock:
                owned = bool(self._partitions.epochs)
            if owned:
                self.recommit_lost(consumer, admin)
                break
            consumer.poll(0.1, 1)
        if self.lost_points:
            logger.warning(
                "the group did not give back {} before the shutdown timeout: the work "
                "done on them is not committed, and the group reads it again (handled "
                "twice unless --dedupe sqlite)",
                partition_names(self.lost_points),
            )
