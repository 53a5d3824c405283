"""Promise-to-pay work (work-instruction 5.3.2): the reminder, the due-day calls, kept or broken. Pure.

- A reminder call ``ptp_reminder_working_days_before`` working day(s) before the due date, on
  the client's working calendar (``cn``: Chinese statutory calendar, holidays off and the
  adjusted weekend workdays on, as shipped and as the agency's admins entered it; a calendar
  with no data: Monday to Friday). It is due at the first due-day call time (09:00 by default)
  of that day, or the calling window's next opening (whose public holidays are ``holidays``).
- On the due date, one call at each of ``ptp_due_day_calls`` (morning, noon, evening), each due
  until the next one (the last until the day ends). A call time outside the calling window
  moves to the next opening; one that would leave the due date is dropped.
- A promise is *kept* when the payments made by the end of its due date (local) add up to its
  amount; *broken* once its due date has ended without that. A payment that arrives late in
  the file but was made in time still keeps the promise, even after it was marked broken.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from dialer.compliance.localtime import local_instant, next_opening
from dialer.kit.calendars import DayCalendar, resolve
from dialer.notes.models import PromiseStatus
from dialer.policy.document import PolicyDocument
from dialer.tasks.models import TaskKind

PRIORITY_PTP_DUE = 60
PRIORITY_PTP_REMINDER = 50


def previous_working_day(day: dt.date, calendar: str | DayCalendar, count: int = 1) -> dt.date:
    """The ``count``-th working day strictly before ``day`` (a calendar given by name: its shipped data)."""
    if count < 1:
        raise ValueError("count must be 1 or more")
    working = resolve(calendar)
    for _ in range(count):
        day -= dt.timedelta(days=1)
        while not working.is_working_day(day):
            day -= dt.timedelta(days=1)
    return day


def slot_name(clock: str) -> str:
    hour = int(clock[:2])
    return "morning" if hour < 11 else "noon" if hour < 15 else "evening"


@dataclass(frozen=True, slots=True)
class PlannedTask:
    kind: TaskKind
    dedupe_key: str
    due_at: dt.datetime
    due_until: dt.datetime
    priority: int
    reason: str


def reminder_key(promise_id: int) -> str:
    return f"ptp_reminder:{promise_id}"


def due_key(promise_id: int, clock: str) -> str:
    return f"{due_key_prefix(promise_id)}{clock}"


def due_key_prefix(promise_id: int) -> str:
    """What every due-day task key of one promise starts with (the colon keeps promise 5 from
    matching promise 51)."""
    return f"ptp_due:{promise_id}:"


def plan_promise_tasks(
    *, promise_id: int, due_date: dt.date, amount: Decimal, policy: PolicyDocument, tz: ZoneInfo,
    calendar: str | DayCalendar, holidays: DayCalendar | None = None,
) -> list[PlannedTask]:
    """Every call task a pending promise gets, in time order (the caller skips expired ones).

    ``calendar``: the client's working calendar; ``holidays``: the calendar of the policy's holiday
    window (None: the shipped data of the policy's ``holiday_calendar``)."""
    obligations = policy.obligations
    clocks = obligations.ptp_due_day_calls
    day_end = local_instant(due_date, None, tz)
    tasks: list[PlannedTask] = []
    if obligations.ptp_reminder_working_days_before is not None:
        day = previous_working_day(due_date, calendar, obligations.ptp_reminder_working_days_before)
        at = local_instant(day, dt.time.fromisoformat(clocks[0]) if clocks else dt.time(0), tz)
        opening = next_opening(policy, at, tz, calendar=holidays)
        if opening is not None and opening < local_instant(due_date, dt.time(0), tz):
            until = local_instant(opening.astimezone(tz).date(), None, tz)
            tasks.append(PlannedTask(
                TaskKind.PTP_REMINDER, reminder_key(promise_id), opening, until, PRIORITY_PTP_REMINDER,
                f"remind of the promise to pay {amount} due {due_date.isoformat()}",
            ))
    starts = [local_instant(due_date, dt.time.fromisoformat(clock), tz) for clock in clocks]
    for index, clock in enumerate(clocks):
        until = starts[index + 1] if index + 1 < len(starts) else day_end
        opening = next_opening(policy, starts[index], tz, calendar=holidays)
        if opening is None or opening >= day_end:
            continue
        tasks.append(PlannedTask(
            TaskKind.PTP_DUE, due_key(promise_id, clock), opening, max(until, opening + dt.timedelta(minutes=1)),
            PRIORITY_PTP_DUE, f"promise to pay {amount} due today: {slot_name(clock)} call ({clock})",
        ))
    return tasks


# --- kept or broken -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Settlement:
    status: PromiseStatus
    paid_amount: Decimal
    settled_at: dt.datetime | None


def settle(
    *, amount: Decimal, due_date: dt.date, payments: Iterable[tuple[Decimal, dt.datetime]], now: dt.datetime,
    tz: ZoneInfo,
) -> Settlement:
    """Whether a promise is kept, broken or still pending, from the payments made towards it."""
    deadline = local_instant(due_date, None, tz)
    total, on_time = Decimal("0"), Decimal("0")
    kept_at: dt.datetime | None = None
    for paid, paid_at in sorted(payments, key=lambda p: p[1]):
        total += paid
        if paid_at < deadline:
            on_time += paid
            if kept_at is None and on_time >= amount:
                kept_at = paid_at
    if kept_at is not None:
        return Settlement(PromiseStatus.KEPT, total, kept_at)
    if now >= deadline:
        return Settlement(PromiseStatus.BROKEN, total, deadline)
    return Settlement(PromiseStatus.PENDING, total, None)
