"""The agents' domain errors, each with its stable code."""

from __future__ import annotations

from dialer.kit.errors import Conflict, InvalidInput, NotFound


class NotLoggedIn(NotFound):
    code = "not_logged_in"


class SeatTaken(Conflict):
    code = "seat_taken"


class SeatInactive(Conflict):
    code = "seat_inactive"


class AlreadyLoggedIn(Conflict):
    code = "already_logged_in"


class WrapUpPending(Conflict):
    code = "wrap_up_pending"


class ReasonRequired(InvalidInput):
    code = "not_ready_reason_required"


class WrongMode(Conflict):
    code = "wrong_mode"


class AgentBusy(Conflict):
    code = "agent_busy"
