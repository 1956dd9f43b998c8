"""The one backoff helper: exponential growth with decorrelated jitter between a floor and a cap."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Backoff:
    """Delays growing from `minimum` to `maximum`, jittered so clients don't retry in step."""

    def __init__(self, minimum: float, maximum: float, rng: random.Random | None = None) -> None:
        if minimum <= 0 or maximum < minimum:
            raise ValueError("backoff needs 0 < minimum <= maximum")
        self.minimum = minimum
        self.maximum = maximum
        self._rng = rng or random.Random()
        self._last = 0.0
        self.attempts = 0

    def next_delay(self) -> float:
        """The next delay in seconds, always within [minimum, maximum]."""
        self.attempts += 1
        if self._last == 0.0:
            self._last = self.minimum
        else:
            # Decorrelated jitter: uniform between the floor and three times the last delay.
            self._last = min(self.maximum, self._rng.uniform(self.minimum, self._last * 3))
        return self._last

    def reset(self) -> None:
        """Start again from the minimum after a success."""
        self._last = 0.0
        self.attempts = 0


def retry_until(
    attempt: Callable[[], T],
    backoff: Backoff,
    deadline: float,
    on_failure: Callable[[int, Exception, float], None] | None = None,
    retry_on: tuple[type[Exception], ...] = (Exception,),
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Call `attempt` until it succeeds or the monotonic `deadline` passes, then re-raise."""
    while True:
        try:
            return attempt()
        except retry_on as exc:
            remaining = deadline - clock()
            if remaining <= 0:
                raise
            delay = min(backoff.next_delay(), remaining)
            if on_failure is not None:
                on_failure(backoff.attempts, exc, delay)
            sleep(delay)
