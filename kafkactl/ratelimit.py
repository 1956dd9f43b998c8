"""RateLimiter: a token bucket that paces records per second and waits without spinning."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateLimiter:
    """A token bucket: `rate` records/s, bursts of at most `burst`; waits without spinning."""

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate / 10)
        self._clock = clock
        self._tokens = 1.0
        self._last = clock()

    def delay(self) -> float:
        """Seconds to wait before the next record may go (0: now)."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        return 0.0 if self._tokens >= 1.0 else (1.0 - self._tokens) / self.rate

    def take(self) -> None:
        """Spend one token (after delay() said 0)."""
        self._tokens -= 1.0

    def acquire(self, stop: threading.Event) -> bool:
        """Wait for a token; False if `stop` was set meanwhile."""
        while True:
            wait = self.delay()
            if wait <= 0:
                self.take()
                return True
            if stop.wait(wait):
                return False
