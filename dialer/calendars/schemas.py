"""The calendars' API shapes."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from dialer.calendars.days import MAX_DAYS, NAME_MAX
from dialer.kit.schemas import Schema


class DayIn(Schema):
    day: dt.date = Field(description="The date, YYYY-MM-DD, in the year of the path")
    kind: Literal["holiday", "workday"] = Field(
        description="`holiday`: a public holiday, a day off (weekend days inside a holiday period too); "
                    "`workday`: a working day whatever its weekday (调休, an adjusted working weekend day)")
    name: str = Field(min_length=1, max_length=NAME_MAX, description="What people call it: 春节, 春节调休")


class YearIn(Schema):
    """Every special day of the year (the days not listed follow the shipped data, else their weekday)."""

    days: list[DayIn] = Field(max_length=MAX_DAYS)


class DayOut(BaseModel):
    day: dt.date
    kind: Literal["holiday", "workday"]
    name: str
    origin: Literal["entered", "shipped"] = Field(description="Entered by an admin, or the shipped data")


class EntryOut(BaseModel):
    source: str = Field(description="`api` or `csv`")
    saved_at: dt.datetime
    saved_by_id: int | None


class YearOut(BaseModel):
    calendar: str
    year: int
    shipped: bool = Field(description="The shipped data has this year")
    entered: EntryOut | None = Field(description="The agency's entry of this year, if an admin saved one")
    holidays: int
    workdays: int
    days: list[DayOut]


class YearSummaryOut(BaseModel):
    year: int
    shipped: bool
    entered: bool


class CalendarOut(BaseModel):
    name: str
    years: list[YearSummaryOut]


class CalendarsOut(BaseModel):
    revision: int = Field(description="Moves on with every change; each replica reloads when it sees it move")
    calendars: list[CalendarOut]


class MissingOut(BaseModel):
    calendar: str
    year: int
    message: str


class StatusOut(BaseModel):
    today: dt.date = Field(description="The agency's date (Asia/Shanghai)")
    ok: bool = Field(description="False when a calendar in use lacks this year, or next year from 1 December")
    missing: list[MissingOut]
