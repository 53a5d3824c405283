"""Minimum contact frequency: periods, pace, and the cases that will miss it (pure)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from dialer.cases.models import Contactability
from dialer.policy.presets import build_policy
from scheduling.minimums import PartyReach, assess, blocking_reasons, callable_days_left, period_for

SH = ZoneInfo("Asia/Shanghai")
AGENCY = build_policy("agency-default", {})
D = dt.date


def at(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=SH)


def party(name: str = "张三", *, numbers: int = 1, valid: int = 1, stop: str | None = None, pid: int = 1) -> PartyReach:
    return PartyReach(party_id=pid, name=name, role="debtor", numbers=numbers, valid_numbers=valid, stop=stop)


def test_given_contactable_case_then_counted_per_local_calendar_week() -> None:
    period = period_for(Contactability.REACHABLE, AGENCY, at(2026, 11, 24, 10), SH)
    assert (period.kind, period.key, period.required) == ("week", "2026-W48", 3)
    assert (period.start, period.end) == (at(2026, 11, 23), at(2026, 11, 30))
    partly = period_for(Contactability.PARTLY_LOST, AGENCY, at(2026, 11, 29, 23, 59), SH)
    assert partly.key == "2026-W48"


def test_given_lost_contact_case_then_counted_per_calendar_month() -> None:
    period = period_for(Contactability.LOST, AGENCY, at(2026, 12, 31, 23), SH)
    assert (period.kind, period.key, period.required) == ("month", "2026-12", 4)
    assert (period.start, period.end) == (at(2026, 12, 1), at(2027, 1, 1))


def test_given_policy_without_minimum_then_no_period() -> None:
    policy = build_policy("agency-default", {"obligations": {"min_calls_per_month_lost": None}})
    assert period_for(Contactability.LOST, policy, at(2026, 11, 24), SH) is None


def _assess(now: dt.datetime, made: int, *, contactability=Contactability.REACHABLE, blockers=(), callable_from=D(2026, 1, 1)):
    period = period_for(contactability, AGENCY, now, SH)
    return assess(period=period, made=made, now=now, policy=AGENCY, tz=SH, callable_from=callable_from, blockers=blockers)


def test_given_even_pace_then_on_track_and_behind_when_slower() -> None:
    # Thursday noon: 3.5 of 7 days gone → floor(1.5) = 1 call expected by now.
    thursday = at(2026, 11, 26, 12)
    assert _assess(thursday, 1) is None
    behind = _assess(thursday, 0)
    assert behind.behind and not behind.will_miss
    assert (behind.expected_by_now, behind.missing, behind.callable_days_left) == (1, 3, 4)
    assert behind.summary() == "behind the minimum (0 of 3 calls in 2026-W48, 1 expected by now)"
    assert _assess(at(2026, 11, 23, 10), 0) is None  # Monday morning: nothing expected yet
    assert _assess(at(2026, 11, 29, 21), 3) is None  # minimum met


def test_given_sunday_evening_with_two_calls_then_behind_with_one_day_left_and_high_priority() -> None:
    late = _assess(at(2026, 11, 29, 20), 2)
    assert late.behind and not late.will_miss and late.callable_days_left == 1
    assert (late.expected_by_now, late.priority) == (2, 50)  # even pace met, but no day to spare
    assert _assess(at(2026, 11, 26, 12), 0).priority == 40  # one call behind, days to spare


def test_given_window_closed_for_the_rest_of_the_period_then_will_miss() -> None:
    result = _assess(at(2026, 11, 29, 22, 30), 2)
    assert result.will_miss and [r.code for r in result.reasons] == ["no_calling_time"]


def test_given_lost_contact_case_behind_in_the_month() -> None:
    result = _assess(at(2026, 11, 20, 12), 1, contactability=Contactability.LOST)
    assert result.behind and result.expected_by_now == 2 and result.period.key == "2026-11"


def test_given_case_not_yet_callable_then_no_minimum_and_pro_rated_from_the_day_it_becomes_callable() -> None:
    assert _assess(at(2026, 11, 24, 10), 0, callable_from=D(2026, 11, 30)) is None
    # Callable from Friday: 3 of 7 days left → ceil(3 × 3/7) = 2 calls, paced from Friday.
    assert _assess(at(2026, 11, 27, 12), 0, callable_from=D(2026, 11, 27)) is None
    saturday = _assess(at(2026, 11, 28, 16), 0, callable_from=D(2026, 11, 27))
    assert (saturday.required, saturday.expected_by_now, saturday.behind) == (2, 1, True)
    assert saturday.summary() == "behind the minimum (0 of 2 calls in 2026-W48, 1 expected by now)"


def test_given_every_party_stopped_or_without_valid_number_then_reasons_name_them() -> None:
    reasons = blocking_reasons([
        party("张三", stop="client list: 客户要求停催"), party("李四", numbers=2, valid=0, pid=2),
    ])
    assert [(r.code, r.message) for r in reasons] == [
        ("stop_contact", "blocked by stop-contact: 张三 (client list: 客户要求停催)"),
        ("numbers_invalid", "every number invalid: 李四 (2 invalid)"),
    ]
    result = _assess(at(2026, 11, 24, 10), 0, blockers=reasons)
    assert result.will_miss and not result.behind
    assert result.summary().startswith("will miss the minimum (0 of 3 calls in 2026-W48): blocked by stop-contact")


def test_given_one_callable_party_then_no_blocker() -> None:
    assert blocking_reasons([party("张三", stop="hostile: 骂人"), party("李四", pid=2)]) == ()


def test_given_stop_rule_switched_off_then_stop_entries_do_not_block() -> None:
    assert blocking_reasons([party(stop="client list: x")], stop_contact=False) == ()
    assert [r.code for r in blocking_reasons([party(numbers=0, valid=0)])] == ["no_numbers"]


def test_callable_days_left_counts_days_the_window_still_opens() -> None:
    assert callable_days_left(AGENCY, SH, at(2026, 11, 24, 21, 59), at(2026, 11, 30)) == 6
    assert callable_days_left(AGENCY, SH, at(2026, 11, 24, 22), at(2026, 11, 30)) == 5
