"""The SIP stack's clock: the hand-driven one the state machines are tested with, the asyncio one
they run on, and RFC 3261's timer values."""

from __future__ import annotations

import asyncio

from dialer.telephony.sip.timers import LoopTimers, ManualTimers, TimerConfig


def test_given_timers_out_of_order_when_advanced_then_they_fire_in_time_order_ties_in_scheduling_order() -> None:
    timers = ManualTimers()
    fired: list[str] = []
    timers.call_later(2.0, fired.append, "late")
    timers.call_later(1.0, fired.append, "first")
    timers.call_later(1.0, fired.append, "second")

    timers.advance(1.5)
    assert fired == ["first", "second"]
    assert timers.now() == 1.5

    timers.advance(0.5)
    assert fired == ["first", "second", "late"]


def test_given_a_callback_that_schedules_another_when_advanced_past_both_then_both_fire_at_their_times() -> None:
    timers = ManualTimers()
    seen: list[float] = []

    def tick() -> None:
        seen.append(timers.now())
        if len(seen) < 4:
            timers.call_later(2.0, tick)  # 1, 3, 5, 7

    timers.call_later(1.0, tick)
    timers.advance(10)
    assert seen == [1.0, 3.0, 5.0, 7.0]
    assert timers.now() == 10


def test_given_a_cancelled_timer_when_due_then_it_does_not_fire() -> None:
    timers = ManualTimers()
    fired: list[int] = []
    handle = timers.call_later(1.0, fired.append, 1)
    timers.call_later(2.0, fired.append, 2)
    handle.cancel()
    assert timers.pending() == [2.0]

    timers.advance(5)
    assert fired == [2]
    assert timers.pending() == []


def test_given_nothing_due_when_advanced_then_the_clock_still_moves() -> None:
    timers = ManualTimers()
    timers.advance(0.25)
    timers.advance(0.25)
    assert timers.now() == 0.5


async def test_given_the_running_loop_when_a_timer_is_due_then_it_fires_with_its_arguments() -> None:
    timers = LoopTimers()
    done: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    start = timers.now()
    timers.call_later(0.01, done.set_result, "fired")
    cancelled = timers.call_later(0.01, done.set_result, "never")
    cancelled.cancel()

    assert await asyncio.wait_for(done, 5) == "fired"
    assert timers.now() >= start


def test_given_defaults_then_the_timers_are_rfc_3261s_for_udp() -> None:
    config = TimerConfig()
    assert (config.t1, config.t2, config.t4) == (0.5, 4.0, 5.0)
    assert config.timer_b == config.timer_f == config.timer_h == config.timer_j == 32.0
    assert config.timer_d == 32.0
    assert config.timer_i == config.timer_k == 5.0


def test_given_a_shorter_t1_then_the_timers_derived_from_it_shrink_with_it() -> None:
    config = TimerConfig(t1=0.01, t4=0.05)
    assert config.timer_b == config.timer_f == config.timer_h == config.timer_j == 0.64
    assert config.timer_i == config.timer_k == 0.05
