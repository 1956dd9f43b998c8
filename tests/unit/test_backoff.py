"""Backoff: bounded, growing, jittered delays; retry_until honours its deadline."""

from __future__ import annotations

import itertools
import random

import pytest

from kafkactl.backoff import Backoff, retry_until


class UpperBoundRng(random.Random):
    """uniform() always returns the upper bound: the fastest growth the jitter allows."""

    def uniform(self, a: float, b: float) -> float:
        return b


class FakeClock:
    """A monotonic clock that only moves when sleep() is called."""

    def __init__(self, start: float = 100.0) -> None:
        self.now = start
        self.sleeps: list[tuple[float, float]] = []  # (time the sleep started, duration)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append((self.now, seconds))
        self.now += seconds


# --- Backoff ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("minimum", "maximum"), [(0, 1), (-1, 1), (2, 1), (0, 0)])
def test_invalid_bounds_are_rejected(minimum: float, maximum: float) -> None:
    with pytest.raises(ValueError):
        Backoff(minimum, maximum)


def test_first_delay_is_the_minimum() -> None:
    assert Backoff(0.5, 30.0, random.Random(1)).next_delay() == 0.5


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize(("minimum", "maximum"), [(0.1, 5.0), (1.0, 30.0), (0.25, 0.3)])
def test_delays_always_within_bounds(seed: int, minimum: float, maximum: float) -> None:
    backoff = Backoff(minimum, maximum, random.Random(seed))
    delays = [backoff.next_delay() for _ in range(200)]
    assert all(minimum <= d <= maximum for d in delays)


def test_equal_bounds_give_constant_delay() -> None:
    backoff = Backoff(2.0, 2.0, random.Random(3))
    assert {backoff.next_delay() for _ in range(20)} == {2.0}


def test_delays_grow_towards_the_cap() -> None:
    backoff = Backoff(0.1, 5.0, UpperBoundRng())
    delays = [backoff.next_delay() for _ in range(7)]
    assert delays == pytest.approx([0.1, 0.3, 0.9, 2.7, 5.0, 5.0, 5.0])


@pytest.mark.parametrize("seed", range(10))
def test_jittered_delays_reach_the_cap(seed: int) -> None:
    backoff = Backoff(0.1, 10.0, random.Random(seed))
    delays = [backoff.next_delay() for _ in range(60)]
    assert max(delays) == 10.0
    # Growth is bounded by the decorrelated-jitter rule: never more than 3x the last delay.
    for previous, current in itertools.pairwise(delays):
        assert current <= previous * 3 + 1e-12


def test_attempts_are_counted() -> None:
    backoff = Backoff(1.0, 10.0, random.Random(0))
    for expected in (1, 2, 3):
        backoff.next_delay()
        assert backoff.attempts == expected


def test_reset_returns_to_the_minimum() -> None:
    backoff = Backoff(0.2, 10.0, UpperBoundRng())
    for _ in range(5):
        backoff.next_delay()
    assert backoff.attempts == 5
    backoff.reset()
    assert backoff.attempts == 0
    assert backoff.next_delay() == 0.2
    assert backoff.next_delay() == pytest.approx(0.6)


def test_seeded_rng_is_deterministic() -> None:
    first = Backoff(0.1, 30.0, random.Random(42))
    second = Backoff(0.1, 30.0, random.Random(42))
    a = [first.next_delay() for _ in range(30)]
    b = [second.next_delay() for _ in range(30)]
    assert a == b


def test_different_seeds_give_different_jitter() -> None:
    first = Backoff(0.1, 30.0, random.Random(1))
    second = Backoff(0.1, 30.0, random.Random(2))
    assert [first.next_delay() for _ in range(10)] != [second.next_delay() for _ in range(10)]


# --- retry_until ------------------------------------------------------------------------------


def test_retry_until_returns_immediately_on_success() -> None:
    clock = FakeClock()
    failures: list[tuple[int, Exception, float]] = []
    result = retry_until(
        lambda: "ok",
        Backoff(1.0, 10.0),
        deadline=clock() + 30,
        on_failure=lambda *args: failures.append(args),
        sleep=clock.sleep,
        clock=clock,
    )
    assert result == "ok"
    assert clock.sleeps == []
    assert failures == []


