"""What a calendar entry may hold: names, years, days and their text. Pure.

Shared by the JSON API and the CSV import, so both refuse the same things with the same words.
"""

from __future__ import annotations

import datetime as dt
import re

from dialer.kit.calendars import HOLIDAY, WORKDAY, DayKind
from dialer.kit.text import refused_character

CALENDAR_NAME = r"^[a-z][a-z0-9_-]{0,15}$"
"""``cn``, ``cn-bank-x``: what a client's ``working_calendar`` names (16 characters at most)."""
MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_DAYS = 200
"""A year lists its special days only (holidays, adjusted working days): a few dozen, never all."""
NAME_MAX = 60

KIND_WORDS: dict[str, DayKind] = {"holiday": HOLIDAY, "workday": WORKDAY, "休": HOLIDAY, "班": WORKDAY}
"""How a CSV may write a day's kind (the English words of the API, or 休 / 班 as a printed calendar does)."""

_FORMULA = ("=", "+", "-", "@", "\t", "\r")
_CALENDAR_NAME = re.compile(CALENDAR_NAME)


def check_calendar_name(name: str) -> str | None:
    """Why ``name`` cannot name a calendar, or None."""
    if _CALENDAR_NAME.match(name):
        return None
    return "a calendar name is 1-16 lowercase letters, digits, '-' or '_', starting with a letter (e.g. cn)"


def day_problem(year: int, day: dt.date) -> str | None:
    if day.year != year:
        return f"{day.isoformat()} is not in {year}"
    return None


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a day (empty, too long, a control character, spreadsheet formula-like), or None."""
    if not name.strip():
        return "a day needs a name (e.g. 春节, or 春节调休 for an adjusted working day)"
    if len(name) > NAME_MAX:
        return f"a day's name has at most {NAME_MAX} characters"
    found = refused_character(name)
    if found is not None:
        return f"control character refused ({found})"
    if name.startswith(_FORMULA):
        return "text starting with =, +, -, @, a tab or a carriage return is refused (a spreadsheet would run it)"
    return None


def duplicates(days: list[dt.date]) -> dict[int, str]:
    """Index → reason for each day listed a second time."""
    seen: dict[dt.date, int] = {}
    found: dict[int, str] = {}
    for index, day in enumerate(days):
        if day in seen:
            found[index] = f"{day.isoformat()} is listed twice (also entry {seen[day] + 1})"
        else:
            seen[day] = index
    return found
