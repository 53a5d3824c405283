"""Wrap-up notes (work-instruction 5.2.2), promises to pay and payments."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import Date, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dialer.kit.columns import created_at, fk, pk
from dialer.kit.db import Base, str_enum
from dialer.kit.types import Money, UTCDateTime


class Disposition(enum.StrEnum):
    PROMISE_TO_PAY = "promise_to_pay"
    PAID = "paid"
    REFUSED = "refused"
    WRONG_NUMBER = "wrong_number"
    NO_CONTACT = "no_contact"
    THIRD_PARTY_MESSAGE = "third_party_message"
    THIRD_PARTY_STOP = "third_party_stop"
    HOSTILE = "hostile"
    CALLBACK_REQUESTED = "callback_requested"


class PromiseStatus(enum.StrEnum):
    PENDING = "pending"
    KEPT = "kept"
    BROKEN = "broken"
    CANCELLED = "cancelled"


class WrapUpNote(Base):
    __tablename__ = "wrap_up_notes"

    id: Mapped[int] = pk()
    call_id: Mapped[int] = fk("calls.id", index=False)
    case_id: Mapped[int] = fk("cases.id")
    party_id: Mapped[int | None] = fk("parties.id", nullable=True, index=False)
    agent_id: Mapped[int] = fk("users.id", index=False)
    disposition: Mapped[Disposition] = mapped_column(str_enum(Disposition))
    contact_name: Mapped[str | None] = mapped_column(String(128))
    contact_number: Mapped[str | None] = mapped_column(String(32))
    contact_status: Mapped[str | None] = mapped_column(String(64))
    arrears_reason: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str | None] = mapped_column(Text)
    assessment: Mapped[str | None] = mapped_column(Text)
    equipment_status: Mapped[str | None] = mapped_column(Text)
    recovery_likelihood: Mapped[str | None] = mapped_column(String(32))
    next_action: Mapped[str | None] = mapped_column(Text)
    next_follow_up_date: Mapped[dt.date | None] = mapped_column(Date)
    special_notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = created_at()

    __table_args__ = (UniqueConstraint("call_id"),)


class PromiseToPay(Base):
    __tablename__ = "promises"
    __table_args__ = (Index("ix_promises_call", "call_id"),)  # a call's page lists the promises made on it

    id: Mapped[int] = pk()
    case_id: Mapped[int] = fk("cases.id")
    call_id: Mapped[int | None] = fk("calls.id", nullable=True, index=False)
    note_id: Mapped[int | None] = fk("wrap_up_notes.id", nullable=True, index=False)
    party_id: Mapped[int | None] = fk("parties.id", nullable=True, index=False)
    amount: Mapped[Decimal] = mapped_column(Money())
    reduction: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    authorisation_ref: Mapped[str | None] = mapped_column(String(128))
    due_date: Mapped[dt.date] = mapped_column(Date, index=True)
    status: Mapped[PromiseStatus] = mapped_column(str_enum(PromiseStatus), default=PromiseStatus.PENDING)
    paid_amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    created_by_id: Mapped[int | None] = fk("users.id", nullable=True, index=False)
    created_at: Mapped[dt.datetime] = created_at()
    settled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class Payment(Base):
    __tablename__ = "payments"
    __table_args__ = (UniqueConstraint("client_id", "reference"),)

    id: Mapped[int] = pk()
    client_id: Mapped[int] = fk("clients.id", index=False)
    case_id: Mapped[int] = fk("cases.id")
    promise_id: Mapped[int | None] = fk("promises.id", nullable=True, index=False)
    amount: Mapped[Decimal] = mapped_column(Money())
    paid_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    reference: Mapped[str] = mapped_column(String(128))
    import_batch_id: Mapped[int | None] = fk("import_batches.id", nullable=True, index=False)
    created_at: Mapped[dt.datetime] = created_at()
