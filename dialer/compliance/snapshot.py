"""What the rules see: an immutable snapshot of one party, its history and the dialling context.

The repository builds it; the rules only read it. Nothing here touches a database or a clock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from dialer.kit.calendars import DayCalendar
from dialer.policy.document import PolicyDocument


@dataclass(frozen=True, slots=True)
class AttemptFact:
    started_at: dt.datetime
    number_id: int | None
    outcome: str | None  # None while the call is in progress: counted, conservatively
    conversation: bool = False
    direction: str = "outbound"


@dataclass(frozen=True, slots=True)
class NumberFact:
    id: int
    e164: str
    valid: bool = True
    time_zone: str | None = None
    prefix_zones: tuple[str, ...] = ()

    def zones(self) -> tuple[str, ...]:
        """Where this number says its party may be: the zone recorded on it (a person's or the
        import's word for this number, usually its prefix's single zone), else every zone its
        prefix suggests (a non-geographic prefix suggests every zone of its country)."""
        return (self.time_zone,) if self.time_zone else self.prefix_zones


@dataclass(frozen=True, slots=True)
class PartyFact:
    id: int
    case_id: int
    role: str  # "debtor" | "third_party"
    relation: str = "self"
    name: str = ""
    time_zone: str | None = None
    id_number: str | None = None
    debt_related: bool = False


@dataclass(frozen=True, slots=True)
class StopFact:
    id: int
    source: str  # client_list | party_request | hostile
    reason: str
    party_id: int | None = None
    e164: str | None = None
    id_number: str | None = None


@dataclass(frozen=True, slots=True)
class CallbackFact:
    """A callback the party asked for: calls to ``number_id`` (any number when None) within
    ``[starts, ends]`` are at their request (Reg F: consent given directly within 7 days)."""

    starts: dt.datetime
    ends: dt.datetime
    number_id: int | None = None
    given_at: dt.datetime | None = None

    def covers(self, number_id: int, at: dt.datetime) -> bool:
        return self.starts <= at <= self.ends and self.number_id in (None, number_id)


@dataclass(frozen=True, slots=True)
class AgentFact:
    agent_id: int
    seat_id: int | None
    seat_registered: bool  # the seat exists and is active
    session_at_seat: bool  # the agent is logged in at that very seat
    open_wrap_up_call_id: int | None = None  # a call of theirs still without notes


@dataclass(frozen=True, slots=True)
class DebtorReach:
    """What the third-party rule needs to know of the case's debtor."""

    recent_outbound: tuple[AttemptFact, ...] = ()  # newest first, at most N
    has_valid_number: bool = True
    case_lost_contact: bool = False


@dataclass(frozen=True, slots=True)
class Snapshot:
    policy: PolicyDocument
    policy_version: int
    party: PartyFact
    numbers: tuple[NumberFact, ...]  # all of the party's numbers (their zones are plausible zones)
    attempts: tuple[AttemptFact, ...] = ()  # the party's attempts and conversations in the look-back
    stops: tuple[StopFact, ...] = ()  # active stop-contact entries that may match
    channel: str = "call"
    agent: AgentFact | None = None  # None: a dry run that names no agent
    mode: str | None = None  # preview | progressive | predictive | agentless; None: not dialling
    third_party_conversed: bool = False  # ever spoken to (us_third_party_once)
    debtor: DebtorReach = field(default_factory=DebtorReach)
    callbacks: tuple[CallbackFact, ...] = ()  # callbacks the party asked for (read when a rule uses them)
    calendar: DayCalendar | None = None
    """The public holidays the calling window observes (the service's calendars, as the agency
    entered them, for the policy's ``holiday_calendar``); None: the shipped data of that calendar."""

    def number(self, number_id: int) -> NumberFact:
        for number in self.numbers:
            if number.id == number_id:
                return number
        raise KeyError(number_id)

