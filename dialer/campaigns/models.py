"""Campaigns: a client's portfolio worked in preview or progressive mode."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from dialer.kit.columns import created_at, fk, pk
from dialer.kit.db import Base, str_enum


class DialMode(enum.StrEnum):
    PREVIEW = "preview"
    PROGRESSIVE = "progressive"


class CampaignStatus(enum.StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = pk()
    client_id: Mapped[int] = fk("clients.id")
    name: Mapped[str] = mapped_column(String(128))
    mode: Mapped[DialMode] = mapped_column(str_enum(DialMode), default=DialMode.PREVIEW)
    status: Mapped[CampaignStatus] = mapped_column(str_enum(CampaignStatus), default=CampaignStatus.PAUSED)
    team: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = created_at()
