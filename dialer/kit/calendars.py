"""Public-holiday and working-day calendars: immutable values and pure lookups, no I/O.

A calendar has a name (``cn``: the Chinese statutory calendar; any other name an admin gives one).
For each year it knows, it lists its *special* days; every other day is ordinary (Monday to Friday
working, the weekend off):

- a **holiday**: a public holiday, a day off with a name (``春节``), weekend days inside a holiday
  period included (the windows' ``on_calendar_holidays`` applies to them);
- a **workday**: a working day whatever its weekday (调休: the adjusted weekend working days).

Two layers make a calendar: the *shipped* data (``chinese-calendar`` for ``cn``, the years its
release knows) and what the agency's admins *entered* (``dialer.calendars``). An entered year
overrides the shipped data for the days it lists and adds the rest; a year is *known* once either
layer has it. A year no layer has is treated as ordinary days only (no holidays, Monday to Friday):
the service warns before that happens (``dialer.calendars.service.missing_years``).

:class:`Calendars` is what the service holds in memory (one per process, swapped whole on refresh);
:class:`DayCalendar` is one calendar of it, what the rules and the scheduler are given.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

import chinese_calendar

log = logging.getLogger("dialer.calendars")

DayKind = Literal["holiday", "workday"]
HOLIDAY: DayKind = "holiday"
WORKDAY: DayKind = "workday"
SHIPPED_CALENDAR = "cn"
"""The one calendar with shipped data (``chinese-calendar``)."""


@dataclass(frozen=True, slots=True)
class SpecialDay:
    kind: DayKind
    name: str


YearDays = Mapping[dt.date, SpecialDay]
"""One year's special days of one calendar (both kinds)."""


@dataclass(frozen=True, slots=True, eq=False)
class DayCalendar:
    """One calendar, both layers merged. Compared and hashed by identity: it is immutable and a
    refresh makes a new one, so the rules' caches keyed by it never serve an old calendar's answer."""

    name: str
    days: Mapping[dt.date, SpecialDay] = field(default_factory=lambda: MappingProxyType({}))
    years: frozenset[int] = frozenset()
    entered_years: frozenset[int] = frozenset()  # the years an admin entered (the rest are shipped)

    def is_public_holiday(self, day: dt.date) -> bool:
        special = self.days.get(day)
        return special is not None and special.kind == HOLIDAY

    def is_working_day(self, day: dt.date) -> bool:
        special = self.days.get(day)
        if special is not None:
            return special.kind == WORKDAY
        return day.weekday() < 5

    def knows(self, year: int) -> bool:
        """Whether a layer has ``year`` (else its days are all ordinary)."""
        return year in self.years

    def year(self, year: int) -> dict[dt.date, SpecialDay]:
        """The special days of ``year``, in date order."""
        return {day: special for day, special in sorted(self.days.items()) if day.year == year}


@dataclass(frozen=True, slots=True, eq=False)
class Calendars:
    """Every calendar the service knows, at one ``revision`` of the agency's entries (0: shipped only)."""

    calendars: Mapping[str, DayCalendar]
    revision: int = 0

    def get(self, name: str) -> DayCalendar:
        """The calendar ``name``; one nobody entered and nothing ships is all ordinary days."""
        found = self.calendars.get(name)
        return found if found is not None else ordinary(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self.calendars))


@functools.lru_cache(maxsize=64)
def ordinary(name: str) -> DayCalendar:
    """A calendar with no data at all: Monday to Friday, no public holiday (``none``, ``us``...)."""
    return DayCalendar(name)


def merge(name: str, shipped: Mapping[int, YearDays], entered: Mapping[int, YearDays]) -> DayCalendar:
    """Calendar ``name`` from its shipped years and the years the agency entered: an entered day
    overrides the shipped day of the same date; every other shipped day stays."""
    days: dict[dt.date, SpecialDay] = {}
    for layer in (shipped, entered):
        for year_days in layer.values():
            days.update(year_days)
    return DayCalendar(name=name, days=MappingProxyType(days), years=frozenset(shipped) | frozenset(entered),
                       entered_years=frozenset(entered))


def build(entered: Mapping[str, Mapping[int, YearDays]], *, revision: int,
          shipped: Mapping[str, Mapping[int, YearDays]] | None = None) -> Calendars:
    """The calendars from the agency's entries (by calendar, then year) over the shipped data."""
    shipped = shipped_years() if shipped is None else shipped
    names = set(shipped) | set(entered)
    return Calendars(
        calendars=MappingProxyType({n: merge(n, shipped.get(n, {}), entered.get(n, {})) for n in sorted(names)}),
        revision=revision,
    )


@functools.lru_cache(maxsize=1)
def shipped_years() -> Mapping[str, Mapping[int, YearDays]]:
    """The data the installed ``chinese-calendar`` release ships, as special days per year of ``cn``
    (its holidays with their English names, its adjusted working days)."""
    per_year: dict[int, dict[dt.date, SpecialDay]] = {}
    for day, name in chinese_calendar.holidays.items():
        per_year.setdefault(day.year, {})[day] = SpecialDay(HOLIDAY, str(name))
    for day, name in chinese_calendar.workdays.items():
        per_year.setdefault(day.year, {})[day] = SpecialDay(WORKDAY, f"{name} (adjusted working day)")
    frozen = {year: MappingProxyType(dict(sorted(days.items()))) for year, days in sorted(per_year.items())}
    return MappingProxyType({SHIPPED_CALENDAR: MappingProxyType(frozen)})


@functools.lru_cache(maxsize=1)
def shipped() -> Calendars:
    """The shipped data alone (what a process uses before, or without, the agency's entries)."""
    return build({}, revision=0)


def year_days(entries: Iterable[tuple[dt.date, DayKind, str]]) -> dict[dt.date, SpecialDay]:
    return {day: SpecialDay(kind, name) for day, kind, name in sorted(entries)}


# --- the shipped data by name (tests and code that is given no calendar) --------------------------


def is_public_holiday(calendar: str, day: dt.date) -> bool:
    """Whether ``day`` is a public holiday (not merely a weekend) in the *shipped* ``calendar``."""
    return shipped().get(calendar).is_public_holiday(day)


def is_working_day(calendar: str, day: dt.date) -> bool:
    """Working day in the *shipped* ``calendar``: ``cn`` with its adjusted weekend workdays;
    Monday to Friday for a year it does not know, and for every other calendar."""
    return shipped().get(calendar).is_working_day(day)


def resolve(calendar: str | DayCalendar) -> DayCalendar:
    """A calendar given by name means its shipped data."""
    return shipped().get(calendar) if isinstance(calendar, str) else calendar
