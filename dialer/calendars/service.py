"""The calendars' rules: save, replace or delete a year the agency enters (audited), read a year as
the service uses it, and say which years are missing. Functions only flush; the caller commits.

The model an operations manager works with:

- A calendar has a name. ``cn`` is the Chinese statutory calendar, shipped with the service for the
  years the installed ``chinese-calendar`` knows; admins enter the years it does not (2027 now) or
  correct a shipped day. An entered year's days override the shipped days of the same dates.
- Each client follows one calendar for its working days (its ``working_calendar``, ``cn`` by
  default): a client whose bank keeps other days off gets a calendar of its own name (``cn-bank-x``),
  whose years an admin enters in full. The calling window's holiday hours follow the calendar the
  client's policy names (``holiday_calendar``: ``cn``, or ``none`` for no public holidays).
- From 1 December, next year missing from a calendar in use is a warning (log, daily job, status).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.audit.service import record
from dialer.calendars import csv_rows, repository
from dialer.calendars.days import MAX_DAYS, check_calendar_name, day_problem, duplicates, name_problem
from dialer.calendars.models import CalendarYear
from dialer.kit.calendars import (
    HOLIDAY,
    SHIPPED_CALENDAR,
    WORKDAY,
    Calendars,
    DayKind,
    build,
    shipped_years,
    year_days,
)
from dialer.kit.errors import ImportRejected, InvalidInput, NotFound
from dialer.kit.zones import AGENCY_ZONE

log = logging.getLogger("dialer.calendars")

WARN_FROM = (12, 1)
"""From this (month, day) on, next year missing is a warning; this year missing always is."""

DayEntry = tuple[dt.date, DayKind, str]


# --- reading -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DayView:
    day: dt.date
    kind: DayKind
    name: str
    origin: str  # entered | shipped


@dataclass(frozen=True, slots=True)
class YearView:
    calendar: str
    year: int
    shipped: bool  # the shipped data has this year
    entered: CalendarYear | None  # the agency's entry, if any
    days: list[DayView]

    @property
    def holidays(self) -> int:
        return sum(1 for d in self.days if d.kind == HOLIDAY)

    @property
    def workdays(self) -> int:
        return sum(1 for d in self.days if d.kind == WORKDAY)


def _view(calendar: str, year: int, row: CalendarYear | None) -> YearView:
    shipped = shipped_years().get(calendar, {}).get(year)
    entered = repository.days_of(row.days) if row is not None else {}
    days: dict[dt.date, DayView] = {}
    for day, special in (shipped or {}).items():
        days[day] = DayView(day, special.kind, special.name, "shipped")
    for day, special in entered.items():
        days[day] = DayView(day, special.kind, special.name, "entered")
    return YearView(calendar, year, shipped is not None, row, [days[d] for d in sorted(days)])


async def year_view(session: AsyncSession, *, calendar: str, year: int) -> YearView:
    """One year of a calendar as the service uses it (each day with where it comes from)."""
    view = _view(calendar, year, await repository.get_year(session, calendar, year))
    if view.entered is None and not view.shipped:
        raise NotFound(f"calendar {calendar!r} has no data for {year}: an admin enters it "
                       f"(PUT /v1/calendars/{calendar}/{year} or its CSV import)")
    return view


@dataclass(frozen=True, slots=True)
class YearSummary:
    year: int
    shipped: bool
    entered: bool


async def overview(session: AsyncSession) -> tuple[int, dict[str, list[YearSummary]]]:
    """The revision, and every calendar with the years each layer has."""
    rows = (await session.execute(select(CalendarYear.calendar, CalendarYear.year))).all()
    entered = {(calendar, year) for calendar, year in rows}
    known = {(c, y) for c, years in shipped_years().items() for y in years} | entered
    calendars: dict[str, list[YearSummary]] = {}
    for calendar, year in sorted(known):
        shipped = year in shipped_years().get(calendar, {})
        calendars.setdefault(calendar, []).append(YearSummary(year, shipped, (calendar, year) in entered))
    return await repository.revision(session), calendars


async def saved_calendars(session: AsyncSession) -> Calendars:
    """The calendars as the database holds them now (what every process converges to)."""
    return build(await repository.entries(session), revision=await repository.revision(session))


# --- what is missing -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Missing:
    calendar: str
    year: int
    message: str


def missing_years(calendars: Calendars, today: dt.date) -> list[Missing]:
    """The years a calendar in use lacks: this year always, next year from 1 December on. The
    calendars in use are ``cn`` and every calendar with data (a name nobody entered is Monday to
    Friday by design, and not a gap)."""
    found: list[Missing] = []
    years = [today.year] + ([today.year + 1] if (today.month, today.day) >= WARN_FROM else [])
    for name in sorted(set(calendars.names) | {SHIPPED_CALENDAR}):
        calendar = calendars.get(name)
        for year in years:
            if not calendar.knows(year):
                found.append(Missing(name, year, (
                    f"calendar {name!r} has no data for {year}: from {year}-01-01 its public holidays would be "
                    f"treated as working days; enter {year}'s holidays and adjusted working days "
                    f"(PUT /v1/calendars/{name}/{year} or POST /v1/calendars/{name}/{year}/import)"
                    if year > today.year else
                    f"calendar {name!r} has no data for {year}, the current year: its public holidays are treated "
                    f"as working days; enter them (PUT /v1/calendars/{name}/{year})"
                )))
    return found


def today_at(now: dt.datetime) -> dt.date:
    """The agency's date at ``now`` (the calendars' years turn at its midnight)."""
    return now.astimezone(ZoneInfo(AGENCY_ZONE)).date()


async def status(session: AsyncSession, *, now: dt.datetime) -> tuple[dt.date, list[Missing]]:
    today = today_at(now)
    return today, missing_years(await saved_calendars(session), today)


async def check_and_warn(session: AsyncSession, *, now: dt.datetime) -> dict[str, Any]:
    """Log a warning for each missing year (the daily job, which also runs at start)."""
    today, missing = await status(session, now=now)
    for gap in missing:
        log.warning("%s", gap.message)
    return {"today": today.isoformat(), "missing": [f"{m.calendar}/{m.year}" for m in missing]}


# --- changing --------------------------------------------------------------------------------------


def _check(calendar: str, year: int, days: Sequence[DayEntry]) -> None:
    problem = check_calendar_name(calendar)
    if problem is not None:
        raise InvalidInput(problem, field="calendar")
    if len(days) > MAX_DAYS:
        raise InvalidInput(f"a year lists at most {MAX_DAYS} special days", field="days")
    for index, (day, _, name) in enumerate(days):
        for field, problem in (("day", day_problem(year, day)), ("name", name_problem(name))):
            if problem is not None:
                raise InvalidInput(f"days[{index}].{field}: {problem}", field=f"days[{index}].{field}")
    for index, reason in duplicates([day for day, _, _ in days]).items():
        raise InvalidInput(f"days[{index}].day: {reason}", field=f"days[{index}].day")


async def save_year(
    session: AsyncSession, *, calendar: str, year: int, days: Sequence[DayEntry], source: str, actor: Any,
    now: dt.datetime,
) -> YearView:
    """Enter (or replace) the agency's days of ``year`` in ``calendar``; audited with who and what."""
    _check(calendar, year, days)
    revision = await repository.next_revision(session)  # first: serialises concurrent edits
    entry = repository.stored(year_days((day, kind, name.strip()) for day, kind, name in days))
    row = await repository.get_year(session, calendar, year)
    replaced = row.days if row is not None else None
    if row is None:
        row = CalendarYear(calendar=calendar, year=year, days=entry, source=source,
                           saved_by_id=getattr(actor, "user_id", None), saved_at=now)
        session.add(row)
    else:
        row.days, row.source, row.saved_by_id, row.saved_at = entry, source, getattr(actor, "user_id", None), now
    await session.flush()
    await record(session, action="calendar.year_saved", actor=actor, entity="calendar_year",
                 entity_id=f"{calendar}/{year}", calendar=calendar, year=year, source=source, revision=revision,
                 holidays=sum(1 for d in entry if d["kind"] == HOLIDAY),
                 workdays=sum(1 for d in entry if d["kind"] == WORKDAY), days=entry, replaced=replaced)
    return _view(calendar, year, row)


