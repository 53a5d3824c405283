"""Legal holds: recordings kept past their retention while a dispute, complaint or regulator's
inquiry needs them. A hold names a call, a party or a case; every recording it covers carries
``Recording.legal_hold`` until no active hold covers it any more."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from dialer.kit.columns import created_at, fk, pk
from dialer.kit.db import Base, BigIntPK, str_enum
from dialer.kit.types import UTCDateTime


class HoldScope(enum.StrEnum):
    CALL = "call"
    PARTY = "party"
    CASE = "case"


class LegalHold(Base):
    __tablename__ = "legal_holds"
    __table_args__ = (
        Index("ix_legal_holds_active", "scope", "scope_id", postgresql_where=text("lifted_at IS NULL"),
              sqlite_where=text("lifted_at IS NULL")),
    )

    id: Mapped[int] = pk()
    scope: Mapped[HoldScope] = mapped_column(str_enum(HoldScope))
    scope_id: Mapped[int] = mapped_column(BigIntPK)
    reason: Mapped[str] = mapped_column(Text)
    set_by: Mapped[int | None] = fk("users.id", nullable=True, index=False)
    set_at: Mapped[dt.datetime] = created_at()
    lifted_by: Mapped[int | None] = fk("users.id", nullable=True, index=False)
    lifted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    lift_reason: Mapped[str | None] = mapped_column(String(500))
