"""The failure-storm breaker's state machine (fake clock) and the --breaker rules."""

from __future__ import annotations

import errno
import random
from typing import Any

import pytest

from kafkactl.consumer.breaker import Breaker, BreakerRules, environmental, parse_breaker
from kafkactl.errors import UsageError
from kafkactl.headers import Failure

DOWN = Failure("retryable", "exit:1", "connection refused")
BAD = Failure("fatal", "ValueError", "no such account")
SLOW = Failure("timeout", "timeout", "timed out after 30s")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _breaker(**rules: object) -> tuple[Breaker[int], Clock]:
    clock = Clock()
    return Breaker(BreakerRules(**rules), clock=clock, rng=random.Random(1)), clock  # type: ignore[arg-type]


def test_a_five_percent_bad_mix_never_opens_it_and_each_failure_is_routed_after_a_success() -> None:
    breaker, clock = _breaker()
    rng = random.Random(7)
    routed: list[int] = []
    failed = 0
    for n in range(20_000):
        clock.now += 0.001
        if rng.random() < 0.05:
            failed += 1
            assert breaker.failed(n, DOWN, True, None) == ("wait", [])
        else:
            routed += breaker.succeeded(clock.now - 0.0005)
    assert breaker.state == "closed" and breaker.opened == 0
    assert len(routed) + len(breaker.pending) == failed
    assert len(breaker.pending) <= 3  # each waits only for the next success


def test_consecutive_failures_of_one_kind_open_it_and_hold_the_waiting_ones() -> None:
    breaker, clock = _breaker(consecutive=5, min_records=1000)
    for n in range(4):
        clock.now += 0.01
        assert breaker.failed(n, DOWN, True, None) == ("wait", [])
    verdict, held = breaker.failed(4, DOWN, True, None)
    assert verdict == "hold" and held == [0, 1, 2, 3]
    assert breaker.state == "open" and breaker.opened == 1
    assert "5 failures in a row" in (breaker.reason or "")
    assert breaker.failed(5, BAD, True, None) == ("hold", [])  # open: everything is held


def test_failures_of_other_kinds_break_the_streak() -> None:
    breaker, clock = _breaker(consecutive=3, min_records=1000)
    for n in range(10):
        clock.now += 0.01
        why = DOWN if n % 2 else SLOW
        assert breaker.failed(n, why, True, None)[0] == "wait"
    assert breaker.state == "closed"


def test_the_share_rule_needs_enough_records_in_the_window() -> None:
    breaker, clock = _breaker(share=0.8, min_records=10, window=10.0, consecutive=1000)
    for _ in range(2):
        breaker.succeeded(clock.now)
    for n in range(7):
        clock.now += 0.1
        assert breaker.failed(n, DOWN if n % 2 else SLOW, True, None)[0] == "wait"
    assert breaker.state == "closed"  # 7 of 9 records: too few
    clock.now += 0.1
    verdict, held = breaker.failed(7, DOWN, True, None)  # 8 of 10 failed
    assert verdict == "hold" and len(held) == 7
    assert "8 of 10 records failed within 10s" in (breaker.reason or "")


def test_old_records_leave_the_window() -> None:
    breaker, clock = _breaker(share=0.5, min_records=4, window=1.0, consecutive=1000)
    for n in range(3):
        breaker.failed(n, DOWN if n % 2 else SLOW, True, None)
    clock.now += 5
    assert breaker.release_stale(idle=False) == [0, 1, 2]  # no verdict came: routed
    breaker.succeeded(clock.now)
    assert breaker.failed(3, SLOW, True, None)[0] == "wait"  # the first three aged out
    assert breaker.state == "closed"


def test_a_success_releases_only_failures_from_before_it_started() -> None:
    breaker, clock = _breaker()
    breaker.failed(1, DOWN, True, None)
    started = clock.now
    clock.now += 1
    breaker.failed(2, DOWN, True, None)
    assert breaker.succeeded(started) == [1]  # began before 2 failed: proves nothing of 2
    assert breaker.release_stale(idle=True) == [2]  # nothing else in flight: no verdict to wait for


