"""FakeCluster: topics, partitions, records and group commits in memory, shared by the fakes."""

from __future__ import annotations

import itertools
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

from kafkactl.headers import record_size
from kafkactl.kafka.admin_port import Committed, GroupMember
from kafkactl.kafka.ports import CREATE_TIME, ConsumedRecord, Headers, TopicPartition

if TYPE_CHECKING:
    from kafkactl.config import Settings
    from kafkactl.metrics import Metrics
    from kafkactl.producer import Publisher
    from tests.fakes.admin import FakeAdmin
    from tests.fakes.consumer import FakeConsumer
    from tests.fakes.producer import FakeProducer


class FakeBrokerError(Exception):
    """An error the fake broker answers with (unknown topic, injected failures).

    `retriable` as on the engines' errors: False for errors resending cannot fix.
    """

    def __init__(self, message: str, retriable: bool = True) -> None:
        super().__init__(message)
        self.retriable = retriable


class CommitEntry(NamedTuple):
    """One committed offset, in the order the cluster received it (`seq` shared with appends)."""

    seq: int
    group: str
    tp: TopicPartition
    offset: int
    metadata: str


class FakeCluster:
    """Topics -> partitions -> records, and committed offsets (+metadata) per group."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.changed = threading.Condition(self._lock)
        self._logs: dict[str, list[list[ConsumedRecord]]] = {}
        self._seqs: dict[TopicPartition, list[int]] = {}
        self._commits: dict[str, dict[TopicPartition, Committed]] = {}
        self.commit_log: list[CommitEntry] = []
        self._seq = itertools.count(1)
        self._round_robin: dict[str, int] = {}
        self.consumers: list[FakeConsumer] = []
        self.producers: list[FakeProducer] = []
        self.admins: list[FakeAdmin] = []
        # topic -> max.message.bytes, enforced on produce (unset: no limit)
        self.max_message_bytes: dict[str, int] = {}
        # topic -> the configs it was created with or a test set (cleanup.policy, retention.ms)
        self.topic_configs: dict[str, dict[str, str]] = {}
        # group -> its members as a group description lists them (set by tests; none by default)
        self.members: dict[str, list[GroupMember]] = {}

    # --- topics and records ---------------------------------------------------------------

    def create_topic(self, name: str, partitions: int = 1) -> bool:
        """Create a topic; False if it already exists."""
        with self._lock:
            if name in self._logs:
                return False
            self._logs[name] = [[] for _ in range(partitions)]
            for p in range(partitions):
                self._seqs[TopicPartition(name, p)] = []
            self.changed.notify_all()
            return True

    def create_topics(self, names: Iterable[str], partitions: int = 1) -> None:
        """Create several topics with the same partition count."""
        for name in names:
            self.create_topic(name, partitions)

    def topics(self) -> list[str]:
        """Topic names, sorted."""
        with self._lock:
            return sorted(self._logs)

    def partitions(self, topic: str) -> int:
        """Partition count of `topic` (0 if it does not exist)."""
        with self._lock:
            return len(self._logs.get(topic, ()))

    def partition_for(self, topic: str, key: bytes | None) -> int:
        """crc32(key) % partitions; keyless records go round robin."""
        count = self.partitions(topic)
        if key is not None:
            return zlib.crc32(key) % count
        with self._lock:
            n = self._round_robin.get(topic, 0)
            self._round_robin[topic] = n + 1
            return n % count

    def produce(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None = None,
        headers: Headers | None = None,
        partition: int | None = None,
        timestamp: int | None = None,
    ) -> ConsumedRecord:
        """Append one record (the broker's side of an acknowledged send); returns it."""
        with self._lock:
            log = self._logs.get(topic)
            if log is None:
                raise FakeBrokerError(f"UNKNOWN_TOPIC_OR_PARTITION: {topic}")
            if partition is None:
                partition = self.partition_for(topic, key)
            if not 0 <= partition < len(log):
                raise FakeBrokerError(f"UNKNOWN_TOPIC_OR_PARTITION: {topic}[{partition}]")
            limit = self.max_message_bytes.get(topic)
            if limit is not None and record_size(key, value, list(headers or [])) > limit:
                raise FakeBrokerError(
                    f"MESSAGE_TOO_LARGE: the record is larger than {topic}'s max.message.bytes",
                    retriable=False,
                )
            records = log[partition]
            ts = timestamp if timestamp else int(time.time() * 1000)
            record = ConsumedRecord(
                topic, partition, len(records), key, value, list(headers or []), ts, CREATE_TIME
            )
            records.append(record)
            self._seqs[TopicPartition(topic, partition)].append(next(self._seq))
            self.changed.notify_all()
            return record

    def records(self, topic: str, partition: int | None = None) -> list[ConsumedRecord]:
        """Records of one partition, or of every partition in partition order."""
        with self._lock:
            log = self._logs.get(topic, [])
            if partition is not None:
                return list(log[partition])
            return [r for part in log for r in part]

    def fetch(self, tp: TopicPartition, offset: int, limit: int) -> list[ConsumedRecord]:
        """Up to `limit` records of `tp` from `offset` on."""
        with self._lock:
            records = self._logs[tp.topic][tp.partition]
            return records[max(offset, 0) : max(offset, 0) + limit]

    def end_offset(self, tp: TopicPartition) -> int:
        """The offset the next record of `tp` will get."""
        with self._lock:
            return len(self._logs[tp.topic][tp.partition])

    def begin_offset(self, tp: TopicPartition) -> int:
        """The first retained offset (nothing is ever deleted here)."""
        return 0

    def watermarks(self, tp: TopicPartition) -> tuple[int, int]:
        """(first retained offset, end offset) of `tp`."""
        return self.begin_offset(tp), self.end_offset(tp)

    def offset_for_time(self, tp: TopicPartition, ts: int) -> int:
        """The first offset with a timestamp at or after `ts`; the end offset when none has."""
        with self._lock:
            for record in self._logs[tp.topic][tp.partition]:
                if record.timestamp >= ts:
                    return record.offset
            return self.end_offset(tp)

    def appended_seq(self, tp: TopicPartition, offset: int) -> int:
        """When the record landed, on the clock shared with `commit_log`."""
        with self._lock:
            return self._seqs[tp][offset]

    # --- group commits --------------------------------------------------------------------

    def commit(
        self, group: str, offsets: dict[TopicPartition, int], metadata: dict[Any, str] | None
    ) -> None:
        """Store the group's next offsets to read, with their metadata strings."""
        meta = metadata or {}
        with self._lock:
            stored = self._commits.setdefault(group, {})
            for tp, offset in offsets.items():
                tp = TopicPartition(*tp)
                stored[tp] = Committed(offset, meta.get(tp, ""))
                self.commit_log.append(
                    CommitEntry(next(self._seq), group, tp, offset, meta.get(tp, ""))
                )
            self.changed.notify_all()

    def committed(self, group: str, tp: TopicPartition) -> Committed | None:
        """The group's committed offset and metadata on `tp` (None: nothing committed)."""
        with self._lock:
            return self._commits.get(group, {}).get(TopicPartition(*tp))

    def group_commits(self, group: str) -> dict[TopicPartition, Committed]:
        """Every committed offset of the group, with its metadata."""
        with self._lock:
            return dict(self._commits.get(group, {}))

    def groups(self) -> list[str]:
        """Every group that committed something (or has members), sorted."""
        with self._lock:
            return sorted({*self._commits, *self.members})

    def committed_offsets(self, group: str) -> dict[TopicPartition, int]:
        """Every committed offset of the group."""
        with self._lock:
            return {tp: c.offset for tp, c in self._commits.get(group, {}).items()}

    def commits(self, group: str, tp: TopicPartition) -> list[CommitEntry]:
        """Every commit of `tp` by `group`, oldest first."""
        with self._lock:
            return [c for c in self.commit_log if c.group == group and c.tp == tp]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Wait (bounded) until `predicate()` holds; it is checked after every append or commit."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.changed.wait(min(remaining, 0.05))
            return True

    # --- factories, shaped like kafkactl.kafka's connect_* functions --------------------------

    def connect_consumer(
        self,
        settings: Settings,
        group: str | None,
        on_commit: Any = None,
        read_committed: bool = False,
        bulk: bool = False,
    ) -> FakeConsumer:
        """A FakeConsumer on this cluster (kept in `consumers`)."""
        from tests.fakes.consumer import FakeConsumer

        reset = getattr(settings, "consumer_auto_offset_reset", "earliest")
        return FakeConsumer(self, group, on_commit, read_committed, reset=reset)

    def connect_producer(self, settings: Settings | None = None) -> FakeProducer:
        """An asynchronous FakeProducer on this cluster (kept in `producers`)."""
        from tests.fakes.producer import FakeProducer

        return FakeProducer(self)

    def connect_admin(self, settings: Settings | None = None) -> FakeAdmin:
        """A FakeAdmin on this cluster (kept in `admins`)."""
        from tests.fakes.admin import FakeAdmin

        return FakeAdmin(self)

    def connect_publisher(self, settings: Settings, metrics: Metrics) -> Publisher:
        """A Publisher over a new FakeProducer (ConsumerPipeline's connect_publisher)."""
        from kafkactl.producer import Publisher

        return Publisher(settings, metrics, producer=self.connect_producer(settings))
