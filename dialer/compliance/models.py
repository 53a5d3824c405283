"""The compliance ledger: decisions, attempts, stop-contact entries, reports to the client, consents."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dialer.kit.columns import created_at, fk, pk
from dialer.kit.db import Base, JSONDoc, str_enum
from dialer.kit.types import UTCDateTime


class Channel(enum.StrEnum):
    CALL = "call"
    SMS = "sms"


class AttemptSource(enum.StrEnum):
    DIALER = "dialer"
    IMPORT = "import"


class StopSource(enum.StrEnum):
    CLIENT_LIST = "client_list"
    PARTY_REQUEST = "party_request"
    HOSTILE = "hostile"


class ReportStatus(enum.StrEnum):
    OPEN = "open"
    REPORTED = "reported"


class ConsentKind(enum.StrEnum):
    CALLBACK = "callback"  # the party asked to be called back at a time
    SMS = "sms"  # the party agreed to receive SMS
    PREFERRED_WINDOW = "preferred_window"


class Decision(Base):
    """Append-only: one row per compliance decision, dry-run or real (DB triggers refuse changes)."""

    __tablename__ = "compliance_decisions"
    __table_args__ = (Index("ix_compliance_decisions_party_at", "party_id", "at"),)

    id: Mapped[int] = pk()
    client_id: Mapped[int | None] = fk("clients.id", nullable=True, index=False)
    policy_version: Mapped[int | None] = mapped_column(Integer)
    case_id: Mapped[int | None] = fk("cases.id", nullable=True, index=False)
    party_id: Mapped[int | None] = fk("parties.id", nullable=True, index=False)
    number_id: Mapped[int | None] = fk("phone_numbers.id", nullable=True, index=False)
    agent_id: Mapped[int | None] = fk("users.id", nullable=True, index=False)
    seat_id: Mapped[int | None] = fk("seats.id", nullable=True, index=False)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    allowed: Mapped[bool] = mapped_column(Boolean)
    dry_run: Mapped[bool] = mapped_column(Boolean)
    violations: Mapped[list[dict[str, Any]]] = mapped_column(JSONDoc, default=list)
    rule_results: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    next_allowed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = created_at()


class Attempt(Base):
    """An outbound call attempt to a party's number, placed by us or imported from a previous dialer."""

    __tablename__ = "attempts"
    __table_args__ = (
        Index("ix_attempts_party_started", "party_id", "started_at"),
        Index("ix_attempts_number_started", "number_id", "started_at"),
        Index("ix_attempts_started", "started_at"),  # the board's recently attempted parties
    )

    id: Mapped[int] = pk()
    client_id: Mapped[int] = fk("clients.id", index=False)
    case_id: Mapped[int] = fk("cases.id", index=False)
    party_id: Mapped[int] = fk("parties.id", index=False)
    number_id: Mapped[int | None] = fk("phone_numbers.id", nullable=True, index=False)
    call_id: Mapped[int | None] = fk("calls.id", nullable=True)
    decision_id: Mapped[int | None] = fk("compliance_decisions.id", nullable=True, index=False)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(String(16))
    conversation: Mapped[bool] = mapped_column(Boolean, default=False)
    direction: Mapped[str] = mapped_column(String(8), default="outbound")
    source: Mapped[AttemptSource] = mapped_column(str_enum(AttemptSource), default=AttemptSource.DIALER)
    created_at: Mapped[dt.datetime] = created_at()


class StopContact(Base):
    """A party, number or identity the client or the party said must not be contacted."""

    __tablename__ = "stop_contacts"
    __table_args__ = (
        CheckConstraint(
            "party_id IS NOT NULL OR e164 IS NOT NULL OR id_number IS NOT NULL", name="has_target"
        ),
        Index("ix_stop_contacts_client_e164", "client_id", "e164"),
        Index("ix_stop_contacts_client_id_number", "client_id", "id_number"),
    )

    id: Mapped[int] = pk()
    client_id: Mapped[int] = fk("clients.id", index=False)
    case_id: Mapped[int | None] = fk("cases.id", nullable=True, index=False)
    party_id: Mapped[int | None] = fk("parties.id", nullable=True)
    e164: Mapped[str | None] = mapped_column(String(20))
    id_number: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[StopSource] = mapped_column(str_enum(StopSource))
    reason: Mapped[str] = mapped_column(Text)
    import_batch_id: Mapped[int | None] = fk("import_batches.id", nullable=True, index=False)
    created_by_id: Mapped[int | None] = fk("users.id", nullable=True, index=False)
    created_at: Mapped[dt.datetime] = created_at()
    lifted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    lifted_by_id: Mapped[int | None] = fk("users.id", nullable=True, index=False)
    lift_reason: Mapped[str | None] = mapped_column(Text)


class ClientReportItem(Base):
    """A third party's request not to be called, queued for the supervisor to report to the client."""

    __tablename__ = "client_report_items"

    id: Mapped[int] = pk()
    client_id: Mapped[int] = fk("clients.id")
    stop_contact_id: Mapped[int] = fk("stop_contacts.id", index=False)
    case_id: Mapped[int | None] = fk("cases.id", nullable=True, index=False)
    party_id: Mapped[int | None] = fk("parties.id", nullable=True, index=False)
    status: Mapped[ReportStatus] = mapped_column(str_enum(ReportStatus), default=ReportStatus.OPEN)
    created_at: Mapped[dt.datetime] = created_at()
    reported_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    reported_by_id: Mapped[int | None] = fk("users.id", nullable=True, index=False)
    report_reference: Mapped[str | None] = mapped_column(String(128))


class Consent(Base):
    __tablename__ = "consents"

    id: Mapped[int] = pk()
    party_id: Mapped[int] = fk("parties.id")
    number_id: Mapped[int | None] = fk("phone_numbers.id", nullable=True, index=False)
    kind: Mapped[ConsentKind] = mapped_column(str_enum(ConsentKind))
    callback_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    valid_from: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    valid_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    source_call_id: Mapped[int | None] = fk("calls.id", nullable=True, index=False)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = created_at()
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
