"""The calendars' queries: the revision, the agency's entries, one year's row."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.calendars.models import CalendarState, CalendarYear
from dialer.kit.calendars import HOLIDAY, WORKDAY, DayKind, SpecialDay, YearDays, year_days

STATE_ID = 1


async def revision(session: AsyncSession) -> int:
    """The calendars' current revision (0 before the first change)."""
    found = (await session.execute(select(CalendarState.revision).where(CalendarState.id == STATE_ID))).scalar()
    return int(found or 0)


async def next_revision(session: AsyncSession) -> int:
    """Move the revision on, in the caller's transaction; the row lock it takes (PostgreSQL)
    serialises concurrent edits until that transaction ends."""
    moved = (await session.execute(
        update(CalendarState).where(CalendarState.id == STATE_ID).values(revision=CalendarState.revision + 1)
        .returning(CalendarState.revision)
    )).scalar()
    if moved is None:  # a database whose row was removed by hand: start it again
        session.add(CalendarState(id=STATE_ID, revision=1))
        await session.flush()
        return 1
    return int(moved)


async def entries(session: AsyncSession) -> dict[str, dict[int, YearDays]]:
    """Every year the agency entered, by calendar, then year."""
    rows = await session.execute(select(CalendarYear.calendar, CalendarYear.year, CalendarYear.days))
    found: dict[str, dict[int, YearDays]] = {}
    for calendar, year, days in rows:
        found.setdefault(calendar, {})[year] = days_of(days)
    return found


def days_of(stored: list[dict[str, str]]) -> dict[dt.date, SpecialDay]:
    return year_days((dt.date.fromisoformat(d["day"]), _kind(d["kind"]), d["name"]) for d in stored)


def _kind(stored: str) -> DayKind:
    if stored == HOLIDAY:
        return HOLIDAY
    if stored == WORKDAY:
        return WORKDAY
    raise ValueError(f"calendar_years holds an unknown kind of day {stored!r}")


def stored(days: Mapping[dt.date, SpecialDay]) -> list[dict[str, str]]:
    return [{"day": day.isoformat(), "kind": s.kind, "name": s.name} for day, s in sorted(days.items())]


async def get_year(session: AsyncSession, calendar: str, year: int) -> CalendarYear | None:
    query = select(CalendarYear).where(CalendarYear.calendar == calendar, CalendarYear.year == year)
    return (await session.execute(query)).scalar_one_or_none()


async def delete_year(session: AsyncSession, row: CalendarYear) -> None:
    await session.execute(delete(CalendarYear).where(CalendarYear.id == row.id))
