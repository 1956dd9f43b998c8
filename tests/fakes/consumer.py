"""FakeConsumer: the ConsumerPort over a FakeCluster, with a fetch buffer and rebalances."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable

from loguru import logger

from kafkactl.errors import KafkactlError
from kafkactl.kafka.ports import (
    CommitCallback,
    ConsumedRecord,
    EncodedBatch,
    Offsets,
    RebalanceListener,
    Record,
    RecordEncoder,
    TopicPartition,
    encode_records,
)
from tests.fakes.cluster import FakeBrokerError, FakeCluster

# A scheduled rebalance: (revoke, assign, lost); None means "everything assigned" / "the same".
_Rebalance = tuple[set[TopicPartition] | None, set[TopicPartition] | None, bool]


class FakeConsumer:
    """ConsumerPort: one thread polls it; rebalances run inside poll(), as on librdkafka.

    The fetcher runs ahead: after each poll it buffers up to `fetch_size` records per active
    partition, so a pause really holds back records already fetched (they are returned after
    resume, from the position); a seek drops the partition's buffer. `rebalance()` (any
    thread) schedules a revoke and a new assignment for the next poll.
    """

    def __init__(
        self,
        cluster: FakeCluster,
        group: str | None,
        on_commit: CommitCallback | None = None,
        read_committed: bool = False,
        reset: str = "earliest",
        fetch_size: int = 50,
        drain_step: float = 0.01,
    ) -> None:
        self.cluster = cluster
        self.group = group
        self.read_committed = read_committed  # nothing is transactional here
        self._on_commit = on_commit
        self._reset = reset
        self._fetch_size = fetch_size
        self._drain_step = drain_step
        self._listener: RebalanceListener | None = None
        self._topics: list[str] = []
        self._needs_assignment = False
        self._assigned: dict[TopicPartition, None] = {}  # ordered set
        self._positions: dict[TopicPartition, int] = {}
        self._buffers: dict[TopicPartition, deque[ConsumedRecord]] = {}
        self._highwater: dict[TopicPartition, int] = {}  # end offset seen by the last fetch
        self._paused: set[TopicPartition] = set()
        self._lock = threading.Lock()
        self._rebalances: list[_Rebalance] = []
        self._reports: list[tuple[Offsets, BaseException | None]] = []
        self._start = 0
        self.rebalanced = 0  # rebalances completed
        self.fail_commits = 0  # the next n commits fail
        self.events: list[tuple[str, object]] = []  # pause/resume/seek/revoke/assign, in order
        self.closed = False
        cluster.consumers.append(self)

    # --- test controls --------------------------------------------------------------------

    def rebalance(
        self,
        revoke: Iterable[TopicPartition] | None = None,
        assign: Iterable[TopicPartition] | None = None,
        lost: bool = False,
    ) -> None:
        """At the next poll: revoke (default: all), then assign (default: what was revoked)."""
        step = (None if revoke is None else set(revoke), None if assign is None else set(assign))
        with self._lock:
            self._rebalances.append((*step, lost))
        with self.cluster.changed:
            self.cluster.changed.notify_all()

    def wait_rebalanced(self, count: int = 1, timeout: float = 5.0) -> bool:
        """Wait (bounded) until `count` rebalances have completed."""
        return self.cluster.wait_for(lambda: self.rebalanced >= count, timeout)

    def buffered(self, tp: TopicPartition) -> int:
        """Records fetched for `tp` and not returned yet."""
        return len(self._buffers.get(tp, ()))

    # --- membership -----------------------------------------------------------------------

    def subscribe(self, topics: list[str], listener: RebalanceListener) -> None:
        """Join the group: the assignment (every partition of the topics) comes at first poll."""
        self._topics = list(topics)
        self._listener = listener
        self._needs_assignment = True

    def assign(self, partitions: list[TopicPartition]) -> None:
        """Read these partitions without a group, from the committed offset or the reset."""
        self._assigned, self._positions, self._buffers = {}, {}, {}
        self._highwater = {}
        self._paused.clear()
        self._add(TopicPartition(*tp) for tp in partitions)

    def _add(self, tps: Iterable[TopicPartition]) -> set[TopicPartition]:
        added = set()
        for tp in tps:
            committed = self.cluster.committed(self.group, tp) if self.group else None
            if committed is not None:
                start = committed.offset
            else:
                latest = self._reset == "latest"
                start = (self.cluster.end_offset if latest else self.cluster.begin_offset)(tp)
            self._assigned[tp] = None
            self._positions[tp] = start
            self._buffers[tp] = deque()
            self._paused.discard(tp)
            added.add(tp)
        return added

    def _assign_group(self, tps: set[TopicPartition]) -> None:
        added = self._add(sorted(tps))
        self.events.append(("assign", frozenset(added)))
        assert self._listener is not None
        self._listener.on_assigned(added)

    def _revoke(self, revoked: set[TopicPartition], commit: bool) -> None:
        """The librdkafka adapter's order: begin, bounded wait, finish, commit what it returns."""
        listener = self._listener
        if not revoked or listener is None:
            return
        listener.begin_revoke(revoked)
        deadline = time.monotonic() + listener.drain_timeout
        while listener.revoked_busy(revoked) and time.monotonic() < deadline:
            time.sleep(self._drain_step)
        offsets = listener.finish_revoke(revoked, commit)
        for tp in revoked:
            del self._assigned[tp], self._positions[tp], self._buffers[tp]
            self._highwater.pop(tp, None)
            self._paused.discard(tp)
        self.events.append(("revoke", (frozenset(revoked), dict(offsets))))
        if offsets:
            try:
                self.commit(offsets)
            except Exception as exc:
                logger.warning("offset commit on revoke failed: {}", exc)

    def _run_rebalances(self) -> None:
        if self._needs_assignment:
            self._needs_assignment = False
            partitions = [(t, p) for t in self._topics for p in self.partitions_for(t)]
            self._assign_group({TopicPartition(t, p) for t, p in partitions})
        with self._lock:
            todo, self._rebalances = self._rebalances, []
        for revoke, assign, lost in todo:
            mine = set(self._assigned)
            revoked = mine if revoke is None else revoke & mine
            self._revoke(revoked, commit=not lost)
            self._assign_group(revoked if assign is None else assign)
            self.rebalanced += 1
            with self.cluster.changed:
                self.cluster.changed.notify_all()

    # --- fetching -------------------------------------------------------------------------

    def poll(self, timeout: float, max_records: int) -> dict[TopicPartition, list[Record]]:
        """Buffered records of unpaused partitions from their positions (waits up to timeout)."""
        if self.closed:
            raise KafkactlError("poll on a closed consumer")
        deadline = time.monotonic() + timeout
        while True:
            self._run_rebalances()
            self._report_commits()
            out = self._take(max_records)
            self._prefetch()
            remaining = deadline - time.monotonic()
            if out or remaining <= 0:
                return out
            with self.cluster.changed:
                if not self._rebalances and not self._anything_new():
                    self.cluster.changed.wait(min(remaining, 0.05))

    def poll_encoded(
        self, timeout: float, max_records: int, encode: RecordEncoder
    ) -> dict[TopicPartition, EncodedBatch]:
        """As poll(), each record encoded."""
        return encode_records(self.poll(timeout, max_records), encode)

    def _take(self, max_records: int) -> dict[TopicPartition, list[Record]]:
        out: dict[TopicPartition, list[Record]] = {}
        order = list(self._assigned)
        if not order:
            return out
        self._start = (self._start + 1) % len(order)  # no partition starves the others
        count = 0
        for tp in order[self._start :] + order[: self._start]:
            buffer = self._buffers[tp]
            if tp in self._paused or not buffer:
                continue
            batch = out.setdefault(tp, [])
            while buffer and count < max_records:
                record = buffer.popleft()
                batch.append(record)
                self._positions[tp] = record.offset + 1
                count += 1
            if not batch:
                del out[tp]
        return out

    def _prefetch(self) -> None:
        for tp in self._assigned:
            if tp in self._paused:
                continue
            buffer = self._buffers[tp]
            room = self._fetch_size - len(buffer)
            if room > 0:
                start = buffer[-1].offset + 1 if buffer else self._positions[tp]
                buffer.extend(self.cluster.fetch(tp, start, room))
                self._highwater[tp] = self.cluster.end_offset(tp)

    def _anything_new(self) -> bool:
        return any(
            self._buffers[tp] or self.cluster.end_offset(tp) > self._positions[tp]
            for tp in self._assigned
            if tp not in self._paused
        )

    def pause(self, partitions: Iterable[TopicPartition]) -> None:
        """Stop returning and fetching these partitions (their buffers are kept)."""
        tps = set(partitions)
        self._paused.update(tps & set(self._assigned))
        self.events.append(("pause", frozenset(tps)))

    def resume(self, partitions: Iterable[TopicPartition]) -> None:
        """Return these partitions' records again, from their position."""
        tps = set(partitions)
        self._paused.difference_update(tps)
        self.events.append(("resume", frozenset(tps)))

    def paused(self) -> set[TopicPartition]:
        """Partitions paused now."""
        return set(self._paused)

    def assignment(self) -> set[TopicPartition]:
        """Partitions assigned now."""
        return set(self._assigned)

    def seek(self, tp: TopicPartition, offset: int) -> None:
        """The next record of `tp` returned is `offset` (its buffer is dropped)."""
        if tp not in self._assigned:
            raise KafkactlError(f"seek on {tp.topic}[{tp.partition}], which is not assigned")
        self._positions[tp] = offset
        self._buffers[tp].clear()
        self.events.append(("seek", (tp, offset)))

    def position(self, tp: TopicPartition) -> int | None:
        """The offset of the next record to return (None: not assigned)."""
        return self._positions.get(tp)

    def watermarks(self, partitions: list[TopicPartition]) -> dict[TopicPartition, tuple[int, int]]:
        """(first retained offset, end offset) of each partition."""
        return {TopicPartition(*tp): self.cluster.watermarks(tp) for tp in partitions}

    def at_end(self, ends: Offsets) -> bool:
        """Every partition's position is at (or past) its given end offset."""
        positions = self._positions
        return all(positions.get(tp, -1) >= end for tp, end in ends.items())

    def lag(self, positions: Offsets | None = None) -> Offsets:
        """End offset seen by the last fetch of each partition minus its (given) position."""
        mine = {**self._positions, **(positions or {})}
        return {
            tp: max(0, self._highwater[tp] - mine[tp])
            for tp in self._assigned
            if tp in self._highwater
        }

    def offsets_for_times(self, times: dict[TopicPartition, int]) -> dict[TopicPartition, int]:
        """First offset at or after each time; the end offset when there is none."""
        return {
            TopicPartition(*tp): self.cluster.offset_for_time(tp, ts) for tp, ts in times.items()
        }

    def partitions_for(self, topic: str) -> list[int]:
        """Partition ids of `topic` (empty if it does not exist)."""
        return list(range(self.cluster.partitions(topic)))

    # --- commits --------------------------------------------------------------------------

    def commit(
        self,
        offsets: Offsets,
        metadata: dict[TopicPartition, str] | None = None,
        asynchronous: bool = False,
    ) -> None:
        """Commit to the cluster at once; an asynchronous result is reported at the next poll."""
        if self.group is None:
            raise KafkactlError("commit without a consumer group")
        error: BaseException | None = None
        if self.fail_commits:
            self.fail_commits -= 1
            error = FakeBrokerError("REQUEST_TIMED_OUT: offset commit (injected)")
        else:
            self.cluster.commit(self.group, offsets, metadata)
        if asynchronous:
            with self._lock:
                self._reports.append(({} if error else dict(offsets), error))
        elif error is not None:
            raise KafkactlError(f"offset commit failed: {error}")

    def _report_commits(self) -> None:
        with self._lock:
            reports, self._reports = self._reports, []
        if self._on_commit is not None:
            for offsets, error in reports:
                self._on_commit(offsets, error)

    def describe_state(self) -> str:
        """Positions, buffered counts and paused partitions."""
        state = {tp: (self._positions[tp], len(self._buffers[tp])) for tp in self._assigned}
        return f"position,buffered={state} paused={sorted(self._paused)}"

    def close(self) -> None:
        """Leave the group: revoke everything without committing (as librdkafka's close does)."""
        if self.closed:
            return
        if self._listener is not None and self._assigned:
            self._revoke(set(self._assigned), commit=False)
        self._report_commits()
        self.closed = True
