from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, model_validator

from dialer.agents.models import AgentState, NotReadyReason
from dialer.campaigns.models import DialMode
from dialer.kit.bounds import RowId
from dialer.kit.schemas import Schema

# --- session, state, mode ---------------------------------------------------------------------

class LoginIn(Schema):
    seat_id: RowId | None = Field(None, description="The seat's id; or give seat_code")
    seat_code: str | None = Field(None, min_length=1, max_length=32, description="The station's label, e.g. 'A-07'")
    mode: DialMode = DialMode.PREVIEW

    @model_validator(mode="after")
    def _one_seat(self) -> "LoginIn":
        if (self.seat_id is None) == (self.seat_code is None):
            raise ValueError("give exactly one of seat_id or seat_code")
        return self


class StateIn(Schema):
    state: Literal["ready", "not_ready"]
    reason: NotReadyReason | None = Field(None, description="Required for not_ready: " + ", ".join(NotReadyReason))


class ModeIn(Schema):
    mode: DialMode


class ForceLogoutIn(Schema):
    reason: str | None = Field(None, max_length=500)


class SeatBrief(Schema):
    id: int
    code: str
    softphone_identity: str
    team: str | None


class SessionOut(Schema):
    id: int
    agent_id: int
    seat: SeatBrief
    state: AgentState
    state_reason: str | None
    state_since: dt.datetime
    mode: str
    current_call_id: int | None
    held_case_id: int | None
    started_at: dt.datetime


class BoardRow(Schema):
    """One logged-in agent on the supervisor board."""

    id: int
    agent_id: int
    username: str
    display_name: str
    team: str | None
    seat: SeatBrief
    state: AgentState
    state_reason: str | None
    state_since: dt.datetime
    mode: str
    current_call_id: int | None
    held_case_id: int | None
    started_at: dt.datetime


# --- preview: the case card --------------------------------------------------------------------
