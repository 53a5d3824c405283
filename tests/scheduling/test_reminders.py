"""Promise-to-pay reminders on working days, due-day calls, kept and broken (pure).

Chinese calendar facts used (chinese-calendar data for 2026):
- Dragon Boat Festival: Fri 2026-06-19 to Sun 06-21 off; Mon 06-22 is the first working day.
- Spring Festival: Sat 02-14 is an adjusted workday; Sun 02-15 to Mon 02-23 off.
- National Day: Thu 10-01 to Wed 10-07 off; Sat 10-10 and Sun 09-20 are adjusted workdays.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from dialer.notes.models import PromiseStatus
from dialer.policy.presets import build_policy
from dialer.tasks.models import TaskKind
from scheduling.reminders import plan_promise_tasks, previous_working_day, settle, slot_name

SH = ZoneInfo("Asia/Shanghai")
AGENCY = build_policy("agency-default", {})
D = dt.date


def at(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=SH)


@pytest.mark.parametrize(("due", "reminder", "why"), [
    (D(2026, 6, 22), D(2026, 6, 18), "Monday after the Dragon Boat holiday: the Thursday before it"),
    (D(2026, 2, 24), D(2026, 2, 14), "first day after Spring Festival: the adjusted Saturday workday"),
    (D(2026, 10, 12), D(2026, 10, 10), "Monday after National Day week: the adjusted Saturday workday"),
    (D(2026, 10, 10), D(2026, 10, 9), "due on an adjusted Saturday workday: the Friday before"),
    (D(2026, 9, 21), D(2026, 9, 20), "Monday after an adjusted Sunday workday: that Sunday"),
    (D(2026, 11, 23), D(2026, 11, 20), "an ordinary Monday: the Friday before"),
    (D(2026, 10, 4), D(2026, 9, 30), "due on a holiday: the last working day before it"),
])
def test_reminder_is_one_chinese_working_day_before_the_due_date(due: dt.date, reminder: dt.date, why: str) -> None:
    assert previous_working_day(due, "cn") == reminder, why


def test_other_calendars_use_monday_to_friday() -> None:
    assert previous_working_day(D(2026, 10, 12), "none") == D(2026, 10, 9)
    assert previous_working_day(D(2026, 6, 22), "us") == D(2026, 6, 19)
    assert previous_working_day(D(2026, 11, 25), "cn", 2) == D(2026, 11, 23)


def test_given_pending_promise_then_reminder_and_morning_noon_evening_calls() -> None:
    tasks = plan_promise_tasks(
        promise_id=7, due_date=D(2026, 6, 22), amount=Decimal("500.00"), policy=AGENCY, tz=SH, calendar="cn",
    )
    assert [(t.kind, t.dedupe_key, t.due_at, t.due_until) for t in tasks] == [
        (TaskKind.PTP_REMINDER, "ptp_reminder:7", at(2026, 6, 18, 9), at(2026, 6, 19)),
        (TaskKind.PTP_DUE, "ptp_due:7:09:00", at(2026, 6, 22, 9), at(2026, 6, 22, 12, 30)),
        (TaskKind.PTP_DUE, "ptp_due:7:12:30", at(2026, 6, 22, 12, 30), at(2026, 6, 22, 18, 30)),
        (TaskKind.PTP_DUE, "ptp_due:7:18:30", at(2026, 6, 22, 18, 30), at(2026, 6, 23)),
    ]
    assert [slot_name(clock) for clock in AGENCY.obligations.ptp_due_day_calls] == ["morning", "noon", "evening"]
    assert "noon call" in tasks[2].reason and "500.00" in tasks[2].reason


def test_given_narrow_window_then_due_day_calls_move_into_it_and_one_outside_the_day_is_dropped() -> None:
    window = {day: [{"start": "09:30", "end": "18:00"}] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    policy = build_policy("agency-default", {"calling_window": {"weekdays": window}})
    tasks = plan_promise_tasks(promise_id=1, due_date=D(2026, 11, 25), amount=Decimal("1"), policy=policy, tz=SH,
                               calendar="cn")
    assert [(t.dedupe_key, t.due_at) for t in tasks] == [
        ("ptp_reminder:1", at(2026, 11, 24, 9, 30)),
        ("ptp_due:1:09:00", at(2026, 11, 25, 9, 30)),
        ("ptp_due:1:12:30", at(2026, 11, 25, 12, 30)),
    ]  # 18:30 is after the window closes and the next opening is the day after: dropped


def test_given_client_clock_times_then_slots_follow_the_policy() -> None:
    policy = build_policy("agency-default", {"obligations": {"ptp_due_day_calls": ["20:00", "10:00"],
                                                             "ptp_reminder_working_days_before": None}})
    tasks = plan_promise_tasks(promise_id=3, due_date=D(2026, 11, 25), amount=Decimal("1"), policy=policy, tz=SH,
                               calendar="cn")
    assert [t.dedupe_key for t in tasks] == ["ptp_due:3:10:00", "ptp_due:3:20:00"]


# --- kept or broken --------------------------------------------------------------------------


def test_given_payments_reaching_the_amount_by_the_due_date_then_kept_when_completed() -> None:
    result = settle(amount=Decimal("1000.00"), due_date=D(2026, 11, 25), now=at(2026, 11, 25, 15), tz=SH,
                    payments=[(Decimal("600.00"), at(2026, 11, 24, 10)), (Decimal("400.00"), at(2026, 11, 25, 14))])
    assert (result.status, result.paid_amount, result.settled_at) == (PromiseStatus.KEPT, Decimal("1000.00"), at(2026, 11, 25, 14))


def test_given_short_payment_then_pending_until_the_due_day_ends_then_broken() -> None:
    payments = [(Decimal("600.00"), at(2026, 11, 25, 10))]
    pending = settle(amount=Decimal("1000.00"), due_date=D(2026, 11, 25), payments=payments, now=at(2026, 11, 25, 23, 59), tz=SH)
    broken = settle(amount=Decimal("1000.00"), due_date=D(2026, 11, 25), payments=payments, now=at(2026, 11, 26), tz=SH)
    assert (pending.status, pending.settled_at) == (PromiseStatus.PENDING, None)
    assert (broken.status, broken.paid_amount, broken.settled_at) == (PromiseStatus.BROKEN, Decimal("600.00"), at(2026, 11, 26))


def test_given_late_payment_then_still_broken_but_an_on_time_payment_imported_late_keeps_it() -> None:
    late = settle(amount=Decimal("10"), due_date=D(2026, 11, 25), payments=[(Decimal("10"), at(2026, 11, 26, 9))],
                  now=at(2026, 11, 26, 10), tz=SH)
    on_time = settle(amount=Decimal("10"), due_date=D(2026, 11, 25), payments=[(Decimal("10"), at(2026, 11, 25, 23, 30))],
                     now=at(2026, 11, 27, 10), tz=SH)
    assert late.status is PromiseStatus.BROKEN
    assert on_time.status is PromiseStatus.KEPT
