"""Cases, the parties on a case (debtor and third parties) and their phone numbers."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import Boolean, Date, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from dialer.kit.columns import created_at, fk, pk, updated_at
from dialer.kit.db import Base, BigIntPK, str_enum
from dialer.kit.types import Money, UTCDateTime


class CaseStatus(enum.StrEnum):
    OPEN = "open"
    PAUSED = "paused"
    SETTLED = "settled"
    PAID = "paid"
    RETURNED = "returned"  # handed back to the client


class Bucket(enum.StrEnum):
    M1 = "M1"
    M2 = "M2"
    M3_PLUS = "M3+"

    @classmethod
    def for_days(cls, overdue_days: int) -> "Bucket":
        if overdue_days <= 30:
            return cls.M1
        if overdue_days <= 60:
            return cls.M2
        return cls.M3_PLUS


class Contactability(enum.StrEnum):
    REACHABLE = "reachable"
    PARTLY_LOST = "partly_lost"
    LOST = "lost"


class PartyRole(enum.StrEnum):
    DEBTOR = "debtor"
    THIRD_PARTY = "third_party"


class Relation(enum.StrEnum):
    SELF = "self"
    SPOUSE = "spouse"
    PARENT = "parent"
    SIBLING = "sibling"
    CHILD = "child"
    COLLEAGUE = "colleague"
    FRIEND = "friend"
    OTHER = "other"


class NumberKind(enum.StrEnum):
    MOBILE = "mobile"
    HOME = "home"
    WORK = "work"
    OTHER = "other"


_FREE = (text("coalesce(held_until, '-infinity')"), text("coalesce(next_allowed_at, '-infinity')"))
"""The instants a hold and a parking let a case go (the beginning of time when none): the work
queue's hand-out compares these very expressions with the instant."""


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("client_id", "account_ref"),
        Index("ix_cases_queue", "status", "client_id", "bucket", "next_follow_up_at"),
        # The work queue (dialer.worklist.queue): open cases by bucket and amount, read backwards;
        # follow-ups due; the case an agent holds. The first two end with the instants a hold and
        # a parking let the case go, so the index passes over resting and parked cases itself
        # (migration 0004).
        Index("ix_cases_backlog", "status", "bucket", "total_owed", "id", *_FREE),
        Index("ix_cases_follow_ups", "status", "next_follow_up_at", "id", *_FREE),
        Index("ix_cases_promises_due", "status", "promise_due_on", "id", *_FREE),
        Index("ix_cases_held_by", "held_by_agent_id"),
    )

    id: Mapped[int] = pk()
    client_id: Mapped[int] = fk("clients.id")
    account_ref: Mapped[str] = mapped_column(String(64))
    product: Mapped[str | None] = mapped_column(String(32))
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    principal: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    interest_fees: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    total_owed: Mapped[Decimal] = mapped_column(Money())
    overdue_days: Mapped[int] = mapped_column(Integer)
    overdue_as_of: Mapped[dt.date] = mapped_column(Date)
    bucket: Mapped[Bucket] = mapped_column(str_enum(Bucket, 8))
    status: Mapped[CaseStatus] = mapped_column(str_enum(CaseStatus), default=CaseStatus.OPEN)
    contactability: Mapped[Contactability] = mapped_column(
        str_enum(Contactability), default=Contactability.REACHABLE
    )
    assigned_agent_id: Mapped[int | None] = fk("users.id", nullable=True)
    team: Mapped[str | None] = mapped_column(String(64), index=True)
    next_follow_up_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_contact_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The work queue's own facts (dialer.worklist.queue):
    next_allowed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    """The policy refused every number of the case at its last evaluation: the queue does not offer
    it before this instant (for a block only a person can lift, a re-check time)."""
    blocked_rules: Mapped[str | None] = mapped_column(String(200))
    """The rules of that refusal, comma-separated; None when the case was not refused."""
    held_by_agent_id: Mapped[int | None] = mapped_column(BigIntPK)
    """The agent the case is handed out to (no foreign key: a transient marker, see held_until)."""
    held_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    """Not offered to anyone else before this instant (a hand-out's hold, or a rest after release)."""
    promise_due_on: Mapped[dt.date | None] = mapped_column(Date)
    """The due date of the case's earliest pending promise (None: none pending). Kept by the
    database itself (triggers on ``promises``, migration 0004), so the work queue finds the cases
    with a promise due on an index of its own; read-only for the code."""
    import_batch_id: Mapped[int | None] = fk("import_batches.id", nullable=True, index=False)
    created_at: Mapped[dt.datetime] = created_at()
    updated_at: Mapped[dt.datetime] = updated_at()


class Party(Base):
    __tablename__ = "parties"

    id: Mapped[int] = pk()
    case_id: Mapped[int] = fk("cases.id", ondelete="CASCADE")
    role: Mapped[PartyRole] = mapped_column(str_enum(PartyRole))
    relation: Mapped[Relation] = mapped_column(str_enum(Relation))
    name: Mapped[str] = mapped_column(String(128))
    id_number: Mapped[str | None] = mapped_column(String(32), index=True)
    debt_related: Mapped[bool] = mapped_column(Boolean, default=False)
    time_zone: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = created_at()


class PhoneNumber(Base):
    __tablename__ = "phone_numbers"
    __table_args__ = (UniqueConstraint("party_id", "e164"),)

    id: Mapped[int] = pk()
    party_id: Mapped[int] = fk("parties.id", ondelete="CASCADE")
    e164: Mapped[str] = mapped_column(String(20), index=True)
    kind: Mapped[NumberKind] = mapped_column(str_enum(NumberKind), default=NumberKind.MOBILE)
    region: Mapped[str | None] = mapped_column(String(2))
    time_zone: Mapped[str | None] = mapped_column(String(64))
    valid: Mapped[bool] = mapped_column(Boolean, default=True)
    invalid_reason: Mapped[str | None] = mapped_column(String(200))
    invalid_marked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = created_at()
