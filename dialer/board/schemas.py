"""The board's floor as the API gives it."""

from __future__ import annotations

import datetime as dt

from dialer.agents.models import AgentState
from dialer.calls.models import CallState, Direction
from pydantic import Field

from dialer.kit.schemas import Schema


class Thresholds(Schema):
    """When the board flags an agent (``DIALER_BOARD_LONG_*``): seconds in the state."""

    long_call_s: int
    long_wrap_up_s: int
    long_not_ready_s: int
    long_idle_s: int
    """Ready this long while a running campaign of the agent's team has cases to call."""


class FloorSeat(Schema):
    id: int
    code: str


class FloorSupervisor(Schema):
    """A supervisor on the call now."""

    supervisor_id: int
    display_name: str
    participant_call_id: str
    mode: str
    mode_since: dt.datetime


class FloorCall(Schema):
    """The call an agent holds: who is on the other end (their role on the case, not their name)."""

    id: int
    state: CallState
    direction: Direction
    party_role: str | None
    relation: str | None
    client_code: str | None
    requested_at: dt.datetime
    answered_at: dt.datetime | None
    bridged_at: dt.datetime | None
    supervisable: bool
    """Bridged in a conference: a supervisor can monitor, whisper or barge."""
    supervisors: list[FloorSupervisor] = Field(default_factory=list)


class FloorAgent(Schema):
    session_id: int
    agent_id: int
    username: str
    display_name: str
    team: str | None
    seat: FloorSeat
    state: AgentState
    state_reason: str | None
    state_since: dt.datetime
    mode: str
    call: FloorCall | None


class Floor(Schema):
    """The floor now; ``last_event_id`` is where the board's event stream goes on from."""

    now: dt.datetime
    last_event_id: int
    thresholds: Thresholds
    agents: list[FloorAgent]


class PressureOut(Schema):
    """A party a cap is about to stop (at it, or one attempt from it), or a Reg F pause holds."""

    party_id: int
    case_id: int
    account_ref: str
    client_code: str
    role: str
    relation: str
    rule: str
    used: int | None = Field(description="The attempts (or conversations) counted now; null for a pause")
    limit: int | None
    at_cap: bool = Field(description="True: the rule refuses a dial now; false: one more attempt reaches it")
    until: dt.datetime | None = Field(description="When the count drops, or the pause ends")


class ClosingOut(Schema):
    """A calling window open now that closes soon, in one client zone."""

    zone: str
    closes_at: dt.datetime = Field(description="To the minute")
    clients: list[str] = Field(description="The clients (codes) whose window it is")
    cases: int = Field(description="Open cases in scope of those clients")


class ComplianceNow(Schema):
    now: dt.datetime
    pressure: list[PressureOut]
    closing: list[ClosingOut]


class CampaignOut(Schema):
    """A campaign and its work now."""

    id: int
    name: str
    client_code: str
    mode: str
    status: str
    team: str | None
    queue: int = Field(description="Open cases of its client (and team) neither held, resting nor set aside now")
    set_aside: int = Field(description="Open cases the policy sets aside now")
    dials_last_minute: int
    live_calls: int = Field(description="Its calls not ended (requested in the last four hours)")
