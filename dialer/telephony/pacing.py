"""Pacing outbound requests to a carrier: a token bucket for calls per second and a cap on
concurrent REST requests (Twilio queues calls past 1 CPS and answers 429 / 20429 past its
concurrent-request limit)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from types import TracebackType

Sleep = Callable[[float], Awaitable[None]]


class TokenBucket:
    """``rate_per_s`` tokens a second, at most ``burst`` saved up; ``await acquire()`` takes one.

    Waiters are served in arrival order: each acquire reserves the next token (the balance may
    go negative) and sleeps until it is due. A waiter cancelled while sleeping gives its token
    back. ``clock`` (monotonic seconds) and ``sleep`` are injectable for tests.
    """

    def __init__(self, rate_per_s: float, burst: int = 1, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Sleep = asyncio.sleep) -> None:
        if rate_per_s <= 0:
            raise ValueError("rate_per_s must be positive")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self.rate_per_s, self.burst = rate_per_s, burst
        self._clock, self._sleep = clock, sleep
        self._tokens = float(burst)
        self._updated = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._updated) * self.rate_per_s)
        self._updated = now

    def reserve(self) -> float:
        """Take the next token now; returns how many seconds until it may be used."""
        self._refill()
        self._tokens -= 1
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate_per_s

    async def acquire(self) -> float:
        """Wait for a token; returns the seconds waited (0 when one was saved up)."""
        delay = self.reserve()
        if delay > 0:
            try:
                await self._sleep(delay)
            except asyncio.CancelledError:
                self._refill()
                self._tokens = min(float(self.burst), self._tokens + 1)
                raise
        return delay

    @property
    def available(self) -> float:
        self._refill()
        return self._tokens


class ConcurrencyLimiter:
    """At most ``limit`` requests in flight: ``async with limiter: …``."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self.in_flight = 0
        self.peak = 0  # the most ever in flight at once (for tests and metrics)
        self._semaphore = asyncio.Semaphore(limit)

    async def __aenter__(self) -> ConcurrencyLimiter:
        await self._semaphore.acquire()
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        self.in_flight -= 1
        self._semaphore.release()
