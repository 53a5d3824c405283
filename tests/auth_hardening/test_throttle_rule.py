"""The lockout rule, pure: N failures in the window lock the key, each further lockout doubles."""

from __future__ import annotations

import datetime as dt

from dialer.auth.throttle import Count, Rule, after_failure, after_success, locked_for

T0 = dt.datetime(2026, 12, 6, 9, 0, tzinfo=dt.UTC)
RULE = Rule(max_failures=5)
MIN = dt.timedelta(minutes=1)


def _fail(count: Count, times: int, at: dt.datetime) -> Count:
    for _ in range(times):
        count = after_failure(RULE, count, at)
    return count


def test_given_four_failures_then_not_locked_and_the_fifth_locks_for_five_minutes():
    count = _fail(Count(0, T0), 4, T0)
    assert locked_for(count, T0) == 0
    count = after_failure(RULE, count, T0 + MIN)
    assert count.locked_until == T0 + 6 * MIN and locked_for(count, T0 + MIN) == 300
    assert locked_for(count, T0 + 6 * MIN) == 0


def test_given_a_second_and_third_lockout_then_ten_then_twenty_minutes():
    first = _fail(Count(0, T0), 5, T0)
    second = _fail(first, 5, T0 + 6 * MIN)
    assert second.locked_until == T0 + 16 * MIN and second.lockouts == 2
    third = _fail(second, 5, T0 + 17 * MIN)
    assert third.locked_until == T0 + 37 * MIN and third.lockouts == 3


def test_given_failures_spread_wider_than_the_window_then_never_locked():
    count = Count(0, T0)
    for i in range(20):
        count = after_failure(RULE, count, T0 + i * 4 * MIN)  # 4 per 16 minutes
    assert count.locked_until is None


def test_given_a_long_quiet_after_a_lock_then_the_back_off_starts_again_from_five_minutes():
    locked = _fail(_fail(Count(0, T0), 5, T0), 5, T0 + 6 * MIN)  # two lockouts
    later = T0 + dt.timedelta(days=2)
    again = _fail(locked, 5, later)
    assert again.locked_until == later + 5 * MIN and again.lockouts == 1


def test_given_a_lock_as_long_as_can_be_then_capped_at_a_day():
    count = Count(0, T0, lockouts=30)
    count = _fail(count, 5, T0)
    assert count.locked_until == T0 + dt.timedelta(hours=24)


def test_given_a_success_then_the_count_starts_afresh():
    assert after_success(_fail(Count(0, T0), 4, T0)) == Count(0, T0)