async def import_year(
    session: AsyncSession, *, calendar: str, year: int, content: bytes, actor: Any, now: dt.datetime,
) -> YearView:
    """A year's days from a CSV file (``dialer.calendars.csv_rows``): all saved, or nothing when any
    row is bad (422 ``import_rejected`` listing each bad row's line, column and reason)."""
    parsed = csv_rows.parse(content, year=year)
    if parsed.errors:
        raise ImportRejected(
            f"{len(parsed.errors)} error(s) in the file; nothing was saved",
            errors=[e.as_dict() for e in parsed.errors], errors_total=len(parsed.errors),
        )
    return await save_year(session, calendar=calendar, year=year, days=parsed.days, source="csv", actor=actor,
                           now=now)


async def delete_year(session: AsyncSession, *, calendar: str, year: int, actor: Any) -> None:
    """Remove the agency's entry of ``year``: the shipped data (if any) applies again. Audited."""
    revision = await repository.next_revision(session)  # first: serialises concurrent edits (undone on 404)
    row = await repository.get_year(session, calendar, year)
    if row is None:
        raise NotFound(f"calendar {calendar!r} has no entered year {year}")
    await repository.delete_year(session, row)
    await record(session, action="calendar.year_deleted", actor=actor, entity="calendar_year",
                 entity_id=f"{calendar}/{year}", calendar=calendar, year=year, revision=revision, days=row.days)

