"""Rebuilding a slot's blocked keys from Kafka (`--ordering key-strict`), on each assignment.

The uncommitted part of the slot's tier partitions (the group's committed offset to the end) holds
every record of the slot still in the retry tiers: its keys are blocked. Followers in it carry
`kafkactl.follows` and `kafkactl.followed-at`; a key whose follower waits behind a record that has
since been dead-lettered (its message-id is in the DLQ partition, or a record of the key reached
the DLQ after the follower was sent) sends its followers to the DLQ. Cost: one read of the tiers'
backlog of the slot, and of the DLQ partition since the oldest follower, per assignment.
"""

from __future__ import annotations

from collections.abc import Callable

from loguru import logger

from kafkactl import headers as hdr
from kafkactl.config import Settings
from kafkactl.consumer.keyorder import KeyRecovered, Recovered, Slot
from kafkactl.dlq.scan import scan
from kafkactl.kafka.admin_port import AdminPort
from kafkactl.kafka.ports import ConsumerPort, Record, TopicPartition
from kafkactl.topology import TierMap

ScanConsumer = Callable[..., ConsumerPort]


class KeyScan:
    """Reads what `KeyOrder.install` needs for one slot (connects per scan, on a worker)."""

    def __init__(
        self,
        settings: Settings,
        tiers: TierMap,
        dead_letter_followers: bool,
        connect_admin: Callable[[Settings], AdminPort],
        connect_consumer: ScanConsumer,
    ) -> None:
        self._settings = settings
        self._tiers = tiers
        self._dead_letter_followers = dead_letter_followers
        self._connect_admin = connect_admin
        self._connect_consumer = connect_consumer

    def load(self, slot: Slot) -> Recovered:
        """The keys of `slot` with records in the tiers, and which of them follow a dead one."""
        main, partition = slot
        tier_tps = {
            TopicPartition(self._tiers.tier_topic(main, n), partition): n
            for n in range(1, self._tiers.tiers + 1)
        }
        dlq_tp = TopicPartition(self._tiers.dlq(main), partition)
        admin = self._connect_admin(self._settings)
        try:
            tps = list(tier_tps)
            committed = admin.committed(self._tiers.group, tps)
            lows = admin.list_offsets(tps, latest=False)
            ends = admin.list_offsets(tps, latest=True)
            starts = {}
            for tp in tps:
                done = committed.get(tp)
                starts[tp] = max(lows[tp], done.offset if done is not None else 0)
            found: Recovered = {}
            followers: dict[bytes | None, tuple[int, set[str]]] = {}

            def fold(records: list[Record]) -> None:
                for record in records:
                    tier = tier_tps[TopicPartition(record.topic, record.partition)]
                    key = found.setdefault(record.key, KeyRecovered())
                    key.pending[tier] = max(key.pending.get(tier, -1), record.offset)
                    follows = hdr.get_text(record.headers, hdr.FOLLOWS)
                    if follows is None:
                        key.blocker = hdr.get_text(record.headers, hdr.MESSAGE_ID) or key.blocker
                        continue
                    key.blocker = key.blocker or follows
                    at = hdr.get_int(record.headers, hdr.FOLLOWED_AT) or 0
                    since, ids = followers.get(record.key, (at, set()))
                    followers[record.key] = (min(since, at), ids | {follows})

            self._read(starts, ends, fold)
            if followers and self._dead_letter_followers:
                self._find_dead(admin, dlq_tp, found, followers)
        finally:
            admin.close()
        logger.debug("{}[{}]: {} key(s) waiting in the retry tiers", main, partition, len(found))
        return found

    def _find_dead(
        self,
        admin: AdminPort,
        dlq: TopicPartition,
        found: Recovered,
        followers: dict[bytes | None, tuple[int, set[str]]],
    ) -> None:
        """Mark keys whose followers wait behind a record that has reached the DLQ."""
        since = min(at for at, _ids in followers.values())
        ends = admin.list_offsets([dlq], latest=True)
        starts = admin.offsets_for_time([dlq], since)

        def fold(records: list[Record]) -> None:
            for record in records:
                wanted = followers.get(record.key)
                if wanted is None:
                    continue
                at, ids = wanted
                message_id = hdr.get_text(record.headers, hdr.MESSAGE_ID)
                died = hdr.get_int(record.headers, hdr.LAST_FAILURE) or 0
                if message_id in ids or died >= at:
                    found[record.key].dead = message_id

        self._read(starts, ends, fold)

    def _read(
        self,
        starts: dict[TopicPartition, int],
        ends: dict[TopicPartition, int],
        fold: Callable[[list[Record]], None],
    ) -> None:
        if all(starts[tp] >= ends[tp] for tp in starts):
            return
        consumer = self._connect_consumer(self._settings, None)
        try:
            scan(consumer, starts, ends, fold)
        finally:
            consumer.close()
