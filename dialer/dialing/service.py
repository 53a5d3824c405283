"""Dialing: reserve (compliance) → call row → commit → ring the agent's seat → (when the agent
answers and has heard the whisper) ring the party.

The party is only rung once the agent's leg is up, so no answered call ever waits for an agent.
Each step that touches the carrier runs after the step before it has committed
(``dialer.dialing.carrier_actions``), and its result is written in a unit of work of its own: a
crash between the two leaves a call that the reconciler settles (``dialer.dialing.reconcile``),
never a call nobody knows about.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from dialer.agents import repository as agents_repository
from dialer.agents import state as agents
from dialer.agents.errors import WrongMode
from dialer.agents.models import AgentSession, AgentState
from dialer.agents.states import IllegalTransition
from dialer.calls.models import Call
from dialer.calls.rows import NewOutboundCall
from dialer.campaigns.models import DialMode
from dialer.cases.holds import hold_for_call
from dialer.compliance import service as compliance
from dialer.compliance.service import Checked
from dialer.kit.errors import Conflict, Unavailable
from dialer.settings import Settings
from dialer.telephony.carrier import Carrier
from dialer.worklist.queue import Dialable, held_for_dial

log = logging.getLogger("dialer.dialing")


@dataclass(frozen=True, slots=True)
class Outbound:
    """What an outbound call is written with before the carrier is asked: the carrier's name and
    the agency's caller id. None of it when no carrier or caller id is configured (a dial is then
    refused, ``Unavailable``, before anything is written)."""

    carrier: str | None
    caller_id: str | None

    @classmethod
    def of(cls, carrier: Carrier | None, settings: Settings) -> Outbound:
        return cls(carrier.name if carrier is not None else None, settings.caller_id)


class AgentNotReady(Conflict):
    code = "agent_not_ready"


async def request_dial(
    session: AsyncSession, *, outbound: Outbound, agent_id: int, number_id: int, now: dt.datetime,
    campaign_id: int | None = None,
) -> Call:
    """The first unit of work of a preview dial: the agent must be ready or reserved, in preview
    mode, and hold the number's case (handed out by the queue: ``CaseNotHeld`` otherwise, nothing
    written); the case stays theirs through the call. The attempt is reserved, or ``PolicyBlocked``
    is raised after the refusal is recorded (the agent stays as they were). Then the call row, and
    the agent is dialing."""
    carrier, caller_id = _ready_to_dial(outbound)
    agent = await agents_repository.open_session(session, agent_id=agent_id, lock=True)
    _require_ready(agent)
    assert agent is not None
    if agent.mode != DialMode.PREVIEW.value:
        raise WrongMode("in progressive mode the engine dials for you; switch to preview to dial by hand",
                        mode=agent.mode)
    case_id = await held_for_dial(session, number_id=number_id, agent_id=agent.agent_id, now=now)
    checked = await compliance.reserve(session, number_id=number_id, at=now, agent_id=agent_id, seat_id=agent.seat_id,
                                       mode=DialMode.PREVIEW.value,
                                       call=_call_row(carrier, agent, caller_id, campaign_id, now))
    if case_id is not None:
        await hold_for_call(session, case_id=case_id, now=now)
    return await _dialing(session, agent, checked, now=now)


async def dial_reserved(
    session: AsyncSession, *, outbound: Outbound, agent: AgentSession, dialable: Dialable, now: dt.datetime,
    campaign_id: int | None,
) -> Call:
    """:func:`request_dial` for the progressive engine, whose hand-out has just read the case's
    parties locked, with this agent's context (``compliance.repository.load_case``), and chosen the
    number by the policy's decision on them: the attempt is reserved on that very read and decision
    (``compliance.service.reserve_on``), the call written with it. ``PolicyBlocked`` as for
    :func:`request_dial`."""
    carrier, caller_id = _ready_to_dial(outbound)
    _require_ready(agent)
    checked = await compliance.reserve_on(
        session, snapshot=dialable.snapshot, subject=dialable.subject, number_id=dialable.number.id, at=now,
        decision=dialable.decision, call=_call_row(carrier, agent, caller_id, campaign_id, now))
    return await _dialing(session, agent, checked, now=now)


def _ready_to_dial(outbound: Outbound) -> tuple[str, str]:
    if outbound.carrier is None:
        raise Unavailable("no carrier is configured (DIALER_TWILIO_ACCOUNT_SID)")
    if not outbound.caller_id:
        raise Unavailable("no caller id is configured (DIALER_TWILIO_CALLER_ID)")
    return outbound.carrier, outbound.caller_id


def _require_ready(agent: AgentSession | None) -> None:
    if agent is None:
        raise AgentNotReady("log in at a seat before dialing")
    if AgentState(agent.state) not in (AgentState.READY, AgentState.RESERVED):
        raise AgentNotReady(f"an agent who is {agent.state.value} cannot dial", state=agent.state.value)


def _call_row(
    carrier: str, agent: AgentSession, caller_id: str, campaign_id: int | None, now: dt.datetime,
) -> dict[str, Any]:
    """The new call's columns but the party's (the reservation adds those): every column given, so
    the row written and the instance made of it (:func:`_dialing`) agree without a read."""
    return NewOutboundCall(carrier=carrier, agent_id=agent.agent_id, seat_id=agent.seat_id, campaign_id=campaign_id,
                           from_e164=caller_id, requested_at=now).row()


async def _dialing(session: AsyncSession, agent: AgentSession, checked: Checked, *, now: dt.datetime) -> Call:
    """The reserved call as an instance of the session (written already, with its attempt linked:
    the conference is named when the agent's TwiML starts it), and the agent dialing it."""
    assert checked.call is not None
    call = Call(**checked.call)
    make_transient_to_detached(call)
    session.add(call)
    try:
        await agents.dial(session, agent, call.id, now=now)
    except IllegalTransition as exc:  # cannot happen after the check above; kept explicit
        raise AgentNotReady(exc.detail) from exc
    return call
