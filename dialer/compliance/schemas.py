from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, model_validator

from dialer.compliance.models import StopSource
from dialer.kit.bounds import Instant, RowId
from dialer.kit.schemas import Schema


class CheckRequest(Schema):
    number_id: RowId | None = None
    party_id: RowId | None = None
    channel: Literal["call", "sms"] = "call"
    at: Instant | None = Field(None, description="ISO 8601 with offset; default now")
    agent_id: RowId | None = None
    seat_id: RowId | None = None

    @model_validator(mode="after")
    def _one_target(self) -> "CheckRequest":
        if (self.number_id is None) == (self.party_id is None):
            raise ValueError("give exactly one of number_id or party_id")
        return self


class ViolationOut(Schema):
    rule: str
    message: str
    message_en: str
    message_zh: str
    retry_at: dt.datetime | None


class DecisionOut(Schema):
    allowed: bool
    violations: list[ViolationOut]
    next_allowed_at: dt.datetime | None
    policy_version: int
    decision_id: int
    party_id: int
    number_id: int | None
    at: dt.datetime


class AttemptIn(Schema):
    number_id: RowId
    started_at: Instant
    outcome: Literal["answered", "no_answer", "busy", "rejected", "failed", "voicemail", "canceled"]
    conversation: bool = False


class AttemptImport(Schema):
    attempts: list[AttemptIn] = Field(min_length=1, max_length=100_000)


class AttemptImportOut(Schema):
    imported: int


class StopContactIn(Schema):
    source: Literal["party_request", "hostile"] = Field(description="The client's own list is imported, not added here")
    reason: str = Field(min_length=2, max_length=2000)
    number_id: RowId | None = Field(None, description="Stop only this number; omitted stops the whole party")


class LiftIn(Schema):
    reason: str = Field(min_length=3, max_length=2000)


class StopContactOut(Schema):
    id: int
    client_id: int
    case_id: int | None
    party_id: int | None
    e164: str | None
    id_number: str | None
    source: StopSource
    reason: str
    created_by_id: int | None
    created_at: dt.datetime
    lifted_at: dt.datetime | None
    lifted_by_id: int | None
    lift_reason: str | None


class ReportItemOut(Schema):
    id: int
    client_id: int
    stop_contact_id: int
    case_id: int | None
    party_id: int | None
    status: str
    created_at: dt.datetime
    reported_at: dt.datetime | None
    report_reference: str | None


class ReportedIn(Schema):
    reference: str = Field(min_length=1, max_length=128, description="How it was reported to the client")


class CapUsage(Schema):
    rule: str
    used: int
    limit: int
    window: str
    resets_at: dt.datetime | None


class ContactStatusOut(Schema):
    party_id: int
    at: dt.datetime
    policy_version: int
    caps: list[CapUsage]
    decision: DecisionOut
