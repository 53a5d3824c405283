"""Seats: dedicated stations with a bound softphone identity (agents' sessions at them are the
agents': ``dialer.agents.models``)."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from dialer.kit.columns import created_at, fk, pk
from dialer.kit.db import Base, BigIntPK, str_enum
from dialer.kit.types import UTCDateTime


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


class SipCredential(Base):
    """A seat's SIP digest credentials, as Kamailio's ``auth_db`` reads them (HA1 digests only;
    the password itself is never stored): ``ha1`` = MD5(username:realm:password), ``ha1b`` =
    MD5(username@domain:realm:password). The realm is the seat's SIP domain."""

    __tablename__ = "sip_credentials"

    id: Mapped[int] = pk()
    seat_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("seats.id", ondelete="CASCADE"), unique=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    domain: Mapped[str] = mapped_column(String(128))
    ha1: Mapped[str] = mapped_column(String(64))
    ha1b: Mapped[str] = mapped_column(String(64))
    rotated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    rotated_by: Mapped[int | None] = fk("users.id", nullable=True, index=False)
