"""Follow-up cadence and its due times around the calling window (pure, injected instants)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from dialer.cases.models import CaseStatus, Contactability
from dialer.notes.models import PromiseStatus
from dialer.policy.presets import build_policy
from scheduling.cadence import (
    CaseFacts, callable_from, follow_up_days, needs_field_visit, next_follow_up, no_contact_streak,
)

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")
AGENCY = build_policy("agency-default", {})
D = dt.date


def at(*parts: int, tz: ZoneInfo = SH) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=tz)


def facts(**overrides) -> CaseFacts:
    values = dict(
        case_id=1, status=CaseStatus.OPEN, contactability=Contactability.REACHABLE, overdue_days=45,
        overdue_as_of=D(2026, 11, 1), created_at=at(2026, 11, 1, 10),
    )
    return CaseFacts(**{**values, **overrides})


NOW = at(2026, 11, 24, 10)  # a Tuesday


def test_given_reachable_case_with_pending_promise_then_followed_up_daily() -> None:
    case = facts(latest_promise=PromiseStatus.PENDING, last_attempt_at=at(2026, 11, 24, 9, 30))
    assert follow_up_days(case, AGENCY.obligations) == 1
    assert next_follow_up(case, AGENCY, SH, NOW) == at(2026, 11, 25, 8)


@pytest.mark.parametrize("case", [
    facts(),  # reachable, no promise
    facts(contactability=Contactability.LOST, latest_promise=PromiseStatus.PENDING),  # not reachable
    facts(latest_promise=PromiseStatus.KEPT),
])
def test_given_other_cases_then_followed_up_every_second_day(case: CaseFacts) -> None:
    case = CaseFacts(**{**{f: getattr(case, f) for f in case.__slots__}, "last_attempt_at": at(2026, 11, 24, 9, 30)})
    assert follow_up_days(case, AGENCY.obligations) == 2
    assert next_follow_up(case, AGENCY, SH, NOW) == at(2026, 11, 26, 8)


def test_given_broken_promise_then_back_to_daily_follow_up() -> None:
    case = facts(contactability=Contactability.PARTLY_LOST, latest_promise=PromiseStatus.BROKEN,
                 last_attempt_at=at(2026, 11, 24, 9, 30))
    assert next_follow_up(case, AGENCY, SH, NOW) == at(2026, 11, 25, 8)


def test_given_call_at_2159_local_then_next_day_counts_from_the_local_date_not_utc() -> None:
    # 21:59 Shanghai is 13:59 UTC, the same date; 00:30 Shanghai is the previous day in UTC.
    late = facts(latest_promise=PromiseStatus.PENDING, last_attempt_at=at(2026, 11, 24, 21, 59))
    early = facts(latest_promise=PromiseStatus.PENDING, last_attempt_at=at(2026, 11, 24, 0, 30))
    assert next_follow_up(late, AGENCY, SH, NOW) == at(2026, 11, 25, 8)
    assert next_follow_up(early, AGENCY, SH, NOW) == at(2026, 11, 25, 8)


def test_given_narrow_window_and_closed_sunday_then_due_moves_to_next_opening() -> None:
    window = {day: [{"start": "09:30", "end": "18:00"}] for day in ("mon", "tue", "wed", "thu", "fri", "sat")}
    policy = build_policy("agency-default", {"calling_window": {"weekdays": {**window, "sun": []}}})
    saturday_call = facts(latest_promise=PromiseStatus.PENDING, last_attempt_at=at(2026, 11, 28, 17, 59))
    # Daily cadence → Sunday 29th, closed all day → Monday 09:30.
    assert next_follow_up(saturday_call, policy, SH, at(2026, 11, 28, 18)) == at(2026, 11, 30, 9, 30)


def test_given_party_zone_then_opening_is_local_to_the_party() -> None:
    case = facts(latest_promise=PromiseStatus.PENDING, last_attempt_at=at(2026, 11, 24, 15, tz=NY))
    due = next_follow_up(case, AGENCY, NY, NOW)
    assert due == at(2026, 11, 25, 8, tz=NY)
    assert due.astimezone(SH).hour == 21  # 21:00 in Shanghai: the agent's clock is irrelevant


def test_given_dst_start_then_next_opening_is_0800_new_local_time() -> None:
    case = facts(latest_promise=PromiseStatus.PENDING, last_attempt_at=at(2026, 3, 7, 12, tz=NY),
                 overdue_as_of=D(2026, 2, 1), created_at=at(2026, 2, 1, 9))
    assert next_follow_up(case, AGENCY, NY, at(2026, 3, 7, 13, tz=NY)) == at(2026, 3, 8, 8, tz=NY)
    assert at(2026, 3, 8, 8, tz=NY).utcoffset() == dt.timedelta(hours=-4)


def test_given_case_below_overdue_day_8_then_due_only_from_day_8() -> None:
    case = facts(overdue_days=3, overdue_as_of=D(2026, 11, 24), created_at=at(2026, 11, 24, 9))
    assert callable_from(case, AGENCY.obligations) == D(2026, 11, 29)
    assert next_follow_up(case, AGENCY, SH, NOW) == at(2026, 11, 29, 8)


def test_given_never_called_case_then_due_at_first_opening_after_creation() -> None:
    case = facts(created_at=at(2026, 11, 23, 23, 15))
    assert next_follow_up(case, AGENCY, SH, NOW) == at(2026, 11, 24, 8)


def test_given_overdue_follow_up_then_original_due_time_kept_for_queue_order() -> None:
    case = facts(last_attempt_at=at(2026, 11, 18, 10))
    assert next_follow_up(case, AGENCY, SH, NOW) == at(2026, 11, 20, 8)


def test_given_agent_asked_for_earlier_date_then_it_wins_but_a_later_one_does_not() -> None:
    earlier = facts(last_attempt_at=at(2026, 11, 24, 10), requested_follow_up=D(2026, 11, 25))
    later = facts(last_attempt_at=at(2026, 11, 24, 10), requested_follow_up=D(2026, 12, 5))
    assert next_follow_up(earlier, AGENCY, SH, NOW) == at(2026, 11, 25, 8)
    assert next_follow_up(later, AGENCY, SH, NOW) == at(2026, 11, 26, 8)


def test_given_case_behind_its_minimum_then_due_today() -> None:
    case = facts(last_attempt_at=at(2026, 11, 24, 9))
    assert next_follow_up(case, AGENCY, SH, NOW) == at(2026, 11, 26, 8)
    # Due from today's opening (already past: due now), the same answer all day long.
    assert next_follow_up(case, AGENCY, SH, NOW, behind=True) == at(2026, 11, 24, 8)
    assert next_follow_up(case, AGENCY, SH, at(2026, 11, 24, 23), behind=True) == at(2026, 11, 24, 8)


def test_given_closed_case_then_no_follow_up() -> None:
    assert next_follow_up(facts(status=CaseStatus.PAID), AGENCY, SH, NOW) is None


def test_same_state_gives_same_due_time_whenever_the_job_runs() -> None:
    case = facts(last_attempt_at=at(2026, 11, 20, 10))
    answers = {next_follow_up(case, AGENCY, SH, NOW + dt.timedelta(hours=h)) for h in range(0, 72, 5)}
    assert answers == {at(2026, 11, 22, 8)}


# --- field visits -----------------------------------------------------------------------------


def days(*numbers: int) -> set[dt.date]:
    return {D(2026, 11, n) for n in numbers}


def test_given_three_called_days_without_contact_then_field_visit() -> None:
    streak = no_contact_streak(days(21, 22, 23, 24), set(), D(2026, 11, 24))
    assert (streak.first_day, streak.days) == (D(2026, 11, 21), 3)  # today (24th) not over yet
    assert needs_field_visit(streak, AGENCY.obligations)


@pytest.mark.parametrize(("called", "reached"), [
    (days(22, 23), set()),  # two days only
    (days(21, 22, 23), days(22)),  # contact in between
    (days(20, 21, 23), set()),  # a day without a call breaks the run
])
def test_given_no_run_of_three_then_no_field_visit(called: set[dt.date], reached: set[dt.date]) -> None:
    assert not needs_field_visit(no_contact_streak(called, reached, D(2026, 11, 24)), AGENCY.obligations)
