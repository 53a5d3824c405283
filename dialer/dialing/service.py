"""Dialing: reserve (compliance) → call row → commit → ring the agent's seat → (when the agent
answers and has heard the whisper) ring the party.

The party is only rung once the agent's leg is up, so no answered call ever waits for an agent.
Each step that touches the carrier runs after the step before it has committed, and its result is
written in a unit of work of its own: a crash between the two leaves a call that the reconciler
settles (``dialer.dialing.reconcile``), never a call nobody knows about.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from dialer.agents import repository as agents_repository
from dialer.agents.errors import WrongMode
from dialer.agents.queue import Dialable, held_for_dial, hold_for_call
from dialer.agents.service import transition
from dialer.agents.states import IllegalTransition
from dialer.calls.models import Call, CallState, Direction
from dialer.compliance import service as compliance
from dialer.compliance.service import Checked
from dialer.container import Container
from dialer.dialing.legs import record_failure, record_placed
from dialer.dialing.models import DialMode
from dialer.dialing.urls import address_of, webhook_url
from dialer.kit.errors import Conflict, Unavailable
from dialer.kit.types import utcnow
from dialer.seats.models import AgentSession, AgentState, Seat
from dialer.telephony.carrier import CarrierError, CarrierUnavailable, PlaceCall

log = logging.getLogger("dialer.dialing")

PARTY_RING_S = 30
SEAT_RING_S = 15


class AgentNotReady(Conflict):
    code = "agent_not_ready"


async def request_dial(
    session: AsyncSession, *, container: Container, agent_id: int, number_id: int, now: dt.datetime,
    campaign_id: int | None = None,
) -> Call:
    """The first unit of work of a preview dial: the agent must be ready or reserved, in preview
    mode, and hold the number's case (handed out by the queue: ``CaseNotHeld`` otherwise, nothing
    written); the case stays theirs through the call. The attempt is reserved, or ``PolicyBlocked``
    is raised after the refusal is recorded (the agent stays as they were). Then the call row, and
    the agent is dialing."""
    caller_id = _caller_id(container)
    agent = await agents_repository.open_session(session, agent_id=agent_id, lock=True)
    _require_ready(agent)
    assert agent is not None
    if agent.mode != DialMode.PREVIEW.value:
        raise WrongMode("in progressive mode the engine dials for you; switch to preview to dial by hand",
                        mode=agent.mode)
    case_id = await held_for_dial(session, number_id=number_id, agent_id=agent.agent_id, now=now)
    checked = await compliance.reserve(session, number_id=number_id, at=now, agent_id=agent_id, seat_id=agent.seat_id,
                                       mode=DialMode.PREVIEW.value,
                                       call=_call_row(container, agent, caller_id, campaign_id, now))
    if case_id is not None:
        await hold_for_call(session, case_id=case_id, now=now)
    return await _dialing(session, agent, checked, now=now)


async def dial_reserved(
    session: AsyncSession, *, container: Container, agent: AgentSession, dialable: Dialable, now: dt.datetime,
    campaign_id: int | None,
) -> Call:
    """:func:`request_dial` for the progressive engine, whose hand-out has just read the case's
    parties locked, with this agent's context (``compliance.repository.load_case``), and chosen the
    number by the policy's decision on them: the attempt is reserved on that very read and decision
    (``compliance.service.reserve_on``), the call written with it. ``PolicyBlocked`` as for
    :func:`request_dial`."""
    caller_id = _caller_id(container)
    _require_ready(agent)
    checked = await compliance.reserve_on(
        session, snapshot=dialable.snapshot, subject=dialable.subject, number_id=dialable.number.id, at=now,
        decision=dialable.decision, call=_call_row(container, agent, caller_id, campaign_id, now))
    return await _dialing(session, agent, checked, now=now)


def _caller_id(container: Container) -> str:
    if container.carrier is None:
        raise Unavailable("no carrier is configured (DIALER_TWILIO_ACCOUNT_SID)")
    caller_id = container.settings.twilio_caller_id
    if not caller_id:
        raise Unavailable("no caller id is configured (DIALER_TWILIO_CALLER_ID)")
    return caller_id


def _require_ready(agent: AgentSession | None) -> None:
    if agent is None:
        raise AgentNotReady("log in at a seat before dialing")
    if AgentState(agent.state) not in (AgentState.READY, AgentState.RESERVED):
        raise AgentNotReady(f"an agent who is {agent.state.value} cannot dial", state=agent.state.value)


_CALL_COLUMNS = tuple(column.key for column in Call.__table__.columns if column.key not in ("id", "decision_id"))


def _call_row(
    container: Container, agent: AgentSession, caller_id: str, campaign_id: int | None, now: dt.datetime,
) -> dict[str, Any]:
    """The new call's columns but the party's (the reservation adds those): every column given, so
    the row written and the instance made of it (:func:`_dialing`) agree without a read."""
    assert container.carrier is not None
    return {
        **dict.fromkeys(_CALL_COLUMNS), "direction": Direction.OUTBOUND, "carrier": container.carrier.name,
        "state": CallState.REQUESTED, "agent_id": agent.agent_id, "seat_id": agent.seat_id,
        "campaign_id": campaign_id, "from_e164": caller_id, "conversation": False, "recording_missing": False,
        "requested_at": now, "updated_at": utcnow(),
    }


async def _dialing(session: AsyncSession, agent: AgentSession, checked: Checked, *, now: dt.datetime) -> Call:
    """The reserved call as an instance of the session (written already, with its attempt linked:
    the conference is named when the agent's TwiML starts it), and the agent dialing it."""
    assert checked.call is not None
    call = Call(**checked.call)
    make_transient_to_detached(call)
    session.add(call)
    try:
        await transition(session, agent, AgentState.DIALING, now=now, call_id=call.id)
    except IllegalTransition as exc:  # cannot happen after the check above; kept explicit
        raise AgentNotReady(exc.detail) from exc
    agent.current_call_id = call.id
    return call


async def ring_seat(
    container: Container, call_id: int, *, call: Call | None = None, softphone: str | None = None,
) -> None:
    """After the dial committed: place the agent's leg (the seat's softphone). Its TwiML (whisper,
    then the conference) is what later rings the party. The engine passes the call it has just
    committed and the seat's softphone identity it read; others give only the id and they are read."""
    if call is None or softphone is None:
        async with container.sessions() as session:
            call = await session.get(Call, call_id)
            seat = await session.get(Seat, call.seat_id) if call is not None and call.seat_id else None
            softphone = seat.softphone_identity if seat is not None else None
    if call is None or softphone is None or call.state is not CallState.REQUESTED:
        return
    base = container.settings.public_base_url
    request = PlaceCall(
        call_ref=str(call.id), to_e164=address_of(softphone), from_e164=call.from_e164 or "",
        twiml_url=webhook_url(base, "voice/agent", call_id=call.id),
        status_callback_url=webhook_url(base, "call-status", call_id=call.id, leg="agent"),
        record=False, timeout_s=SEAT_RING_S,
    )
    await _place(container, call, request, leg="agent", now=container.clock())


async def ring_party(container: Container, call_id: int) -> None:
    """After the agent's leg fetched its TwiML (and the call moved to dialing): place the party's
    leg, recorded in two channels from the answer."""
    async with container.sessions() as session:
        call = await session.get(Call, call_id)
    if call is None or call.state is not CallState.DIALING or call.carrier_call_id is not None:
        return
    base = container.settings.public_base_url
    request = PlaceCall(
        call_ref=str(call.id), to_e164=call.to_e164 or "", from_e164=call.from_e164 or "",
        twiml_url=webhook_url(base, "voice/party", call_id=call.id),
        status_callback_url=webhook_url(base, "call-status", call_id=call.id, leg="party"),
        recording_callback_url=webhook_url(base, "recording-status", call_id=call.id),
        record=True, timeout_s=PARTY_RING_S,
    )
    await _place(container, call, request, leg="party", now=container.clock())


async def _place(container: Container, call: Call, request: PlaceCall, *, leg: str, now: dt.datetime) -> None:
    assert container.carrier is not None
    try:
        placed = await container.carrier.place_call(request)
    except CarrierError as exc:
        uncertain = isinstance(exc, CarrierUnavailable) and exc.uncertain
        log.warning("call %s: placing the %s leg failed (%s%s)", call.id, leg, exc.code,
                    ", uncertain" if uncertain else "")
        await record_failure(container, call.id, leg=leg, error=exc, uncertain=uncertain, at=now)
        if uncertain:
            from dialer.dialing.reconcile import reconcile_call

            await reconcile_call(container, call.id)
        return
    await record_placed(container, call.id, leg=leg, sid=placed.carrier_call_id)


async def claim_party_leg(session: AsyncSession, call: Call, *, now: dt.datetime) -> bool:
    """The agent's leg is up: move the call requested → dialing, once (a repeated TwiML fetch does
    not ring the party twice). True when this request should place the party's leg."""
    result = await session.execute(
        update(Call).where(Call.id == call.id, Call.state == CallState.REQUESTED)
        .values(state=CallState.DIALING, dialing_at=now).execution_options(synchronize_session=False)
    )
    if result.rowcount:
        call.state, call.dialing_at = CallState.DIALING, now
    return bool(result.rowcount)
