"""Regulation F's periods of consecutive local calendar days (12 CFR 1006.14(b)(2)), counted in
every plausible zone of the called party. Pure: instants and zone names in, values out; the rules
(:mod:`dialer.compliance.rules`) word the refusals."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from dialer.compliance.localtime import local_instant, zone

WEEK = 7  # 1006.14(b)(2)(i): "more than seven calls within a period of seven consecutive days"


def local_days(instants: Iterable[dt.datetime], tz: ZoneInfo) -> Counter[int]:
    """How many of ``instants`` fall on each local calendar day in ``tz`` (by the day's ordinal)."""
    return Counter(instant.astimezone(tz).toordinal() for instant in instants)


def busiest_period(days: Counter[int], day: int, length: int) -> tuple[int, int]:
    """The most items on one period of ``length`` consecutive days that includes ``day`` (an
    ordinal), and the first day of that period (the earliest such period on a tie)."""
    first = day - length + 1
    span = [days[first + i] for i in range(2 * length - 1)]  # the days any such period can cover
    count = sum(span[:length])
    best = (count, first)
    for i in range(1, length):  # slide the period one day later
        count += span[i + length - 1] - span[i - 1]
        if count > best[0]:
            best = (count, first + i)
    return best


def day_starts(at: dt.datetime, tz: ZoneInfo, last: int) -> list[dt.datetime]:
    """The first instant of every local day in ``tz`` after the one containing ``at``, up to the
    day whose ordinal is ``last``."""
    return [local_instant(dt.date.fromordinal(day), dt.time(0), tz)
            for day in range(at.astimezone(tz).toordinal() + 1, last + 1)]


@dataclass(frozen=True, slots=True)
class FullWeek:
    """The busiest period of 7 local days holding the candidate day, and when a call fits again."""

    count: int
    first: dt.date  # the period's first local day, in ``zone``
    zone: str
    retry_at: dt.datetime | None  # the local midnight (in ``retry_zone``) from which a call fits
    retry_zone: str

    @property
    def last(self) -> dt.date:
        return self.first + dt.timedelta(days=WEEK - 1)


def full_week(zones: tuple[str, ...], instants: list[dt.datetime], at: dt.datetime, cap: int) -> FullWeek | None:
    """Whether a call at ``at`` would make more than ``cap`` calls on 7 consecutive local days.

    A call on local day d must fit in every 7-day period that holds d (d-6..d up to d..d+6:
    calls recorded after ``at`` count too), in every zone. The answer only changes at a local
    midnight of one of the zones, so the earliest allowed instant is the first of those midnights
    at which no zone objects; with no later calls, the midnight in the latest zone that starts the
    day when enough days have dropped out of the period.
    """
    counts = [(name, zone(name), local_days(instants, zone(name))) for name in zones]

    def busiest(t: dt.datetime) -> tuple[int, int, str]:
        return max((*busiest_period(days, t.astimezone(tz).toordinal(), WEEK), name) for name, tz, days in counts)

    worst, first, worst_zone = busiest(at)
    if worst < cap:
        return None
    # Past the last dated call plus a week, no period holds a call: the search ends there.
    midnights = sorted(
        (start, name) for name, tz, days in counts
        for start in day_starts(at, tz, max([*days, at.astimezone(tz).toordinal()]) + WEEK)
    )
    retry, retry_zone = next(((t, name) for t, name in midnights if busiest(t)[0] < cap), (None, worst_zone))
    return FullWeek(worst, dt.date.fromordinal(first), worst_zone, retry, retry_zone)


@dataclass(frozen=True, slots=True)
class Pause:
    """The pause after a conversation that ends last, and when every pause has ended."""

    day: dt.date  # the conversation's local date, in ``zone``
    zone: str
    ends_at: dt.datetime  # the local midnight in ``zone`` starting day ``day`` + days
    retry_at: dt.datetime  # when no pause runs any more (later than ``ends_at`` only when a
    # conversation recorded after the instant starts a pause of its own)


def _running(zones: tuple[str, ...], talks: list[dt.datetime], t: dt.datetime,
             days: int) -> list[tuple[dt.datetime, str, dt.date]]:
    """The pauses running at ``t``: (the local midnight each ends at, zone, local date of the
    conversation), one per conversation up to ``t`` and zone."""
    running = []
    for name in zones:
        tz = zone(name)
        for talk in talks:
            if talk <= t:
                day = talk.astimezone(tz).date()
                end = local_instant(day + dt.timedelta(days=days), dt.time(0), tz)
                if t < end:
                    running.append((end, name, day))
    return running


def pause(zones: tuple[str, ...], talks: list[dt.datetime], at: dt.datetime, days: int) -> Pause | None:
    """Whether ``at`` falls in the ``days`` local days that begin with the day of a conversation,
    in any zone. 1006.14(b)(2)(ii): "the date of the telephone conversation is the first day of the
    seven-consecutive-day period", so a conversation on local day D holds calls until the local
    midnight that starts day D + ``days``, in the latest of the zones."""
    running = _running(zones, talks, at, days)
    if not running:
        return None
    end, name, day = max(running)
    retry = end
    while later := _running(zones, talks, retry, days):
        retry = max(later)[0]
    return Pause(day, name, end, retry)