def test_tier_fatal_and_decode_failures_never_open_it_and_are_routed_at_once() -> None:
    breaker, _ = _breaker(consecutive=2, min_records=2)
    decode = Failure("decode", "UnicodeDecodeError", "invalid start byte")
    for n in range(50):
        assert breaker.failed(n, DOWN, False, None) == ("route", [])
        assert breaker.failed(n, BAD, True, None) == ("route", [])
        assert breaker.failed(n, decode, True, None) == ("route", [])
    assert breaker.state == "closed"


def test_an_environmental_failure_opens_it_at_once() -> None:
    breaker, _ = _breaker()
    verdict, held = breaker.failed(1, DOWN, False, "EMFILE (too many open files)")
    assert verdict == "hold" and held == [] and breaker.state == "open"
    assert (breaker.reason or "").startswith("EMFILE")


def test_probes_back_off_from_one_second_to_a_minute_and_a_success_closes_it() -> None:
    breaker, clock = _breaker(consecutive=1)
    breaker.failed(1, DOWN, True, None)
    assert not breaker.probe_due()
    clock.now += 1.0
    assert breaker.probe_due()
    delays = []
    for _ in range(12):
        breaker.probe_started()
        assert breaker.state == "half-open" and not breaker.probe_due()
        delays.append(breaker.probe_failed())
        assert breaker.snapshot()["state"] == "open"
        clock.now += delays[-1]
        assert breaker.probe_due()
    assert all(1.0 <= d <= 60.0 for d in delays) and max(delays) == 60.0
    assert breaker.probes == 12
    breaker.probe_started()
    breaker.close()
    assert breaker.state == "closed" and breaker.opened == 1
    assert breaker.failed(2, DOWN, True, None) == ("hold", [])  # watching afresh: opens again
    assert breaker.opened == 2 and breaker.probes == 0


def test_off_routes_everything() -> None:
    breaker, _ = _breaker(enabled=False)
    for n in range(100):
        assert breaker.failed(n, DOWN, True, "EMFILE") == ("route", [])
    assert breaker.succeeded(0.0) == [] and breaker.state == "closed"


def test_environmental_failures() -> None:
    def raised(exc: BaseException) -> BaseException:
        try:
            try:
                raise exc
            except BaseException:
                raise RuntimeError("wrapped") from None
        except RuntimeError as outer:
            return outer

    emfile = raised(OSError(errno.EMFILE, "Too many open files"))
    assert environmental(emfile, DOWN) == "EMFILE (too many open files)"
    assert environmental(OSError(errno.ENOSPC, "full"), DOWN) is not None
    assert environmental(ModuleNotFoundError("No module named 'db'"), DOWN) is not None
    assert environmental(None, Failure("retryable", "exit:127", "sh: nope: not found")) is not None
    start = Failure("retryable", "BlockingIOError", "cannot start /bin/sh: [Errno 11] again")
    assert environmental(OSError(errno.EAGAIN, "again"), start) is not None
    assert environmental(OSError(errno.EAGAIN, "again"), DOWN) is None
    assert environmental(OSError(errno.ENOENT, "no such file"), DOWN) is None
    assert environmental(ValueError("bad"), BAD) is None
    assert environmental(None, Failure("retryable", "exit:1", "x")) is None


