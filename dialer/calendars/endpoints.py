"""``/v1/calendars``: the holiday and working-day calendars (admins edit, everyone signed in reads)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, File, Path, Request, Response, UploadFile, status

from dialer.auth.deps import Principal, require
from dialer.auth.models import Role
from dialer.calendars import service
from dialer.calendars.days import CALENDAR_NAME, MAX_YEAR, MIN_YEAR
from dialer.calendars.schemas import (
    CalendarOut,
    CalendarsOut,
    DayOut,
    EntryOut,
    MissingOut,
    StatusOut,
    YearIn,
    YearOut,
    YearSummaryOut,
)
from dialer.calendars.store import CalendarStore
from dialer.kit.deps import NowDep, SessionDep
from dialer.kit.errors import ImportRejected

router = APIRouter(prefix="/calendars", tags=["calendars"])

Anyone = Annotated[Principal, Depends(require(*Role))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
CalendarName = Annotated[str, Path(pattern=CALENDAR_NAME, max_length=16, description="e.g. cn")]
Year = Annotated[int, Path(ge=MIN_YEAR, le=MAX_YEAR)]
MAX_UPLOAD_BYTES = 256 * 1024


async def _refreshed_after_commit(request: Request) -> AsyncIterator[CalendarStore]:
    """This process's calendars, marked stale once the request is over: this dependency's exit
    runs after the unit of work committed (``get_session`` is function-scoped, this one request-
    scoped), so the next decision here already uses the edit."""
    store: CalendarStore = request.app.state.container.calendars
    try:
        yield store
    finally:
        store.stale()


Edits = Annotated[CalendarStore, Depends(_refreshed_after_commit)]


def _year_out(view: service.YearView) -> YearOut:
    entered = view.entered
    return YearOut(
        calendar=view.calendar, year=view.year, shipped=view.shipped,
        entered=EntryOut(source=entered.source, saved_at=entered.saved_at, saved_by_id=entered.saved_by_id)
        if entered is not None else None,
        holidays=view.holidays, workdays=view.workdays,
        days=[DayOut(day=d.day, kind=d.kind, name=d.name, origin=d.origin) for d in view.days],
    )


@router.get("", response_model=CalendarsOut, summary="Every calendar and the years it has (any role)")
async def list_calendars(session: SessionDep, _: Anyone) -> CalendarsOut:
    revision, calendars = await service.overview(session)
    return CalendarsOut(revision=revision, calendars=[
        CalendarOut(name=name, years=[YearSummaryOut(year=y.year, shipped=y.shipped, entered=y.entered) for y in years])
        for name, years in calendars.items()
    ])


@router.get("/status", response_model=StatusOut,
            summary="Which calendar years are missing: this year, and next year from 1 December (any role)")
async def calendar_status(session: SessionDep, now: NowDep, _: Anyone) -> StatusOut:
    today, missing = await service.status(session, now=now)
    return StatusOut(today=today, ok=not missing,
                     missing=[MissingOut(calendar=m.calendar, year=m.year, message=m.message) for m in missing])


@router.get("/{calendar}/{year}", response_model=YearOut,
            summary="One year of a calendar as the service uses it, each day with its origin (any role)")
async def read_year(calendar: CalendarName, year: Year, session: SessionDep, _: Anyone) -> YearOut:
    return _year_out(await service.year_view(session, calendar=calendar, year=year))


@router.put("/{calendar}/{year}", response_model=YearOut,
            summary="Enter or replace the agency's special days of a year (admin)")
async def put_year(
    calendar: CalendarName, year: Year, body: YearIn, store: Edits, session: SessionDep, now: NowDep, actor: Admin,
) -> YearOut:
    days = [(d.day, d.kind, d.name) for d in body.days]
    return _year_out(await service.save_year(session, calendar=calendar, year=year, days=days, source="api",
                                             actor=actor, now=now))


@router.delete("/{calendar}/{year}", status_code=status.HTTP_204_NO_CONTENT,
               summary="Remove the agency's entry of a year: the shipped data applies again (admin)")
async def delete_year(calendar: CalendarName, year: Year, store: Edits, session: SessionDep, actor: Admin) -> Response:
    await service.delete_year(session, calendar=calendar, year=year, actor=actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{calendar}/{year}/import", response_model=YearOut,
             summary="Replace a year's special days from a CSV file (date,kind,name); any bad row saves nothing (admin)")
async def import_year(
    calendar: CalendarName, year: Year, store: Edits, session: SessionDep, now: NowDep, actor: Admin,
    file: Annotated[UploadFile, File()],
) -> YearOut:
    content = await file.read(MAX_UPLOAD_BYTES + 1)
    if len(content) > MAX_UPLOAD_BYTES:
        raise ImportRejected(f"the file is larger than {MAX_UPLOAD_BYTES // 1024} KiB",
                             errors=[{"line": 1, "column": None, "reason": "file too large"}], errors_total=1)
    return _year_out(await service.import_year(session, calendar=calendar, year=year, content=content, actor=actor,
                                               now=now))
