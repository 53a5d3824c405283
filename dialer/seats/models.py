"""Seats: dedicated stations with a bound softphone identity (agents' sessions at them are the
agents': ``dialer.agents.models``)."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from dialer.kit.columns import created_at, pk
from dialer.kit.db import Base, str_enum


class SeatCarrier(enum.StrEnum):
    TWILIO = "twilio"
    SIP = "sip"


class Seat(Base):
    __tablename__ = "seats"

    id: Mapped[int] = pk()
    code: Mapped[str] = mapped_column(String(32), unique=True)
    softphone_identity: Mapped[str] = mapped_column(String(200), unique=True)
    carrier: Mapped[SeatCarrier] = mapped_column(str_enum(SeatCarrier), default=SeatCarrier.TWILIO)
    location: Mapped[str | None] = mapped_column(String(128))
    team: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = created_at()
