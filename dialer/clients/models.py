"""Clients (the banks that hand over cases) and the versions of their policy."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dialer.kit.columns import created_at, fk, pk
from dialer.kit.zones import AGENCY_ZONE
from dialer.kit.db import Base, JSONDoc


class Client(Base):
    __tablename__ = "clients"

    id: Mapped[int] = pk()
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(16), default="zh-CN")
    default_time_zone: Mapped[str] = mapped_column(String(64), default=AGENCY_ZONE)
    working_calendar: Mapped[str] = mapped_column(String(16), default="cn")
    whisper_template: Mapped[str | None] = mapped_column(Text)
    policy_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = created_at()


class PolicyVersion(Base):
    """An immutable version of a client's policy: preset + overrides = effective document."""

    __tablename__ = "policy_versions"
    __table_args__ = (UniqueConstraint("client_id", "version"),)

    id: Mapped[int] = pk()
    client_id: Mapped[int] = fk("clients.id")
    version: Mapped[int] = mapped_column(Integer)
    preset: Mapped[str] = mapped_column(String(64))
    overrides: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    document: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    reason: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = fk("users.id", nullable=True, index=False)
    created_at: Mapped[dt.datetime] = created_at()
