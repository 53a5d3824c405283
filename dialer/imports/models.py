"""A record of every accepted import file."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from dialer.kit.columns import created_at, fk, pk
from dialer.kit.db import Base, str_enum


class ImportKind(enum.StrEnum):
    CASES = "cases"
    STOP_LIST = "stop_list"
    ATTEMPTS = "attempts"
    PAYMENTS = "payments"


class ImportBatch(Base):
    __tablename__ = "import_batches"

    id: Mapped[int] = pk()
    client_id: Mapped[int] = fk("clients.id")
    kind: Mapped[ImportKind] = mapped_column(str_enum(ImportKind))
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    row_count: Mapped[int] = mapped_column(Integer)
    created_by_id: Mapped[int | None] = fk("users.id", nullable=True, index=False)
    created_at: Mapped[dt.datetime] = created_at()
