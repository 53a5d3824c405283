"""Calls: dial (preview), read, hang up, and supervise a live call."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, status
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.auth.deps import Principal, require
from dialer.auth.models import Role
from dialer.calls.effects import RingSeat
from dialer.calls.models import Call
from dialer.calls.schemas import CallOut, DialIn, ModeIn, RecordingOut, SuperviseIn, SupervisorOut
from dialer.dialing import controls, service
from dialer.dialing.carrier_actions import CarrierActions
from dialer.dialing.service import Outbound
from dialer.dialing.urls import CallbackUrls
from dialer.kit.deps import NowDep, SessionDep, provided
from dialer.telephony.carrier import Carrier

router = APIRouter(prefix="/calls", tags=["calls"])

Agent = Annotated[Principal, Depends(require(Role.AGENT))]
Staff = Annotated[Principal, Depends(require(Role.AGENT, Role.SUPERVISOR, Role.ADMIN))]
Supervisor = Annotated[Principal, Depends(require(Role.SUPERVISOR, Role.ADMIN))]
Actions = Annotated[CarrierActions, Depends(provided("actions"))]
OutboundDep = Annotated[Outbound, Depends(provided("outbound"))]
CarrierDep = Annotated[Carrier | None, Depends(provided("carrier"))]
Urls = Annotated[CallbackUrls, Depends(provided("urls"))]


async def _out(session: AsyncSession, call: Call) -> CallOut:
    out = CallOut.model_validate(call)
    out.recordings = [RecordingOut.model_validate(r) for r in await controls.recordings_of(session, call.id)]
    return out


@router.post("", response_model=CallOut, status_code=status.HTTP_201_CREATED,
             summary="Dial a number of a case (agent): 409 policy_blocked with the violations when refused")
async def dial(body: DialIn, session: SessionDep, outbound: OutboundDep, actions: Actions, now: NowDep, actor: Agent,
               after: BackgroundTasks) -> CallOut:
    call = await service.request_dial(session, outbound=outbound, agent_id=actor.user_id, number_id=body.number_id,
                                      now=now, campaign_id=body.campaign_id)
    after.add_task(actions.run, [RingSeat(call.id)])  # after the commit: ring the agent's seat
    return CallOut.model_validate(call)


@router.get("/{call_id}", response_model=CallOut, summary="A call with its recordings (own calls for agents)")
async def get_call(call_id: int, session: SessionDep, actor: Staff) -> CallOut:
    return await _out(session, await controls.visible_call(session, call_id, actor))


@router.post("/{call_id}/hang-up", response_model=CallOut, summary="Hang up a live call (its agent, supervisors)")
async def hang_up(call_id: int, session: SessionDep, actions: Actions, now: NowDep, actor: Staff,
                  after: BackgroundTasks) -> CallOut:
    effects = await controls.hang_up(session, call_id=call_id, actor=actor, now=now)
    after.add_task(actions.run, effects)
    return await _out(session, await controls.visible_call(session, call_id, actor))


@router.post("/{call_id}/supervisors", response_model=SupervisorOut, status_code=status.HTTP_201_CREATED,
             summary="Join a live call as supervisor: monitor, whisper (coach the agent) or barge")
async def supervise(call_id: int, body: SuperviseIn, session: SessionDep, carrier: CarrierDep,
                    outbound: OutboundDep, urls: Urls, actor: Supervisor) -> SupervisorOut:
    participant = await controls.supervise(session, carrier, outbound=outbound, urls=urls, call_id=call_id,
                                           actor=actor, mode=body.mode, seat_id=body.seat_id)
    return SupervisorOut(call_id=call_id, participant_call_id=participant, mode=body.mode)


@router.patch("/{call_id}/supervisors/{participant_call_id}", response_model=SupervisorOut,
              summary="Switch a supervisor on a live call between monitor, whisper and barge")
async def switch_mode(call_id: int, participant_call_id: str, body: ModeIn, session: SessionDep,
                      carrier: CarrierDep, actor: Supervisor) -> SupervisorOut:
    await controls.set_mode(session, carrier, call_id=call_id, participant_call_id=participant_call_id, actor=actor,
                            mode=body.mode)
    return SupervisorOut(call_id=call_id, participant_call_id=participant_call_id, mode=body.mode)
