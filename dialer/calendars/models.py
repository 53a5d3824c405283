"""The calendars' tables: one row per (calendar, year) an admin entered, and one revision counter."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dialer.kit.columns import fk, pk
from dialer.kit.db import Base, JSONDoc
from dialer.kit.types import UTCDateTime


class CalendarYear(Base):
    """The agency's entry for one year of one calendar: its special days, as
    ``[{"day": "2027-02-06", "kind": "holiday" | "workday", "name": "春节"}, ...]`` in date order.
    Saving the year again replaces the entry; deleting it lets the shipped data apply again."""

    __tablename__ = "calendar_years"
    __table_args__ = (UniqueConstraint("calendar", "year"),)

    id: Mapped[int] = pk()
    calendar: Mapped[str] = mapped_column(String(16), nullable=False)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    days: Mapped[list[dict[str, Any]]] = mapped_column(JSONDoc, nullable=False)
    source: Mapped[str] = mapped_column(String(16), nullable=False)  # api | csv
    saved_by_id: Mapped[int | None] = fk("users.id", nullable=True, index=False)
    saved_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)


class CalendarState(Base):
    """One row (id 1): ``revision`` goes up with every change of the calendars, in the change's own
    transaction. Every process compares it with the revision it holds (a one-row read, at most every
    ``CalendarStore.check_every``) and reloads the calendars when it moved. Updating it first also
    serialises concurrent edits."""

    __tablename__ = "calendar_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    revision: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
