from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import Field, field_validator, model_validator

from dialer.cases.models import Bucket, CaseStatus, Contactability, NumberKind, PartyRole, Relation
from dialer.kit.bounds import AfterId, Count, RowId
from dialer.kit.patch import Omittable
from dialer.kit.schemas import Schema, TimeZoneName

Amount = Decimal


class NumberIn(Schema):
    number: str = Field(min_length=3, max_length=32, description="E.164 (+8613800138000) or national form for the client's country")
    kind: NumberKind | None = Field(None, description="Defaults to what the number's prefix says")
    time_zone: TimeZoneName | None = None


class PartyIn(Schema):
    role: PartyRole
    name: str = Field(min_length=1, max_length=128)
    relation: Relation | None = Field(None, description="Required for a third party; 'self' for the debtor")
    id_number: str | None = Field(None, max_length=32)
    debt_related: bool = False
    time_zone: TimeZoneName | None = None
    address: str | None = Field(None, max_length=1000)
    numbers: list[NumberIn] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _relation_fits_role(self) -> "PartyIn":
        if self.role is PartyRole.DEBTOR:
            if self.relation not in (None, Relation.SELF):
                raise ValueError("relation: a debtor's relation is 'self'")
            self.relation = Relation.SELF
        elif self.relation in (None, Relation.SELF):
            raise ValueError("relation: a third party needs its relation (spouse, parent, sibling, child, colleague, friend, other)")
        return self


class CaseCreate(Schema):
    client_id: RowId
    account_ref: str = Field(min_length=1, max_length=64)
    product: str | None = Field(None, max_length=32)
    currency: str = Field("CNY", pattern=r"^[A-Z]{3}$")
    principal: Amount = Field(Decimal("0"), ge=0, max_digits=14, decimal_places=2)
    interest_fees: Amount = Field(Decimal("0"), ge=0, max_digits=14, decimal_places=2)
    total_owed: Amount = Field(ge=0, max_digits=14, decimal_places=2)
    overdue_days: int = Field(ge=0, le=36500)
    team: str | None = Field(None, max_length=64)
    assigned_agent_id: RowId | None = None
    parties: list[PartyIn] = Field(min_length=1, max_length=30)

    @model_validator(mode="after")
    def _one_debtor(self) -> "CaseCreate":
        debtors = sum(1 for p in self.parties if p.role is PartyRole.DEBTOR)
        if debtors != 1:
            raise ValueError(f"parties: a case has exactly one debtor, got {debtors}")
        return self


class CaseUpdate(Schema):
    status: Omittable[CaseStatus] = None
    contactability: Omittable[Contactability] = None
    team: str | None = Field(None, max_length=64)
    assigned_agent_id: RowId | None = None
    overdue_days: Omittable[int] = Field(None, ge=0, le=36500)
    total_owed: Omittable[Amount] = Field(None, ge=0, max_digits=14, decimal_places=2)


class NumberUpdate(Schema):
    valid: Omittable[bool] = None
    invalid_reason: str | None = Field(None, max_length=200)
    kind: Omittable[NumberKind] = None
    time_zone: TimeZoneName | None = None

    @model_validator(mode="after")
    def _reason_when_invalid(self) -> "NumberUpdate":
        if self.valid is False and not self.invalid_reason:
            raise ValueError("invalid_reason: required when marking a number invalid")
        return self


class NumberOut(Schema):
    id: int
    party_id: int
    e164: str
    kind: NumberKind
    region: str | None
    time_zone: str | None
    valid: bool
    invalid_reason: str | None
    position: int


class PartyOut(Schema):
    id: int
    case_id: int
    role: PartyRole
    relation: Relation
    name: str
    id_number: str | None
    debt_related: bool
    time_zone: str | None
    numbers: list[NumberOut] = Field(default_factory=list)


class CaseOut(Schema):
    id: int
    client_id: int
    account_ref: str
    product: str | None
    currency: str
    principal: Decimal
    interest_fees: Decimal
    total_owed: Decimal
    overdue_days: int
    overdue_as_of: dt.date
    bucket: Bucket
    status: CaseStatus
    contactability: Contactability
    assigned_agent_id: int | None
    team: str | None
    next_follow_up_at: dt.datetime | None
    last_contact_at: dt.datetime | None
    next_allowed_at: dt.datetime | None = Field(
        description="The policy set the case aside until then: the work queue offers it to nobody before this "
                    "instant (once it has passed, the case is offered again; a hold clears both fields)")
    blocked_rules: list[str] = Field(description="The rules that set the case aside at next_allowed_at's setting")
    held_by_agent_id: int | None = Field(description="The agent the work queue handed the case to (None after a rest)")
    held_until: dt.datetime | None = Field(
        description="Their hold's end, or the end of the rest after the case was worked (held_by_agent_id None)")
    created_at: dt.datetime

    @field_validator("blocked_rules", mode="before")
    @classmethod
    def _rules(cls, value: object) -> object:
        if value is None:
            return []
        return [rule for rule in value.split(",") if rule] if isinstance(value, str) else value


class CaseDetail(CaseOut):
    parties: list[PartyOut]


class CaseFilters(Schema):
    client_id: RowId | None = None
    status: CaseStatus | None = None
    bucket: Bucket | None = None
    contactability: Contactability | None = None
    assigned_agent_id: RowId | None = None
    team: str | None = None
    account_ref: str | None = None
    min_overdue_days: Count | None = None
    max_overdue_days: Count | None = None
    set_aside: bool | None = Field(None, description="true: only the cases the policy has set aside now "
                                                     "(next_allowed_at in the future); false: only the others")
    limit: int = Field(50, ge=1, le=500)
    after: AfterId | None = Field(None, description="Return cases with id greater than this")
