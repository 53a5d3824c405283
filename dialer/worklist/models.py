"""What the work queue records besides the case's own columns: the cases agents skipped."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from dialer.kit.columns import created_at, fk, pk
from dialer.kit.db import Base


class CaseSkip(Base):
    """An agent passed over a previewed case, with the reason. The same agent is not offered the
    case again for a while (``dialer.worklist.queue.SKIP_COOLDOWN``); other agents may be."""

    __tablename__ = "case_skips"
    __table_args__ = (Index("ix_case_skips_agent_at", "agent_id", "created_at"),)

    id: Mapped[int] = pk()
    case_id: Mapped[int] = fk("cases.id")
    agent_id: Mapped[int] = fk("users.id", index=False)
    seat_id: Mapped[int | None] = fk("seats.id", nullable=True, index=False)
    reason: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = created_at()
