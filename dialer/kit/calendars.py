"""Public-holiday calendars (pure lookups, no I/O)."""

from __future__ import annotations

import datetime as dt
import functools
import logging

import chinese_calendar

log = logging.getLogger("dialer.calendars")


@functools.lru_cache(maxsize=4096)
def is_public_holiday(calendar: str, day: dt.date) -> bool:
    """Whether ``day`` is a public holiday (not merely a weekend) in ``calendar``.

    ``cn`` uses the Chinese statutory calendar. A year the package has no data for is treated
    as having no public holidays (weekday windows apply) and logged once per day asked.
    """
    if calendar != "cn":
        return False
    try:
        holiday, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        log.warning("no Chinese holiday data for %s; treating it as an ordinary day", day.isoformat())
        return False
    return bool(holiday and name)


@functools.lru_cache(maxsize=4096)
def is_working_day(calendar: str, day: dt.date) -> bool:
    """Working day: Chinese calendar with adjusted weekend workdays for ``cn``; Mon–Fri otherwise."""
    if calendar == "cn":
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            log.warning("no Chinese calendar data for %s; using Monday-Friday", day.isoformat())
    return day.weekday() < 5
