"""Column shorthands used across the models."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from dialer.kit.db import BigIntPK
from dialer.kit.types import UTCDateTime, utcnow


def pk() -> Mapped[int]:
    return mapped_column(BigIntPK, primary_key=True, autoincrement=True)


def fk(target: str, *, nullable: bool = False, index: bool = True, ondelete: str | None = None) -> Mapped[Any]:
    return mapped_column(BigIntPK, ForeignKey(target, ondelete=ondelete), nullable=nullable, index=index)


def created_at() -> Mapped[dt.datetime]:
    return mapped_column(UTCDateTime(), nullable=False, default=utcnow)


def updated_at() -> Mapped[dt.datetime]:
    return mapped_column(UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow)
