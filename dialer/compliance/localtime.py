"""Local calendar arithmetic for the rules: windows, openings and midnights in a zone, DST-safe."""

from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo

from dialer.kit.calendars import is_public_holiday
from dialer.policy.document import PolicyDocument

UTC = dt.timezone.utc
SEARCH_DAYS = 400  # how far ahead an opening is looked for before giving up (a window that never opens)


@functools.lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_instant(day: dt.date, clock: dt.time | None, tz: ZoneInfo) -> dt.datetime:
    """The UTC instant of wall time ``clock`` on ``day`` in ``tz`` (``None`` = the next midnight).

    A wall time that does not exist (skipped by a DST change) maps to the instant the clocks
    jumped past it; an ambiguous one to its first occurrence.
    """
    if clock is None:
        day, clock = day + dt.timedelta(days=1), dt.time(0)
    naive = dt.datetime.combine(day, clock)
    first = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    second = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if second >= first:  # an ordinary or an ambiguous wall time: its first occurrence
        return first
    # A gap: the wall time was skipped. The answer is the jump itself, the earliest instant
    # whose wall time is at or past ``naive``; it lies between the two readings.
    low, high = second, first
    while high - low > dt.timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(tz).replace(tzinfo=None) >= naive:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)  # transitions fall on whole seconds; high is < 1 s past it


def start_of_next_day(at: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """The first instant of the local calendar day after the one containing ``at``."""
    return local_instant(at.astimezone(tz).date(), None, tz)


def start_of_day(at: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    return local_instant(at.astimezone(tz).date(), dt.time(0), tz)


def _intervals(policy: PolicyDocument, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
    # Returned as naive local wall-clock bounds; see window_open / next_opening.
    holiday = is_public_holiday(policy.holiday_calendar, day) if policy.calling_window.on_calendar_holidays else False
    return [
        (dt.datetime.combine(day, start), dt.datetime.combine(day, end) if end else dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0)))
        for start, end in policy.window_for(day, calendar_holiday=holiday)
    ]


def window_open(policy: PolicyDocument, at: dt.datetime, tz: ZoneInfo) -> bool:
    """Whether the local wall time of ``at`` in ``tz`` lies inside the day's window ([start, end))."""
    local = at.astimezone(tz).replace(tzinfo=None)
    return any(start <= local < end for start, end in _intervals(policy, local.date()))


def next_opening(policy: PolicyDocument, at: dt.datetime, tz: ZoneInfo) -> dt.datetime | None:
    """The earliest instant ≥ ``at`` at which the window is open in ``tz``; None if none within a year."""
    if window_open(policy, at, tz):
        return at
    local_day = at.astimezone(tz).date()
    for offset in range(SEARCH_DAYS):
        day = local_day + dt.timedelta(days=offset)
        for start, _ in _intervals(policy, day):
            instant = local_instant(day, start.time(), tz)
            if instant > at and window_open(policy, instant, tz):
                return instant
    return None
