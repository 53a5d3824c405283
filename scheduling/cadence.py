"""Follow-up cadence and the field-visit streak (work-instruction 5.1.1, 5.3.1, 5.4.1.6). Pure.

A case's next due time follows from its state alone (never from when the job last ran), so a
job that runs late, twice, or after downtime computes the same answer:

- *effective* cases (reachable with a promise pending) and cases whose latest promise was
  broken are followed up every ``follow_up_days_effective`` days (daily); the others every
  ``follow_up_days_other`` days (every second day);
- the day counts from the local day of the case's last outbound attempt; a case never called
  is due from the day it was created; an earlier follow-up date the agent asked for in the
  last note wins; a case falling behind its minimum is due today;
- no case is due before overdue day ``callable_from_overdue_day`` (8);
- a due time outside the calling window moves to the next opening in the party's zone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from dialer.cases.models import CaseStatus, Contactability
from dialer.compliance.localtime import local_instant, next_opening
from dialer.kit.calendars import DayCalendar
from dialer.notes.models import PromiseStatus
from dialer.policy.document import Obligations, PolicyDocument

MIDNIGHT = dt.time(0)


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """What the cadence needs to know of one case."""

    case_id: int
    status: CaseStatus
    contactability: Contactability
    overdue_days: int
    overdue_as_of: dt.date
    created_at: dt.datetime
    last_attempt_at: dt.datetime | None = None
    """The last outbound attempt to any party of the case."""
    latest_promise: PromiseStatus | None = None
    """The status of the case's most recent promise to pay."""
    requested_follow_up: dt.date | None = None
    """The next follow-up date the agent wrote in the case's latest wrap-up note."""


def is_effective(facts: CaseFacts) -> bool:
    """Effective (有效案件): reachable with a promise pending."""
    return facts.contactability is Contactability.REACHABLE and facts.latest_promise is PromiseStatus.PENDING


def follow_up_days(facts: CaseFacts, obligations: Obligations) -> int | None:
    """Days between follow-ups; ``None`` when the policy sets no cadence for this kind of case.
    A broken promise puts the case back to the effective (daily) cadence."""
    if is_effective(facts) or facts.latest_promise is PromiseStatus.BROKEN:
        return obligations.follow_up_days_effective
    return obligations.follow_up_days_other


def callable_from(facts: CaseFacts, obligations: Obligations) -> dt.date:
    """The local date the case reaches (or reached) overdue day ``callable_from_overdue_day``."""
    return facts.overdue_as_of + dt.timedelta(days=obligations.callable_from_overdue_day - facts.overdue_days)


def next_follow_up(
    facts: CaseFacts, policy: PolicyDocument, tz: ZoneInfo, now: dt.datetime, *, behind: bool = False,
    calendar: DayCalendar | None = None,
) -> dt.datetime | None:
    """The instant the case is next due for a follow-up call, or ``None`` (closed case, no
    cadence set, or a calling window that never opens).

    The answer may lie in the past: an overdue case keeps its original due time, so the queue
    (ordered by due time) puts the longest-waiting case first. ``calendar``: the public holidays of
    the policy's window (None: the shipped data).
    """
    if facts.status is not CaseStatus.OPEN:
        return None
    obligations = policy.obligations
    days = follow_up_days(facts, obligations)
    if facts.last_attempt_at is None:
        due = facts.created_at
    elif days is None:
        due = None
    else:
        last_day = facts.last_attempt_at.astimezone(tz).date()
        due = local_instant(last_day + dt.timedelta(days=days), MIDNIGHT, tz)
        if facts.requested_follow_up is not None and facts.requested_follow_up > last_day:
            due = min(due, local_instant(facts.requested_follow_up, MIDNIGHT, tz))
    if behind:
        today = local_instant(now.astimezone(tz).date(), MIDNIGHT, tz)
        due = today if due is None else min(due, today)
    if due is None:
        return None
    due = max(due, local_instant(callable_from(facts, obligations), MIDNIGHT, tz))
    return next_opening(policy, due, tz, calendar=calendar)


# --- field visits ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NoContactStreak:
    first_day: dt.date
    days: int


def no_contact_streak(
    attempt_days: Collection[dt.date], contact_days: Collection[dt.date], today: dt.date,
) -> NoContactStreak | None:
    """The run of consecutive *completed* local days, ending yesterday, on which the case was
    called and nobody was reached. Today does not count until it is over (a call later today
    may still reach someone); a day without a call, or with a contact, ends the run."""
    day, count = today - dt.timedelta(days=1), 0
    while day in attempt_days and day not in contact_days:
        count += 1
        day -= dt.timedelta(days=1)
    if count == 0:
        return None
    return NoContactStreak(first_day=day + dt.timedelta(days=1), days=count)


def needs_field_visit(streak: NoContactStreak | None, obligations: Obligations) -> bool:
    limit = obligations.no_contact_days_before_field_visit
    return limit is not None and streak is not None and streak.days >= limit
