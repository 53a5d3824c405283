"""The inbox's retry policies: exponential delays per attempt, capped, optionally jittered."""

from __future__ import annotations

import datetime as dt

import pytest

from webhooks.retry_policy import FAILED, WAITING, RetryPolicy


def seconds(policy: RetryPolicy, attempts: int) -> float:
    return policy.delay(attempts).total_seconds()


def test_given_failures_then_the_delay_doubles_from_5_s_up_to_an_hour():
    assert [seconds(FAILED, n) for n in range(11)] == [5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600]
    assert FAILED.delay(0) == dt.timedelta(seconds=5)


def test_given_a_waiting_event_then_the_delay_doubles_from_half_a_second_up_to_an_hour():
    assert [seconds(WAITING, n) for n in range(4)] == [0.5, 1, 2, 4]
    assert seconds(WAITING, 12) == 2048 and seconds(WAITING, 13) == 3600


@pytest.mark.parametrize("policy", [FAILED, WAITING])
def test_given_any_attempt_count_then_the_delay_is_todays_and_never_past_the_cap(policy):
    for attempts in range(60):
        assert seconds(policy, attempts) == min(3600.0, policy.first_s * 2**attempts)
    assert seconds(policy, 5000) == 3600, "an event failing for weeks: still the cap, no overflow"


def test_given_jitter_then_that_fraction_of_the_delay_is_drawn_at_random():
    policy = RetryPolicy(first_s=10.0, cap_s=100.0, factor=3.0, jitter=0.5)

    assert all(15 <= seconds(policy, 1) <= 30 for _ in range(100))
    assert policy.delay(1, rand=lambda: 0.0) == dt.timedelta(seconds=30)
    assert policy.delay(1, rand=lambda: 1.0) == dt.timedelta(seconds=15)
    assert policy.delay(9, rand=lambda: 0.0) == dt.timedelta(seconds=100)


@pytest.mark.parametrize("options", [
    {"first_s": 0, "cap_s": 1}, {"first_s": 2, "cap_s": 1}, {"first_s": 1, "cap_s": 2, "factor": 0.5},
    {"first_s": 1, "cap_s": 2, "jitter": 1.5}])
def test_given_a_nonsensical_policy_then_refused(options):
    with pytest.raises(ValueError):
        RetryPolicy(**options)