def test_retry_until_retries_until_success() -> None:
    clock = FakeClock()
    errors = [ConnectionError("a"), ConnectionError("b")]
    calls: list[float] = []

    def attempt() -> int:
        calls.append(clock())
        if errors:
            raise errors.pop(0)
        return 42

    failures: list[tuple[int, Exception, float]] = []
    result = retry_until(
        attempt,
        Backoff(1.0, 10.0, UpperBoundRng()),
        deadline=clock() + 30,
        on_failure=lambda *args: failures.append(args),
        sleep=clock.sleep,
        clock=clock,
    )
    assert result == 42
    assert len(calls) == 3
    assert [n for n, _, _ in failures] == [1, 2]
    assert [str(exc) for _, exc, _ in failures] == ["a", "b"]
    assert [delay for _, _, delay in failures] == pytest.approx([1.0, 3.0])
    assert [d for _, d in clock.sleeps] == pytest.approx([1.0, 3.0])


def test_retry_until_reraises_the_last_error_after_the_deadline() -> None:
    clock = FakeClock()
    start = clock()
    deadline = start + 20.0
    count = 0

    def attempt() -> None:
        nonlocal count
        count += 1
        raise ConnectionError(f"failure {count}")

    failures: list[tuple[int, Exception, float]] = []
    with pytest.raises(ConnectionError) as excinfo:
        retry_until(
            attempt,
            Backoff(1.0, 8.0, UpperBoundRng()),
            deadline=deadline,
            on_failure=lambda *args: failures.append(args),
            sleep=clock.sleep,
            clock=clock,
        )
    assert str(excinfo.value) == f"failure {count}"
    assert count > 1
    # on_failure is told about every failure it sleeps after, numbered from 1.
    assert [n for n, _, _ in failures] == list(range(1, count))
    assert [str(exc) for _, exc, _ in failures] == [f"failure {i}" for i in range(1, count)]
    # It never sleeps past the deadline, and gives up once it is reached.
    for started, duration in clock.sleeps:
        assert started + duration <= deadline + 1e-9
    assert clock() == pytest.approx(deadline)
    assert [d for _, _, d in failures] == pytest.approx([d for _, d in clock.sleeps])


@pytest.mark.parametrize("seed", range(5))
def test_retry_until_never_sleeps_past_the_deadline_with_jitter(seed: int) -> None:
    clock = FakeClock(start=0.0)
    deadline = 7.3

    def attempt() -> None:
        raise TimeoutError("down")

    with pytest.raises(TimeoutError):
        retry_until(
            attempt,
            Backoff(0.5, 3.0, random.Random(seed)),
            deadline=deadline,
            sleep=clock.sleep,
            clock=clock,
        )
    assert clock.sleeps
    assert all(0.0 <= d <= 3.0 for _, d in clock.sleeps)
    assert all(start + d <= deadline + 1e-9 for start, d in clock.sleeps)
    assert clock() <= deadline + 1e-9


def test_retry_until_with_deadline_already_passed_tries_once() -> None:
    clock = FakeClock()
    calls = 0

    def attempt() -> None:
        nonlocal calls
        calls += 1
        raise OSError("refused")

    with pytest.raises(OSError, match="refused"):
        retry_until(
            attempt, Backoff(1.0, 2.0), deadline=clock() - 1, sleep=clock.sleep, clock=clock
        )
    assert calls == 1
    assert clock.sleeps == []


def test_retry_until_does_not_retry_other_errors() -> None:
    clock = FakeClock()
    calls = 0

    def attempt() -> None:
        nonlocal calls
        calls += 1
        raise KeyError("bug")

    with pytest.raises(KeyError):
        retry_until(
            attempt,
            Backoff(1.0, 2.0),
            deadline=clock() + 60,
            retry_on=(ConnectionError,),
            sleep=clock.sleep,
            clock=clock,
        )
    assert calls == 1
    assert clock.sleeps == []
