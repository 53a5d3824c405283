"""Minimum contact frequency (code of practice art. 8). Pure.

Contactable cases (reachable or partly lost) need ``min_calls_per_week_contactable`` calls in
each calendar week (Monday to Sunday, in the case's zone); lost-contact cases need
``min_calls_per_month_lost`` calls in each calendar month. A *call* is an outbound attempt to
any party of the case, whatever its outcome.

A case is *behind* when it has fewer calls than an even pace over the period would have
given by now (``floor(required × elapsed / length)``), or when it needs a call on every
day the calling window still opens in the period; it *will miss* the minimum when
something only a person can lift stands in the way (every party on the stop-contact list,
every number invalid, no number at all) or when the calling window does not open again
before the period ends. The minimum binds only once the case is callable (overdue day 8):
a case that becomes callable during a period owes a pro-rated share of it.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from dialer.cases.models import Contactability
from dialer.compliance.localtime import local_instant, next_opening, start_of_next_day
from dialer.kit.calendars import DayCalendar
from dialer.policy.document import PolicyDocument

MIDNIGHT = dt.time(0)
_TITLES = {"stop_contact": "blocked by stop-contact", "numbers_invalid": "every number invalid",
           "no_numbers": "no phone number"}


@dataclass(frozen=True, slots=True)
class Period:
    kind: str  # "week" | "month"
    key: str  # "2026-W48" | "2026-11"
    start: dt.datetime
    end: dt.datetime  # exclusive
    required: int


@dataclass(frozen=True, slots=True)
class PartyReach:
    """Whether one party of the case can be called at all, and if not, why."""

    party_id: int
    name: str
    role: str
    numbers: int
    valid_numbers: int
    stop: str | None = None
    """The reason of an active stop-contact entry on the party, its id number or a number."""


@dataclass(frozen=True, slots=True)
class Reason:
    code: str  # stop_contact | numbers_invalid | no_numbers | no_calling_time
    message: str


@dataclass(frozen=True, slots=True)
class Shortfall:
    period: Period
    required: int
    """The period's minimum, pro-rated when the case became callable during the period."""
    made: int
    expected_by_now: int
    behind: bool
    will_miss: bool
    callable_days_left: int
    reasons: tuple[Reason, ...] = ()

    @property
    def missing(self) -> int:
        return max(0, self.required - self.made)

    @property
    def priority(self) -> int:
        """Task priority: the further behind and the fewer days left, the higher."""
        tight = self.missing >= self.callable_days_left
        return 30 + 10 * max(0, self.expected_by_now - self.made) + (20 if tight else 0)

    def summary(self) -> str:
        head = f"{self.made} of {self.required} calls in {self.period.key}"
        if self.reasons:
            return f"will miss the minimum ({head}): " + "; ".join(r.message for r in self.reasons)
        if self.will_miss:
            return f"will miss the minimum ({head})"
        return f"behind the minimum ({head}, {self.expected_by_now} expected by now)"


def period_for(contactability: Contactability, policy: PolicyDocument, now: dt.datetime, tz: ZoneInfo) -> Period | None:
    """The period the case's minimum is counted in, or ``None`` when the policy sets none."""
    today = now.astimezone(tz).date()
    obligations = policy.obligations
    if contactability is Contactability.LOST:
        required = obligations.min_calls_per_month_lost
        first = today.replace(day=1)
        following = (first + dt.timedelta(days=32)).replace(day=1)
        kind, key = "month", f"{first:%Y-%m}"
    else:
        required = obligations.min_calls_per_week_contactable
        first = today - dt.timedelta(days=today.weekday())
        following = first + dt.timedelta(days=7)
        year, week, _ = first.isocalendar()
        kind, key = "week", f"{year}-W{week:02d}"
    if required is None:
        return None
    return Period(kind, key, local_instant(first, MIDNIGHT, tz), local_instant(following, MIDNIGHT, tz), required)


def callable_days_left(
    policy: PolicyDocument, tz: ZoneInfo, since: dt.datetime, until: dt.datetime, *, calendar: DayCalendar | None = None,
) -> int:
    """Local days in ``[since, until)`` on which the calling window is (still) open (``calendar``: the
    public holidays of the policy's window; None: the shipped data)."""
    count, at = 0, since
    while at < until:
        opening = next_opening(policy, at, tz, calendar=calendar)
        if opening is None or opening >= until:
            break
        count += 1
        at = start_of_next_day(opening, tz)
    return count


def blocking_reasons(
    parties: Sequence[PartyReach], *, stop_contact: bool = True, invalid_number: bool = True,
) -> tuple[Reason, ...]:
    """Why no party of the case can be called; empty when at least one can.
    ``stop_contact``/``invalid_number`` mirror the policy switches of those rules."""
    by_code: dict[str, list[str]] = {}
    for party in parties:
        if stop_contact and party.stop is not None:
            by_code.setdefault("stop_contact", []).append(f"{party.name} ({party.stop})")
        elif party.numbers == 0:
            by_code.setdefault("no_numbers", []).append(party.name)
        elif invalid_number and party.valid_numbers == 0:
            by_code.setdefault("numbers_invalid", []).append(f"{party.name} ({party.numbers} invalid)")
        else:
            return ()
    if not parties:
        return (Reason("no_numbers", "the case has no party to call"),)
    return tuple(Reason(code, f"{_TITLES[code]}: {', '.join(names)}") for code, names in by_code.items())


def assess(
    *, period: Period, made: int, now: dt.datetime, policy: PolicyDocument, tz: ZoneInfo,
    callable_from: dt.date, blockers: Sequence[Reason] = (), calendar: DayCalendar | None = None,
) -> Shortfall | None:
    """The case's shortfall in ``period`` as of ``now``; ``None`` when it is on track.

    The minimum binds from the day the case becomes callable (overdue day rule): none before,
    and pro-rated (rounded up) over what is left of the period when that day falls inside it."""
    start = max(period.start, local_instant(callable_from, MIDNIGHT, tz))
    if start >= period.end:
        return None
    length = period.end - start
    required = math.ceil(period.required * (length / (period.end - period.start)) - 1e-9)
    if made >= required:
        return None
    elapsed = (min(max(now, start), period.end) - start) / length
    expected = math.floor(required * elapsed + 1e-9)
    reasons = list(blockers)
    days_left = callable_days_left(policy, tz, max(now, start), period.end, calendar=calendar)
    if days_left == 0 and not reasons:
        reasons.append(Reason("no_calling_time", f"the calling window does not open again before {period.key} ends"))
    will_miss = bool(reasons)
    behind = made < expected or 0 < days_left <= required - made
    if not (behind or will_miss):
        return None
    return Shortfall(period, required, made, expected, behind, will_miss, days_left, tuple(reasons))