def test_parse_breaker() -> None:
    assert parse_breaker("on") == BreakerRules()
    assert parse_breaker("off") == BreakerRules(enabled=False)
    rules = parse_breaker("share=60%, min=50,window=30s,consecutive=5")
    assert (rules.share, rules.min_records, rules.window, rules.consecutive) == (0.6, 50, 30.0, 5)
    assert parse_breaker("consecutive=7") == BreakerRules(consecutive=7)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("maybe", "'maybe' is not a rule"),
        ("share=150%", "share must be a percentage"),
        ("share=0", "share must be a percentage"),
        ("min=0", "min must be a whole number"),
        ("consecutive=x", "consecutive must be a whole number"),
        ("window=forever", "window must be a duration"),
        ("speed=2", "'speed=2' is not a rule"),
    ],
)
def test_bad_breaker_rules_are_one_usage_line(text: str, says: str) -> None:
    with pytest.raises(UsageError) as raised:
        parse_breaker(text)
    line = str(raised.value)
    assert says in line and "\n" not in line and line.startswith(f"--breaker {text!r}")


class _Message:
    def __init__(self, offset: int, key: bytes) -> None:
        self.offset, self.key, self.attempt = offset, key, 1


class _Pool:
    def __init__(self) -> None:
        self.submitted: list[tuple[Any, object]] = []

    def submit(self, item: object, lane: object) -> None:
        self.submitted.append((item, lane))


def test_the_guard_holds_probes_lane_heads_in_turn_and_resubmits_in_order_on_close() -> None:
    from kafkactl.consumer.dispatch import lane_for
    from kafkactl.consumer.holding import StormGuard
    from kafkactl.consumer.state import Partitions, Work
    from kafkactl.kafka import TopicPartition

    tp = TopicPartition("t", 0)
    partitions = Partitions()
    partitions.add(tp)
    pool = _Pool()
    routed: list[int] = []
    guard = StormGuard(
        BreakerRules(consecutive=3),
        partitions,
        pool,  # type: ignore[arg-type]
        lambda w: lane_for("key", w.tp, w.message.key),
        lambda work, why, started: routed.append(work.message.offset),
    )
    works = [Work(_Message(n, b"k%d" % (n % 2)), tp, partitions.epochs[tp]) for n in range(8)]  # type: ignore[arg-type]
    partitions.inflight[tp] = len(works)
    for work in works[:3]:
        assert guard.failed(work, DOWN, 0.0, RuntimeError("down"))
    assert guard.is_open and routed == []
    assert all(guard.holds(work) for work in works[3:])
    probes = []
    for _ in range(3):
        guard.breaker.next_probe = 0.0
        guard.tick()
        ((probe, _lane),) = pool.submitted
        pool.submitted.clear()
        probes.append(probe.message.offset)
        assert not guard.holds(probe)  # the probe runs
        assert guard.failed(probe, DOWN, 0.0, RuntimeError("down"))
    assert sorted(set(probes)) == [0, 1]  # the heads of the two lanes, in turn
    guard.breaker.next_probe = 0.0
    guard.tick()
    ((probe, _lane),) = pool.submitted
    pool.submitted.clear()
    guard.succeeded(probe, 0.0)
    assert not guard.is_open and guard.breaker.opened == 1
    rerun = [w.message.offset for w, _ in pool.submitted]
    assert sorted(rerun) == [n for n in range(8) if n != probe.message.offset]
    for key in (0, 1):  # each lane in offset order
        lane = [n for n in rerun if n % 2 == key]
        assert lane == sorted(lane)
    assert routed == []  # nothing of the storm was routed


def test_the_guard_at_shutdown_leaves_held_records_uncommitted() -> None:
    from kafkactl.consumer.holding import StormGuard
    from kafkactl.consumer.state import Partitions, Work
    from kafkactl.kafka import TopicPartition

    tp = TopicPartition("t", 0)
    partitions = Partitions()
    partitions.add(tp)
    guard = StormGuard(
        BreakerRules(consecutive=2),
        partitions,
        _Pool(),
        lambda w: None,
        lambda *a: None,  # type: ignore[arg-type]
    )
    works = [Work(_Message(n, b"k"), tp, partitions.epochs[tp]) for n in range(4)]  # type: ignore[arg-type]
    partitions.inflight[tp] = 4
    for work in works[:2]:
        guard.failed(work, DOWN, 0.0, RuntimeError("down"))
    assert guard.holds(works[2])
    assert guard.abandon_all() == 3
    assert partitions.busy() == 1  # works[3] still runs; when it fails, it is not held
    assert guard.failed(works[3], DOWN, 0.0, RuntimeError("down"))
    assert partitions.busy() == 0
    assert partitions.tracker.to_commit(None, every=True) == {}


