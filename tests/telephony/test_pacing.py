"""The token bucket and the concurrency limiter, on a fake clock."""

from __future__ import annotations

import asyncio

import pytest

from dialer.telephony.pacing import ConcurrencyLimiter, TokenBucket


class FakeTime:
    """A monotonic clock that only moves when someone sleeps (or the test says so)."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        await asyncio.sleep(0)


def bucket(t: FakeTime, rate: float, burst: int = 1) -> TokenBucket:
    return TokenBucket(rate, burst, clock=t.clock, sleep=t.sleep)


async def test_given_full_bucket_then_burst_is_free_and_the_rest_is_spaced_at_the_rate():
    t = FakeTime()
    b = bucket(t, rate=2.0, burst=3)

    waits = [await b.acquire() for _ in range(6)]

    assert waits == [0.0, 0.0, 0.0, 0.5, 1.0, 1.5]  # reserved in order, the clock standing still


async def test_given_concurrent_waiters_then_each_gets_its_own_slot_in_arrival_order():
    t = FakeTime()
    b = bucket(t, rate=5.0)

    waits = await asyncio.gather(*(b.acquire() for _ in range(5)))

    assert waits == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8])
    assert t.sleeps == pytest.approx([0.2, 0.4, 0.6, 0.8])


async def test_given_time_passes_then_tokens_refill_up_to_burst_only():
    t = FakeTime()
    b = bucket(t, rate=1.0, burst=2)
    await b.acquire()
    await b.acquire()
    assert b.available == 0

    t.now += 0.5
    assert b.available == pytest.approx(0.5)
    assert await b.acquire() == pytest.approx(0.5)

    t.now += 60
    assert b.available == 2  # capped at the burst
    assert [await b.acquire() for _ in range(3)] == pytest.approx([0.0, 0.0, 1.0])


async def test_given_waiter_cancelled_then_its_token_is_given_back():
    t = FakeTime()
    gate = asyncio.Event()

    async def blocked_sleep(seconds: float) -> None:
        await gate.wait()

    b = TokenBucket(1.0, 1, clock=t.clock, sleep=blocked_sleep)
    await b.acquire()
    waiter = asyncio.create_task(b.acquire())
    await asyncio.sleep(0)
    assert b.available == -1

    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter

    assert b.available == 0


def test_given_bad_settings_then_refused():
    with pytest.raises(ValueError):
        TokenBucket(0)
    with pytest.raises(ValueError):
        TokenBucket(1, burst=0)
    with pytest.raises(ValueError):
        ConcurrencyLimiter(0)


async def test_given_limit_two_then_never_more_than_two_in_flight():
    limiter = ConcurrencyLimiter(2)

    async def work() -> None:
        async with limiter:
            await asyncio.sleep(0.01)

    await asyncio.gather(*(work() for _ in range(7)))

    assert limiter.peak == 2 and limiter.in_flight == 0


async def test_given_failure_inside_then_the_slot_is_released():
    limiter = ConcurrencyLimiter(1)
    with pytest.raises(RuntimeError):
        async with limiter:
            raise RuntimeError("boom")
    async with asyncio.timeout(1):
        async with limiter:
            assert limiter.in_flight == 1
