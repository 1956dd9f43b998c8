"""RateLimiter: a token bucket that waits without spinning."""

from __future__ import annotations

import threading

import pytest

from kafkactl.ratelimit import RateLimiter


def test_rate_limiter_paces_without_spinning():
    now = [0.0]
    limiter = RateLimiter(4, burst=1, clock=lambda: now[0])
    assert limiter.delay() == 0
    limiter.take()
    assert limiter.delay() == pytest.approx(0.25)
    now[0] = 0.1
    assert limiter.delay() == pytest.approx(0.15)
    now[0] = 10.0
    assert limiter.delay() == 0  # never more than the burst saved up
    limiter.take()
    assert limiter.delay() == pytest.approx(0.25)
    stop = threading.Event()
    stop.set()
    assert limiter.acquire(stop) is False
    with pytest.raises(ValueError):
        RateLimiter(0)
