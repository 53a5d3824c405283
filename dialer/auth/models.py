"""Users, their roles, and integration API keys."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dialer.kit.columns import created_at, fk, pk
from dialer.kit.db import Base, str_enum
from dialer.kit.types import UTCDateTime


class Role(enum.StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    INTEGRATION = "integration"
    AUDITOR = "auditor"
    """Reads the evidence (the ledger, calls, recordings, notes, stop-contacts, the audit log) and
    exports it; changes nothing. Every recording they reach is audited, as for every other role."""


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = pk()
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    role: Mapped[Role] = mapped_column(str_enum(Role))
    team: Mapped[str | None] = mapped_column(String(64), index=True)
    password_hash: Mapped[str | None] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = created_at()
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Carried in every bearer token; raised by a password change or a deactivation, so every
    token issued before dies (and a re-activation does not bring them back)."""


class ApiKey(Base):
    """A key for an integration user. Only its SHA-256 is stored; ``prefix`` finds it."""

    __tablename__ = "api_keys"

    id: Mapped[int] = pk()
    user_id: Mapped[int] = fk("users.id")
    name: Mapped[str] = mapped_column(String(128))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = created_at()
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())



class LoginThrottle(Base):
    """Failed logins counted per username and per source address, shared by every replica.

    ``failures`` counts within the window begun at ``window_started_at``; reaching the limit locks
    the key until ``locked_until`` and raises ``lockouts``, which lengthens the next lock
    (``dialer.auth.throttle``)."""

    __tablename__ = "login_throttles"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: Mapped[int] = pk()
    scope: Mapped[str] = mapped_column(String(8))  # "user" | "source"
    key: Mapped[str] = mapped_column(String(128))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    lockouts: Mapped[int] = mapped_column(Integer, default=0)
