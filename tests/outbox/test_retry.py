"""The retry schedule and the decision on each answer: pure values, no clock, no network."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from dialer.outbox.retry import (
    MAX_ATTEMPTS, RETRY_AFTER_CAP, SCHEDULE, Outcome, Verdict, decide, delay, parse_retry_after,
)

NOW = dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.timezone.utc)
S = dt.timedelta(seconds=1)
THREE_DAYS = dt.timedelta(days=3)


def fixed(value: float):
    return lambda: value


def test_given_the_schedule_then_it_climbs_from_5_s_to_12_h_and_spans_more_than_three_days():
    assert [int(step.total_seconds()) for step in SCHEDULE] == [
        5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800, *[43200] * 6]
    assert MAX_ATTEMPTS == 16
    assert sum(SCHEDULE, dt.timedelta()) == dt.timedelta(days=3, hours=15, minutes=42, seconds=35)


def test_given_jitter_then_it_only_lengthens_a_wait_by_up_to_a_quarter():
    assert delay(1, rand=fixed(0.0)) == 5 * S
    assert delay(1, rand=fixed(0.5)) == dt.timedelta(seconds=5.625)
    assert delay(1, rand=fixed(0.999999)) < 6.25 * S
    assert delay(9, rand=fixed(0.0)) == dt.timedelta(hours=8)
    assert delay(40, rand=fixed(0.0)) == dt.timedelta(hours=12), "past the schedule: its last step"


@given(st.lists(st.floats(min_value=0.0, max_value=0.999999), min_size=MAX_ATTEMPTS, max_size=MAX_ATTEMPTS),
       st.lists(st.one_of(st.none(), st.integers(min_value=0, max_value=200_000)), min_size=MAX_ATTEMPTS,
                max_size=MAX_ATTEMPTS),
       st.sampled_from([None, 500, 429, 503, 404]))
def test_given_any_jitter_and_any_retry_after_when_every_attempt_fails_then_death_comes_after_three_days(
        draws, retry_afters, status):
    at, first = NOW, NOW
    for attempt in range(1, MAX_ATTEMPTS + 1):
        wait = None if retry_afters[attempt - 1] is None else parse_retry_after(str(retry_afters[attempt - 1]), now=at)
        outcome = decide(status, "timeout" if status is None else None, attempt, wait, at,
                         rand=fixed(draws[attempt - 1]))
        if attempt < MAX_ATTEMPTS:
            assert outcome.verdict is Verdict.RETRY and outcome.retry_at is not None and outcome.retry_at > at
            at = outcome.retry_at
        else:
            assert outcome == Outcome(Verdict.DEAD)
    assert at - first >= THREE_DAYS


def test_given_a_2xx_then_delivered_whatever_the_attempt():
    for status in (200, 202, 204, 299):
        assert decide(status, None, MAX_ATTEMPTS, None, NOW) == Outcome(Verdict.DELIVERED)


def test_given_410_then_the_endpoint_is_gone_and_no_retry_is_spent():
    outcome = decide(410, None, 3, None, NOW)
    assert outcome == Outcome(Verdict.GONE) and not outcome.counts_as_attempt
    assert decide(410, None, MAX_ATTEMPTS, None, NOW).verdict is Verdict.GONE, "gone, not dead"


def test_given_no_answer_or_an_error_status_then_retried_per_schedule():
    assert decide(None, "timeout after 10 s", 1, None, NOW, rand=fixed(0.0)) == Outcome(Verdict.RETRY, NOW + 5 * S)
    assert decide(500, None, 2, None, NOW, rand=fixed(0.0)) == Outcome(Verdict.RETRY, NOW + 30 * S)
    assert decide(404, None, 5, None, NOW, rand=fixed(0.0)).retry_at == NOW + dt.timedelta(minutes=30)
    assert decide(301, None, 1, None, NOW, rand=fixed(0.0)).verdict is Verdict.RETRY, "redirects are not followed"
    assert decide(500, None, MAX_ATTEMPTS - 1, None, NOW).verdict is Verdict.RETRY


def test_given_the_last_attempt_fails_then_dead():
    assert decide(500, None, MAX_ATTEMPTS, None, NOW) == Outcome(Verdict.DEAD)
    assert decide(None, "ConnectError: refused", MAX_ATTEMPTS, None, NOW) == Outcome(Verdict.DEAD)


def test_given_429_or_503_with_retry_after_then_not_before_it_nor_before_the_schedule():
    assert decide(429, None, 1, 120 * S, NOW, rand=fixed(0.0)).retry_at == NOW + 120 * S
    assert decide(503, None, 1, 120 * S, NOW, rand=fixed(0.0)).retry_at == NOW + 120 * S
    assert decide(429, None, 3, 10 * S, NOW, rand=fixed(0.0)).retry_at == NOW + 120 * S, "the schedule is later"
    assert decide(500, None, 1, 120 * S, NOW, rand=fixed(0.0)).retry_at == NOW + 5 * S, "heeded on 429/503 only"
    assert decide(429, None, 1, dt.timedelta(days=9), NOW).retry_at == NOW + RETRY_AFTER_CAP


def test_given_retry_after_in_seconds_then_that_wait_within_one_second_and_a_day():
    assert parse_retry_after("120", now=NOW) == 120 * S
    assert parse_retry_after(" 7 ", now=NOW) == 7 * S
    assert parse_retry_after("0", now=NOW) == S
    assert parse_retry_after("999999", now=NOW) == dt.timedelta(hours=24)


def test_given_retry_after_as_an_http_date_then_the_wait_until_it():
    assert parse_retry_after("Fri, 04 Dec 2026 09:05:00 GMT", now=NOW) == dt.timedelta(minutes=5)
    assert parse_retry_after("Fri, 04 Dec 2026 08:00:00 GMT", now=NOW) == S, "a past date: the floor"
    assert parse_retry_after("Sun, 06 Dec 2026 09:00:00 GMT", now=NOW) == dt.timedelta(hours=24), "capped"


def test_given_no_or_an_unreadable_retry_after_then_none():
    for value in (None, "", "  ", "soon", "-5", "1.5", "Fri, 99 Foo 2026"):
        assert parse_retry_after(value, now=NOW) is None, value