def test_health_reports_a_group_whose_member_commits_with_an_open_breaker() -> None:
    from kafkactl.admin.health import GroupCheck, HealthReport, _open_breaker, verdict
    from kafkactl.consumer.holding import StormGuard
    from kafkactl.consumer.state import Partitions
    from kafkactl.kafka import TopicPartition
    from kafkactl.kafka.admin_port import Committed

    guard = StormGuard(BreakerRules(), Partitions(), _Pool(), lambda w: None, lambda *a: None)  # type: ignore[arg-type]
    assert guard.commit_metadata() is None
    guard.breaker.failed(None, DOWN, True, "EMFILE (too many open files)")  # type: ignore[arg-type]
    text = guard.commit_metadata()
    assert text is not None and text.startswith("kafkactl:breaker=open;since=20")
    offsets = {
        TopicPartition("t", 0): Committed(5, ""),
        TopicPartition("t", 1): Committed(7, text),
    }
    found = _open_breaker(offsets)
    assert found is not None and "EMFILE" in found
    assert _open_breaker({TopicPartition("t", 0): Committed(5, "")}) is None
    report = HealthReport(bootstrap=[], groups=[GroupCheck("billing", members=1, breaker=found)])
    state, reasons = verdict(report, None)
    assert state == "degraded"
    assert reasons[0].startswith("group billing: a member's failure-storm breaker is open")
    assert "(since 20" in reasons[0]
    assert "opened by EMFILE" in reasons[0]


def test_prometheus_families_and_the_summary_rows() -> None:
    from kafkactl.metrics import Metrics, _breaker_families
    from kafkactl.render.consume import metrics_table

    found = _breaker_families({"state": "half-open", "opened": 3})
    families = {f.name: f.samples[0].value for f in found}
    assert families == {"kafkactl_breaker_state": 2, "kafkactl_breaker_opened": 3}
    assert list(_breaker_families(None)) == []
    metrics = Metrics()
    breaker, _ = _breaker(consecutive=1)
    metrics.detail("breaker", breaker.snapshot)
    breaker.failed(1, DOWN, True, None)
    snapshot = metrics.snapshot()
    assert snapshot["breaker"]["state"] == "open" and snapshot["breaker"]["opened"] == 1
    shown = {**snapshot, "breaker": {**snapshot["breaker"], "held": 7}}
    names, values = (list(column.cells) for column in metrics_table(shown).columns)
    rows = dict(zip(names, values, strict=True))
    assert str(rows["breaker"]).startswith("open since ") and "7 held" in str(rows["breaker"])
    assert rows["  breaker opened"] == "1" and "exit:1" in str(rows["  opened by"])


def test_a_revoke_routes_the_failures_waiting_for_a_verdict_of_its_partitions_only() -> None:
    """The drain of a revoked partition cannot wait for the breaker's verdict (librdkafka drains
    inside poll(): no tick comes); other partitions' failures keep waiting."""
    from kafkactl.consumer.holding import StormGuard
    from kafkactl.consumer.state import Partitions, Work
    from kafkactl.kafka import TopicPartition

    a, b = TopicPartition("t", 0), TopicPartition("t", 1)
    partitions = Partitions()
    partitions.add(a)
    partitions.add(b)
    routed: list[tuple[int, int]] = []
    guard = StormGuard(
        BreakerRules(),
        partitions,
        _Pool(),  # type: ignore[arg-type]
        lambda w: None,
        lambda work, why, started: routed.append((work.tp.partition, work.message.offset)),
    )
    works = [Work(_Message(n, b"k"), tp, partitions.epochs[tp]) for n, tp in enumerate((a, b))]  # type: ignore[arg-type]
    for work in works:
        assert guard.failed(work, DOWN, 0.0, RuntimeError("down"))  # waits for a verdict
    assert routed == []
    guard.release(lambda w: w.tp == a)
    assert routed == [(0, 0)]
    assert [entry[1][0] for entry in guard.breaker.pending] == [works[1]]


