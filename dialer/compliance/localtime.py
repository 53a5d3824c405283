"""Local calendar arithmetic for the rules: windows, openings and midnights in a zone, DST-safe."""

from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo

from dialer.kit.calendars import DayCalendar, resolve
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


def holidays_of(policy: PolicyDocument, calendar: DayCalendar | None) -> DayCalendar:
    """The calendar whose public holidays the policy's window observes: ``calendar`` (the service's
    current one, from ``dialer.calendars``), or the shipped data of the policy's ``holiday_calendar``."""
    return calendar if calendar is not None else resolve(policy.holiday_calendar)


def _intervals(
    policy: PolicyDocument, day: dt.date, calendar: DayCalendar | None = None,
) -> list[tuple[dt.datetime, dt.datetime]]:
    # Returned as naive local wall-clock bounds; see window_open / next_opening.
    # ``on_calendar_holidays`` may be an empty tuple (closed on public holidays): test for None,
    # not for truthiness.
    holiday = (
        holidays_of(policy, calendar).is_public_holiday(day)
        if policy.calling_window.on_calendar_holidays is not None
        else False
    )
    return [
        (dt.datetime.combine(day, start), dt.datetime.combine(day, end) if end else dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0)))
        for start, end in policy.window_for(day, calendar_holiday=holiday)
    ]


def window_open(policy: PolicyDocument, at: dt.datetime, tz: ZoneInfo, *, calendar: DayCalendar | None = None) -> bool:
    """Whether the local wall time of ``at`` in ``tz`` lies inside the day's window ([start, end)).

    ``calendar``: whose public holidays get the holiday window (every function here takes it;
    ``None``: the shipped data of the policy's ``holiday_calendar``)."""
    local = at.astimezone(tz).replace(tzinfo=None)
    return any(start <= local < end for start, end in _intervals(policy, local.date(), calendar))


def _readings(day: dt.date, clock: dt.time, tz: ZoneInfo) -> list[dt.datetime]:
    """Every instant whose wall time in ``tz`` is ``clock`` on ``day``: one for an ordinary time,
    both occurrences of an ambiguous one (clocks set back), the jump past a skipped one."""
    naive = dt.datetime.combine(day, clock)
    first = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    second = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if second > first:
        return [first, second]
    return [local_instant(day, clock, tz)]


def _offset_changes(day: dt.date, tz: ZoneInfo) -> list[dt.datetime]:
    """The instant of the day's UTC-offset change, if the local day is not 24 hours long.

    Needed because a change that sets the clocks back can move the wall time back *into* a
    window without crossing any interval's start.
    """
    begin, end = local_instant(day, dt.time(0), tz), local_instant(day, None, tz)
    if end - begin == dt.timedelta(days=1):
        return []
    old = begin.astimezone(tz).utcoffset()
    low, high = int(begin.timestamp()), int(end.timestamp())  # offset(low) == old != offset(high)
    if dt.datetime.fromtimestamp(high, UTC).astimezone(tz).utcoffset() == old:
        return []
    while high - low > 1:
        middle = (low + high) // 2
        if dt.datetime.fromtimestamp(middle, UTC).astimezone(tz).utcoffset() == old:
            low = middle
        else:
            high = middle
    return [dt.datetime.fromtimestamp(high, UTC)]


def next_opening(
    policy: PolicyDocument, at: dt.datetime, tz: ZoneInfo, *, calendar: DayCalendar | None = None,
) -> dt.datetime | None:
    """The earliest instant ≥ ``at`` at which the window is open in ``tz``; None if none within a year.

    The window can only open where the wall time reaches an interval's start (either occurrence
    of an ambiguous one, the jump past a skipped one) or where the clocks change. Local dates
    never run backwards, so the first day with a candidate holds the answer.
    """
    if window_open(policy, at, tz, calendar=calendar):
        return at
    local_day = at.astimezone(tz).date()
    for offset in range(SEARCH_DAYS):
        day = local_day + dt.timedelta(days=offset)
        candidates = [instant for start, _ in _intervals(policy, day, calendar)
                      for instant in _readings(day, start.time(), tz)]
        if candidates:
            candidates += _offset_changes(day, tz)
        opening = min((c for c in candidates if c > at and window_open(policy, c, tz, calendar=calendar)),
                      default=None)
        if opening is not None:
            return opening
    return None


@functools.lru_cache(maxsize=256)
def common_opening(
    policy: PolicyDocument, zones: tuple[str, ...], at: dt.datetime, calendar: DayCalendar | None = None,
) -> dt.datetime | None:
    """The earliest instant ≥ at when the window is open in every zone, or None if there is none
    within the search horizon (windows that overlap only once a DST change shifts them can be
    weeks or months away, so the search is bounded by time, not by a count of steps).

    Remembered: ``calling_window`` and ``calling_window_no_overlap`` ask the same question of one
    decision, and a search that finds nothing walks the whole horizon. A calendar is remembered by
    identity: a refreshed one is a new key."""
    horizon = at + dt.timedelta(days=SEARCH_DAYS)
    t = at
    while t <= horizon:  # t only moves forward, from one opening to a later one
        openings = [next_opening(policy, t, zone(z), calendar=calendar) for z in zones]
        known = [o for o in openings if o is not None]
        if len(known) < len(openings):
            return None
        latest = max(known)
        if latest == t:
            return t
        t = latest
    return None


def day_window_text(policy: PolicyDocument, at: dt.datetime, tz: ZoneInfo, *, calendar: DayCalendar | None = None) -> str:
    """The window of the local day of ``at`` in ``tz`` as people write it: ``08:00-21:00`` or ``closed``."""
    intervals = _intervals(policy, at.astimezone(tz).date(), calendar)
    return ", ".join(f"{start:%H:%M}-{'24:00' if end.time() == dt.time(0) else f'{end:%H:%M}'}"
                     for start, end in intervals) or "closed"
