"""StrictOrder: `--ordering key-strict` wired into the pipeline (KeyOrder + KeyScan + router).

On a worker, before the handler, `admit` asks KeyOrder whether the record's key waits for an
earlier record in the retry tiers; if so the record is sent after it (`follow`: to that tier,
or to the DLQ behind a dead-lettered one) and is complete once its copy is acknowledged. A
slot's state is rebuilt from Kafka (KeyScan) the first time a record of it is admitted after an
assignment, so a kill -9, a restart or a rebalance loses nothing.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from kafkactl import headers as hdr
from kafkactl.consumer.keyorder import DLQ, Admission, KeyOrder, Slot, Token
from kafkactl.consumer.keyscan import KeyScan
from kafkactl.consumer.router import RetryRouter, Route
from kafkactl.consumer.state import Partitions, Work
from kafkactl.errors import KafkactlError
from kafkactl.kafka import TopicPartition
from kafkactl.kafka.admin_port import AdminPort
from kafkactl.topology import TierMap

Undeliverable = Callable[[Route, BaseException], None]
KeyOf = tuple[Slot, bytes | None]


@dataclass
class _Parking:
    """Records of a key kept back while one of its failures waits for the breaker's verdict
    (not yet routed, so nothing can follow it yet). In memory only, and safely so: none of
    them is complete, so a crash reads them all again."""

    token: Token
    holder: Work | None = None
    parked: list[tuple[tuple[str, int, int], Work]] = field(default_factory=list)
    draining: dict[int, Work] = field(default_factory=dict)  # parked works sent back to run


class StrictOrder:
    """Per-key order through the retry tiers, for one pipeline."""

    def __init__(
        self,
        keyorder: KeyOrder,
        scan: KeyScan,
        tiers: TierMap,
        partitions: Partitions,
        router: RetryRouter,
    ) -> None:
        self.keyorder = keyorder
        self._scan = scan
        self._tiers = tiers
        self._partitions = partitions
        self._router = router
        self._loading: dict[Slot, threading.Lock] = {}
        self._loading_lock = threading.Lock()
        self._slot_tps: dict[Slot, tuple[TopicPartition, ...]] = {}  # main and tier partitions
        self._parking: dict[KeyOf, _Parking] = {}
        self._parking_lock = threading.Lock()
        # Sends a parked record back to the workers, in its lane (set by Handling).
        self.resubmit: Callable[[Work], None] = lambda work: None

    def admit(self, work: Work) -> Admission:
        """Run, follow or dead-letter this record (rebuilding its slot's state first if new);
        `wait`: kept back (parked) while an earlier failure of its key awaits the breaker."""
        slot, tier = self._where(work.tp)
        token = self._token(slot)
        self._ensure_loaded(slot, token)
        if self._parks(work, slot, token):
            return Admission("wait")
        return self.keyorder.admit(slot, work.message.key, tier, work.message.offset)

    # --- a failure waiting for the breaker's verdict holds its key back -------------------

    def hold(self, work: Work) -> None:
        """`work` failed and may wait for the breaker's verdict: its key's next records park."""
        slot, _tier = self._where(work.tp)
        token = self._token(slot)
        with self._parking_lock:
            parking = self._parking_for((slot, work.message.key), token)
            parking.holder = work

    def release(self, work: Work) -> None:
        """`work` no longer holds its key back (routed, or settled): parked records run."""
        slot, _tier = self._where(work.tp)
        with self._parking_lock:
            parking = self._parking.get((slot, work.message.key))
            if parking is None or parking.holder is not work:
                return
            parking.holder = None
            resend = self._drain(parking)
        for parked in resend:
            self.resubmit(parked)

    def drop(self, gone: Callable[[Work], bool]) -> list[Work]:
        """Remove parked records matching `gone` (revoked partitions); returns them, for the
        caller to stop counting."""
        dropped: list[Work] = []
        with self._parking_lock:
            for key, parking in list(self._parking.items()):
                if parking.holder is not None and gone(parking.holder):
                    parking.holder = None
                dropped += [work for _where, work in parking.parked if gone(work)]
                parking.parked = [entry for entry in parking.parked if not gone(entry[1])]
                parking.draining = {i: w for i, w in parking.draining.items() if not gone(w)}
                if parking.holder is None and not parking.parked and not parking.draining:
                    del self._parking[key]
        return dropped

    def parked_count(self) -> int:
        """Records kept back behind a failure awaiting the breaker's verdict."""
        with self._parking_lock:
            return sum(len(p.parked) for p in self._parking.values())

    def abandon_all(self) -> None:
        """The run stops: parked records are left incomplete (read again next run)."""
        with self._parking_lock:
            parked = [work for p in self._parking.values() for _where, work in p.parked]
            self._parking.clear()
        for work in parked:
            self._partitions.abandon(work)

    def _parks(self, work: Work, slot: Slot, token: Token) -> bool:
        key = (slot, work.message.key)
        if key not in self._parking:  # nothing parked: no lock (a key's hold is set in its lane)
            return False
        resend: list[Work] = []
        with self._parking_lock:
            parking = self._parking.get(key)
            if parking is None:
                return False
            if parking.token != token:
                del self._parking[key]  # assigned anew: what was parked was dropped
                return False
            if parking.holder is work:
                return False
            sent_back = parking.draining.pop(id(work), None) is not None
            queued = bool(parking.draining or parking.parked)
            if parking.holder is not None or (queued and not sent_back):
                self._park(parking, work)
                return True
            resend = self._passed(key, parking)
        for parked in resend:
            self.resubmit(parked)
        return False

    def _passed(self, key: KeyOf, parking: _Parking) -> list[Work]:
        """A record of the key went by (the parking lock held): once nothing holds the key
        and every record sent back came through, what parked meanwhile goes back too."""
        if parking.holder is not None or parking.draining:
            return []
        resend = self._drain(parking)
        if not resend:
            del self._parking[key]
        return resend

    def _went_by(self, work: Work) -> None:
        """A record sent back settled without being admitted (deduplicated, filtered)."""
        slot, _tier = self._where(work.tp)
        key = (slot, work.message.key)
        if key not in self._parking:
            return
        resend: list[Work] = []
        with self._parking_lock:
            parking = self._parking.get(key)
            if parking is not None and parking.draining.pop(id(work), None) is not None:
                resend = self._passed(key, parking)
        for parked in resend:
            self.resubmit(parked)

    @staticmethod
    def _park(parking: _Parking, work: Work) -> None:
        where = (work.tp.topic, work.tp.partition, work.message.offset)
        if all(parked is not work for _where, parked in parking.parked):
            bisect.insort(parking.parked, (where, work), key=lambda entry: entry[0])

    @staticmethod
    def _drain(parking: _Parking) -> list[Work]:
        """Send every parked record back to run (in offset order per partition), unless some
        sent back earlier have not come through yet."""
        if parking.draining:
            return []
        resend = [work for _where, work in parking.parked]
        parking.parked = []
        parking.draining = {id(work): work for work in resend}
        return resend

    def _parking_for(self, key: KeyOf, token: Token) -> _Parking:
        parking = self._parking.get(key)
        if parking is None or parking.token != token:
            parking = self._parking[key] = _Parking(token)
        return parking

    def follow(
        self, work: Work, admission: Admission, complete: Callable[[], None], lost: Undeliverable
    ) -> None:
        """Send a record that may not run after the earlier record of its key."""
        slot, _tier = self._where(work.tp)
        key = work.message.key
        dest = DLQ if admission.tier is None else admission.tier
        self.keyorder.routing(slot, key, dest, work.message.message_id, failed=False)
        self._router.follow(
            work.message,
            admission.tier,
            admission.follows or "",
            self._acked(work, complete),
            self._lost(slot, key, dest, lost),
            self._placed(slot, key, dest),
        )

    def route_failure(
        self, work: Work, why: hdr.Failure, complete: Callable[[], None], lost: Undeliverable
    ) -> None:
        """Route a failed record as usual; its key is blocked until its copy settles."""
        slot, _tier = self._where(work.tp)
        key = work.message.key
        now_ms = 0  # only the destination matters here
        route = self._router.decide(work.message, why, now_ms)
        dest = DLQ if route.tier is None else route.tier
        self.keyorder.routing(slot, key, dest, work.message.message_id, failed=True)
        self._router.route(
            work.message,
            why,
            self._acked(work, complete),
            self._lost(slot, key, dest, lost),
            self._placed(slot, key, dest),
        )
        # Only now: the records parked behind it are sent after its copy, never before.
        self.release(work)

    def settled(self, work: Work) -> None:
        """A record is complete: a tier record no longer blocks its key."""
        self.release(work)
        self._went_by(work)
        slot, tier = self._where(work.tp)
        if tier == 0:
            return
        with self._partitions.lock:
            current = self._partitions.epochs.get(work.tp) == work.epoch
        if current and self.keyorder.loaded(slot, self._token(slot)):
            self.keyorder.settled(slot, work.message.key, tier, work.message.offset)

    # --- helpers ------------------------------------------------------------------------

    def _acked(self, work: Work, complete: Callable[[], None]) -> Callable[[], None]:
        def acked() -> None:
            complete()
            self.settled(work)

        return acked

    def _placed(self, slot: Slot, key: bytes | None, dest: int) -> Callable[[int | None], None]:
        def placed(offset: int | None) -> None:
            self.keyorder.placed(slot, key, dest, offset)

        return placed

    def _lost(self, slot: Slot, key: bytes | None, dest: int, lost: Undeliverable) -> Undeliverable:
        def undeliverable(route: Route, error: BaseException) -> None:
            self.keyorder.unrouted(slot, key, dest)
            lost(route, error)

        return undeliverable

    def _where(self, tp: TopicPartition) -> tuple[Slot, int]:
        role = self._tiers.role(tp.topic)
        return (role.main, tp.partition), role.tier

    def _token(self, slot: Slot) -> Token:
        tps = self._slot_tps.get(slot)
        if tps is None:
            main, partition = slot
            tiers = range(1, self._tiers.tiers + 1)
            names = [main] + [self._tiers.tier_topic(main, n) for n in tiers]
            tps = self._slot_tps[slot] = tuple(TopicPartition(name, partition) for name in names)
        epochs = self._partitions.epochs
        with self._partitions.lock:
            return tuple(epochs.get(tp) for tp in tps)

    def _ensure_loaded(self, slot: Slot, token: Token) -> None:
        if self.keyorder.loaded(slot, token):
            return
        with self._loading_lock:
            lock = self._loading.setdefault(slot, threading.Lock())
        with lock:
            token = self._token(slot)
            if not self.keyorder.loaded(slot, token):
                self.keyorder.install(slot, token, self._scan.load(slot))


def check_copartitioned(admin: AdminPort, tiers: TierMap, topics: list[str]) -> None:
    """--ordering key-strict keeps a key on its partition number in every tier and the DLQ:
    they need as many partitions as the main topic (create-topics makes them so)."""
    from kafkactl.admin import queries as kadmin

    for main in topics:
        copies = [tiers.tier_topic(main, n) for n in range(1, tiers.tiers + 1)]
        copies.append(tiers.dlq(main))
        info = kadmin.describe_topics(admin, [main, *copies])
        want = len(info[main].partitions)
        for name in copies:
            have = len(info[name].partitions)
            if have != want:
                fix = (
                    f"`kafkactl topics add-partitions {name} --count {want} --execute`"
                    if have < want
                    else f"recreate {name} with {want} partitions"
                )
                raise KafkactlError(
                    f"--ordering key-strict needs {name} to have as many partitions as {main} "
                    f"({want}; it has {have}), since a key keeps its partition number in every "
                    f"retry tier and the DLQ: {fix}, or use --ordering key"
                )


def unreadable_tiers(work: Work, exc: Exception) -> str:
    """The line a run stops with when a slot's blocked keys cannot be read from its tiers."""
    tp = work.tp
    return (
        f"--ordering key-strict could not read which keys of {tp.topic}[{tp.partition}] wait in "
        f"the retry tiers ({exc}); consume stopped with offset {work.message.offset} not "
        "committed: run again once the tiers can be read"
    )
