"""What the call history returns: the filtered list of calls (newest first) and a call's page
(the call, its timeline, the decision that allowed it, its whisper, note, promises and recordings).

No party names and no ID numbers (as ``call.completed``): a party is its role and relation. The
call's own numbers appear as ``GET /v1/calls/{id}`` shows them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from dialer.calls.schemas import RecordingFacts
from dialer.calls.models import CallOutcome, CallState, Direction
from dialer.cases.models import PartyRole, Relation
from dialer.compliance.models import Channel
from dialer.kit.bounds import Instant, RowId
from dialer.kit.schemas import Schema
from dialer.notes.models import Disposition, PromiseStatus

# --- the list -------------------------------------------------------------------------------



class CallFilters(Schema):
    """``GET /v1/calls``'s query: every filter given narrows the list (they combine with AND)."""

    model_config = ConfigDict(populate_by_name=True)

    from_: Instant | None = Field(None, alias="from",
                                  description="Calls started (requested) at or after this instant, with offset")
    to: Instant | None = Field(None, description="Calls started before this instant, with offset")
    agent_id: RowId | None = None
    team: str | None = Field(None, min_length=1, max_length=64,
                             description="Calls of this team: its agents' calls and the calls on its cases")
    client_id: RowId | None = None
    direction: Direction | None = None
    state: CallState | None = None
    outcome: CallOutcome | None = None
    party_id: RowId | None = None
    party_role: PartyRole | None = Field(None, description="Calls to a debtor or to a third party")
    case_id: RowId | None = None
    limit: int = Field(50, ge=1, le=500)
    before: RowId | None = Field(None, description="Continue after this call (the previous page's `next_before`)")

    @field_validator("from_", "to")
    @classmethod
    def _in_utc(cls, value: dt.datetime | None) -> dt.datetime | None:
        """As stored (UTC); ``Instant`` keeps the day within 1900-2199, so this cannot overflow."""
        return None if value is None else value.astimezone(dt.timezone.utc)

    @model_validator(mode="after")
    def _range_in_order(self) -> CallFilters:
        if self.from_ is not None and self.to is not None and self.to <= self.from_:
            raise ValueError("'to' must be after 'from'")
        return self


class AgentRef(Schema):
    id: int
    name: str
    team: str | None


class SeatRef(Schema):
    id: int
    code: str


class PartyRef(Schema):
    id: int
    role: PartyRole
    relation: Relation


class CaseRef(Schema):
    id: int
    account_ref: str
    team: str | None


class ClientRef(Schema):
    id: int
    code: str
    name: str


class CampaignRef(Schema):
    id: int
    name: str


class CallItem(Schema):
    id: int
    direction: Direction
    state: CallState
    outcome: CallOutcome | None
    disposition: Disposition | None = Field(description="The wrap-up note's disposition, once noted")
    requested_at: dt.datetime = Field(description="When the call started: the dial requested, or the caller rang in")
    answered_at: dt.datetime | None
    ended_at: dt.datetime | None
    duration_s: int | None = Field(description="The carrier's figure when it gave one, else from our time stamps "
                                               "(as call.completed says)")
    talk_s: int | None
    agent: AgentRef | None
    seat: SeatRef | None
    party: PartyRef | None
    number_id: int | None
    to_e164: str | None
    from_e164: str | None
    case: CaseRef | None
    client: ClientRef | None
    campaign: CampaignRef | None
    recordings: int = Field(description="How many recordings the call has (any status)")
    recording_stored: bool = Field(description="At least one of them is stored with us")
    recording_missing: bool = Field(description="The carrier reported that the call's recording failed")


class CallPage(Schema):
    items: list[CallItem]
    next_before: int | None = Field(description="Pass as `before` for the next (older) page; null on the last page")


# --- a call's page ------------------------------------------------------------------------------


class CallDetail(CallItem):
    carrier: str
    dialing_at: dt.datetime | None
    ringing_at: dt.datetime | None
    bridged_at: dt.datetime | None
    hangup_by: str | None
    error_code: str | None
    error_detail: str | None
    conference_name: str | None


class CallDecision(Schema):
    """The compliance decision the dial was made under (outbound calls; inbound calls have none)."""

    id: int
    at: dt.datetime
    channel: Channel
    allowed: bool
    dry_run: bool
    policy_version: int | None
    rule_results: dict[str, Any]
    violations: list[dict[str, Any]]
    next_allowed_at: dt.datetime | None


class CallNote(Schema):
    id: int
    agent_id: int
    party_id: int | None
    disposition: Disposition
    contact_name: str | None
    contact_status: str | None
    arrears_reason: str | None
    result: str | None
    assessment: str | None
    equipment_status: str | None
    recovery_likelihood: str | None
    next_action: str | None
    next_follow_up_date: dt.date | None
    special_notes: str | None
    created_at: dt.datetime


class CallPromise(Schema):
    id: int
    party_id: int | None
    note_id: int | None
    amount: Decimal
    reduction: Decimal
    authorisation_ref: str | None
    due_date: dt.date
    status: PromiseStatus
    paid_amount: Decimal
    created_by_id: int | None
    created_at: dt.datetime
    settled_at: dt.datetime | None


class RecordingLinks(Schema):
    """Where the recordings endpoints serve it (supervisor, admin, integration; every access audited)."""

    metadata: str
    media: str
    signed_link: str | None = Field(description="POST here for an expiring signed link to the media (null for an "
                                                "auditor, who listens through `media` only)")


class RecordingItem(RecordingFacts):
    created_at: dt.datetime
    archived_at: dt.datetime | None
    links: RecordingLinks | None = Field(
        description="The recordings endpoints for it; null for an agent (they do not serve agents)")


Source = Literal["state", "compliance", "carrier", "supervisor", "recording", "note", "promise", "audit"]


class EventActor(Schema):
    id: int
    name: str
    role: str | None


class TimelineEvent(Schema):
    at: dt.datetime
    source: Source = Field(description="state: the call's own time stamps and refused moves; compliance: the "
                                       "decision; carrier: callbacks as stored; supervisor: joins, mode switches, "
                                       "leaves; recording, note, promise; audit: other audited actions on the call")
    kind: str = Field(description="What happened, e.g. answered, call_status, joined, stored, promise_made")
    actor: EventActor | None = Field(None, description="Who did it, when a person did")
    detail: dict[str, Any] = Field(default_factory=dict)


class CallTimeline(Schema):
    call: CallDetail
    whisper_text: str | None = Field(description="What the agent heard (and saw) before being bridged")
    decision: CallDecision | None
    notes: list[CallNote] = Field(description="The wrap-up note (one per call), once saved")
    promises: list[CallPromise] = Field(description="Promises to pay made on this call")
    recordings: list[RecordingItem]
    events: list[TimelineEvent] = Field(description="Everything above and the carrier's callbacks, oldest first")
