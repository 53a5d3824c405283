"""Controls on a live call: hang up, and a supervisor joining in monitor / whisper / barge mode."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.agents import repository as agents_repository
from dialer.audit import service as audit
from dialer.auth.deps import Principal
from dialer.auth.models import Role
from dialer.calls import state
from dialer.calls.history import of_team
from dialer.calls.effects import Effect, HangUp
from dialer.calls.lifecycle import ENDS
from dialer.calls.models import Call, CallState, Recording, Supervision
from dialer.dialing import supervision
from dialer.dialing.service import Outbound
from dialer.dialing.urls import CallbackUrls, address_of
from dialer.kit.errors import Conflict, InvalidInput, NotFound, Unavailable
from dialer.seats.models import Seat
from dialer.telephony.carrier import Carrier, SupervisorMode


class CallNotLive(Conflict):
    code = "call_not_live"


async def visible_call(session: AsyncSession, call_id: int, actor: Principal, *, lock: bool = False) -> Call:
    """The call, if ``actor`` may see it: agents their own calls, supervisors their team's (as the
    call list reads them: ``history.of_team``), admins all. Another's answers as an unknown one
    does, so ids cannot be probed."""
    call = await session.get(Call, call_id, with_for_update=lock)
    if call is None or (actor.role is Role.AGENT and call.agent_id != actor.user_id) or (
            actor.role is Role.SUPERVISOR and not await _of_team(session, call_id, actor.team)):
        raise NotFound(f"call {call_id} not found")
    return call


async def _of_team(session: AsyncSession, call_id: int, team: str | None) -> bool:
    if team is None:
        return False
    return (await session.execute(select(Call.id).where(Call.id == call_id, of_team(team)))).first() is not None


async def supervisions_of(session: AsyncSession, call_id: int) -> list[Supervision]:
    query = select(Supervision).where(Supervision.call_id == call_id).order_by(Supervision.id)
    return list((await session.execute(query)).scalars())


async def recordings_of(session: AsyncSession, call_id: int) -> list[Recording]:
    return list((await session.execute(select(Recording).where(Recording.call_id == call_id).order_by(Recording.id))).scalars())


async def hang_up(session: AsyncSession, *, call_id: int, actor: Principal, now: dt.datetime) -> list[Effect]:
    """End the call from our side. The legs' own callbacks settle it; a call with no leg yet ends
    here as not placed."""
    call = await visible_call(session, call_id, actor, lock=True)
    if call.state in ENDS:
        raise CallNotLive(f"call {call_id} has already ended ({call.state.value})", state=call.state.value)
    await audit.record(session, action="call.hang_up", actor=actor, entity="call", entity_id=call.id,
                       state=call.state.value)
    call.hangup_by = call.hangup_by or ("agent" if actor.user_id == call.agent_id else "supervisor")
    if call.carrier_call_id is None:  # the party was never rung
        return await state.end(session, call, CallState.CANCELED, at=now, placed=False, error="hung_up_before_dial",
                              detail="hung up before the party was rung")
    # The agent's leg leaves the conference, which ends it for the party; no agent leg yet: the party's.
    return [HangUp(call.id, call.agent_leg_call_id or call.carrier_call_id)]


async def supervise(
    session: AsyncSession, carrier: Carrier | None, *, outbound: Outbound, urls: CallbackUrls, call_id: int,
    actor: Principal, mode: SupervisorMode, seat_id: int | None, now: dt.datetime,
) -> str:
    """Call the supervisor's seat into the call's conference in ``mode``; returns their leg's id.
    The supervision is kept on the call (:mod:`dialer.dialing.supervision`) and audited.

    The one carrier action taken inside a unit of work (here and in :func:`set_mode`): the answer
    needs the carrier's leg id. The rows follow the carrier's success in the same unit."""
    call, carrier = await _live_bridged(session, carrier, call_id, actor)
    if seat_id is None:
        own = await agents_repository.open_session(session, agent_id=actor.user_id)
        if own is None:
            raise InvalidInput("give seat_id, or log in at a seat first", field="seat_id")
        seat_id = own.seat_id
    seat = await session.get(Seat, seat_id)
    if seat is None or not seat.active:
        raise InvalidInput(f"seat {seat_id} is not an active seat", field="seat_id")
    participant = await carrier.add_supervisor(
        call.conference_name or f"call-{call.id}", address_of(seat.softphone_identity), mode,
        agent_call_id=call.agent_leg_call_id or "", caller_id=outbound.caller_id or "",
        status_callback_url=urls("call-status", call_id=call.id, leg="supervisor"),
    )
    await supervision.joined(session, call, supervisor_id=actor.user_id, seat_id=seat.id,
                             participant_call_id=participant, mode=mode.value, now=now)
    await audit.record(session, action="call.supervise", actor=actor, entity="call", entity_id=call.id, mode=mode.value,
                       seat_id=seat.id, participant_call_id=participant)
    return participant


async def set_mode(
    session: AsyncSession, carrier: Carrier | None, *, call_id: int, participant_call_id: str, actor: Principal,
    mode: SupervisorMode, now: dt.datetime,
) -> None:
    """Switch a supervisor's leg on the call to ``mode`` (404 for a leg not supervising it now)."""
    call, carrier = await _live_bridged(session, carrier, call_id, actor)
    supervising = await supervision.open_on(session, call, participant_call_id)
    await carrier.set_supervisor_mode(call.conference_name or f"call-{call.id}", participant_call_id, mode,
                                      agent_call_id=call.agent_leg_call_id or "")
    supervision.mode_changed(session, supervising, call, mode.value, now=now)
    await audit.record(session, action="call.supervise_mode", actor=actor, entity="call", entity_id=call.id,
                       mode=mode.value, participant_call_id=participant_call_id)


async def leave(
    session: AsyncSession, *, call_id: int, participant_call_id: str, actor: Principal, now: dt.datetime,
) -> list[Effect]:
    """A supervisor leaves the call: their supervision ends now, audited; their leg is hung up
    after commit (returned). 404 for a leg not supervising the call now."""
    call = await visible_call(session, call_id, actor)
    supervising = await supervision.open_on(session, call, participant_call_id)
    supervision.left(session, supervising, call, now=now, by="left")
    await audit.record(session, action="call.supervise_leave", actor=actor, entity="call", entity_id=call.id,
                       participant_call_id=participant_call_id, supervisor_id=supervising.supervisor_id)
    return [HangUp(call.id, participant_call_id)]


async def _live_bridged(
    session: AsyncSession, carrier: Carrier | None, call_id: int, actor: Principal,
) -> tuple[Call, Carrier]:
    call = await visible_call(session, call_id, actor)
    if carrier is None:
        raise Unavailable("no carrier is configured")
    if call.state is not CallState.BRIDGED or call.conference_name is None:
        raise CallNotLive(f"call {call_id} is not a live conversation ({call.state.value})", state=call.state.value)
    return call, carrier