def test_a_redelivery_whose_successes_are_deduplicated_is_no_storm() -> None:
    """After a rebalance the successes come back as dedupe hits and only the failures run: 20 %
    bad records must not look like ten failures in a row, nor like 100 % failing."""
    breaker, _clock = _breaker()
    for n in range(200):
        if n % 5 == 0:
            verdict, _ = breaker.failed(n, DOWN, True, None)
            assert verdict != "hold", f"opened at record {n}"
        else:
            breaker.skipped()
    assert breaker.state == "closed" and breaker.opened == 0


def test_a_streak_confined_to_two_bad_keys_does_not_open_it_while_other_keys_settle() -> None:
    # Two keys whose records are all bad, the last lanes with work at the end of a run: their
    # failures come in a long row, yet the other keys' records settled within the window.
    breaker, clock = _breaker(consecutive=10, min_records=1000)
    for key in range(10):
        clock.now += 0.01
        breaker.succeeded(clock.now, 50, lanes=[f"k{key}"])
    for n in range(40):
        clock.now += 0.01
        verdict, _ = breaker.failed(n, DOWN, True, None, lane=f"k{(n % 2) * 5}")
        assert verdict == "wait"
    assert breaker.state == "closed" and breaker.opened == 0


def test_a_streak_across_three_keys_opens_it() -> None:
    breaker, clock = _breaker(consecutive=10, min_records=1000)
    breaker.succeeded(clock.now, 50, lanes=["k1", "k2", "k3", "k4"])
    for n in range(9):
        clock.now += 0.01
        assert breaker.failed(n, DOWN, True, None, lane=f"k{n % 3}")[0] == "wait"
    clock.now += 0.01
    verdict, held = breaker.failed(9, DOWN, True, None, lane="k0")
    assert verdict == "hold" and len(held) == 9 and breaker.state == "open"


def test_a_streak_of_the_only_key_opens_it() -> None:
    # One key (or one partition) is all there is: its failures in a row are an outage.
    breaker, clock = _breaker(consecutive=10, min_records=1000)
    breaker.succeeded(clock.now, 5, lanes=["only"])
    for n in range(9):
        clock.now += 0.01
        assert breaker.failed(n, DOWN, True, None, lane="only")[0] == "wait"
    assert breaker.failed(9, DOWN, True, None, lane="only")[0] == "hold"


def test_lanes_count_for_the_streak_only_within_the_window() -> None:
    # The other keys settled long ago: two keys are all that is left, and they fail together.
    breaker, clock = _breaker(consecutive=10, min_records=1000, window=1.0)
    breaker.succeeded(clock.now, 50, lanes=["k1", "k2", "k3"])
    clock.now += 5
    for n in range(9):
        clock.now += 0.01
        assert breaker.failed(n, DOWN, True, None, lane=f"k{(n % 2) * 5}")[0] == "wait"
    assert breaker.failed(9, DOWN, True, None, lane="k5")[0] == "hold"


def test_a_streak_that_changes_kind_forgets_its_lanes() -> None:
    breaker, clock = _breaker(consecutive=4, min_records=1000)
    breaker.succeeded(clock.now, 50, lanes=["a", "b", "c"])
    for n, lane in enumerate(["a", "b", "c"]):
        breaker.failed(n, SLOW, True, None, lane=lane)
    for n in range(3, 7):  # four DOWN in a row, all from "a" and "b": not three lanes
        clock.now += 0.01
        assert breaker.failed(n, DOWN, True, None, lane="ab"[n % 2])[0] == "wait"
    assert breaker.state == "closed"
