from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from pydantic import Field

from dialer.calls.models import CallOutcome, CallState, Direction
from dialer.cases.models import Bucket, CaseStatus, Contactability, NumberKind, PartyRole, Relation
from dialer.compliance.schemas import ViolationOut
from dialer.kit.schemas import Schema
from dialer.notes.models import Disposition, PromiseStatus

# --- session, state, mode ---------------------------------------------------------------------

class SkipIn(Schema):
    reason: str = Field(min_length=2, max_length=500, description="Why the case is passed over (recorded)")


class NumberCard(Schema):
    id: int
    e164: str
    kind: NumberKind
    valid: bool
    allowed: bool
    violations: list[ViolationOut]
    next_allowed_at: dt.datetime | None = Field(description="Now when allowed; null when only a person can lift the block")


class PartyCard(Schema):
    id: int
    role: PartyRole
    relation: Relation
    name: str
    time_zone: str | None
    debt_related: bool
    allowed: bool
    next_allowed_at: dt.datetime | None
    numbers: list[NumberCard]


class CaseSummary(Schema):
    id: int
    client_id: int
    client_name: str
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
    team: str | None
    assigned_agent_id: int | None
    next_follow_up_at: dt.datetime | None
    last_contact_at: dt.datetime | None


class CallLine(Schema):
    id: int
    direction: Direction
    state: CallState
    outcome: CallOutcome | None
    party_id: int | None
    number_id: int | None
    to_e164: str | None
    agent_id: int | None
    conversation: bool
    requested_at: dt.datetime
    answered_at: dt.datetime | None
    ended_at: dt.datetime | None
    talk_s: int | None


class NoteLine(Schema):
    id: int
    call_id: int
    party_id: int | None
    agent_id: int
    disposition: Disposition
    contact_name: str | None
    contact_number: str | None
    contact_status: str | None
    arrears_reason: str | None
    result: str | None
    assessment: str | None
    recovery_likelihood: str | None
    next_action: str | None
    next_follow_up_date: dt.date | None
    special_notes: str | None
    created_at: dt.datetime


class PromiseLine(Schema):
    id: int
    party_id: int | None
    amount: Decimal
    reduction: Decimal
    due_date: dt.date
    status: PromiseStatus
    paid_amount: Decimal
    created_at: dt.datetime


class CaseCard(Schema):
    """What the agent sees before dialing: the case, whom they may call now and when next, history."""

    case: CaseSummary
    tier: Literal["promise_due", "follow_up_due", "backlog"] = Field(description="Why this case comes first")
    held_until: dt.datetime
    policy_version: int
    allowed: bool = Field(description="Some number of the case may be called now")
    parties: list[PartyCard]
    calls: list[CallLine] = Field(description="Recent calls, newest first")
    notes: list[NoteLine] = Field(description="Previous wrap-up notes, newest first")
    promises: list[PromiseLine]


# --- why the queue gives nothing ----------------------------------------------------------------

class RuleCount(Schema):
    rule: str = Field(description="A policy rule, as cases.blocked_rules names it (calling_window, stop_contact...)")
    cases: int = Field(description="Open cases in scope it sets aside now (a case set aside by several rules "
                                   "counts under each)")
    next_allowed_at: dt.datetime = Field(description="The earliest instant one of them is offered again")


Reason = Literal["calling_window", "caps", "stops", "numbers", "other"]


class ReasonCount(Schema):
    reason: Reason = Field(
        description="The rules by kind: the calling window; the caps (calls a day or hour, Reg F's 7 in 7 and "
                    "pause); stop-contact requests; no valid number; the others")
    cases: int = Field(description="Open cases in scope set aside by a rule of this kind (each counted once)")
    next_allowed_at: dt.datetime = Field(description="The earliest instant one of them is offered again")


class WindowOpening(Schema):
    zone: str = Field(description="A client's time zone (IANA name)")
    opens_at: dt.datetime = Field(description="The earliest instant one of them may be called again")
    cases: int = Field(description="Open cases in scope of that zone the calling window holds back (set aside by "
                                   "it, and by a cap at most)")


class QueueStatus(Schema):
    """Why the work queue has nothing for the agent now: what is in their scope, counted as the
    queue recorded it (a case is set aside once a hand-out asked the policy about it)."""

    mode: Literal["preview", "progressive"] = Field(description="The agent's mode: progressive counts only the "
                                                                "clients of the running progressive campaigns")
    campaigns: int | None = Field(description="Running progressive campaigns open to the agent's teams "
                                              "(progressive mode; null in preview)")
    open: int = Field(description="Open cases in scope: the agent's own and their teams' that nobody is assigned to")
    callable: int = Field(description="Of them, neither held (by anyone), resting, set aside nor skipped by the "
                                      "agent: callable as far as the queue knows (it has not asked the policy yet)")
    held: int = Field(description="Held by other agents now (handed out, or on a call)")
    resting: int = Field(description="Resting after a call, offered to nobody for a while")
    skipped: int = Field(description="Skipped by the agent a short while ago (offered to them again later)")
    set_aside: int = Field(description="Set aside by the policy now (cases.next_allowed_at in the future)")
    next_allowed_at: dt.datetime | None = Field(description="The earliest instant a case set aside is offered again")
    rules: list[RuleCount] = Field(description="The cases set aside, by rule, the most first")
    reasons: list[ReasonCount] = Field(description="The cases set aside, by kind of rule, the most first")
    window: list[WindowOpening] = Field(description="When the calling window is what holds cases back: when it "
                                                    "opens again in each client zone, the earliest first")
