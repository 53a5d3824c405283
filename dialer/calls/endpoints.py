"""Calls: dial (preview), read, hang up, and supervise a live call; the call history (list and a call's page)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Path, Query, Request, status
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.auth.deps import Principal, require
from dialer.auth.models import Role
from dialer.calls import history, timeline
from dialer.calls.effects import RingSeat
from dialer.calls.history_schemas import CallFilters, CallPage, CallTimeline, RecordingLinks
from dialer.calls.models import Call
from dialer.calls.schemas import CallOut, DialIn, ModeIn, RecordingOut, SuperviseIn, SupervisionOut, SupervisorOut
from dialer.dialing import controls, service
from dialer.dialing.carrier_actions import CarrierActions
from dialer.dialing.service import Outbound
from dialer.dialing.urls import CallbackUrls
from dialer.kit.bounds import RowId
from dialer.kit.deps import NowDep, SessionDep, provided
from dialer.telephony.carrier import Carrier

router = APIRouter(prefix="/calls", tags=["calls"])

Agent = Annotated[Principal, Depends(require(Role.AGENT))]
Staff = Annotated[Principal, Depends(require(Role.AGENT, Role.SUPERVISOR, Role.ADMIN))]
Supervisor = Annotated[Principal, Depends(require(Role.SUPERVISOR, Role.ADMIN))]
Readers = Annotated[Principal, Depends(require(Role.AGENT, Role.SUPERVISOR, Role.ADMIN, Role.AUDITOR))]
Actions = Annotated[CarrierActions, Depends(provided("actions"))]
OutboundDep = Annotated[Outbound, Depends(provided("outbound"))]
CarrierDep = Annotated[Carrier | None, Depends(provided("carrier"))]
Urls = Annotated[CallbackUrls, Depends(provided("urls"))]
ParticipantId = Annotated[str, Path(min_length=1, max_length=64, description="The supervisor's leg at the carrier")]


async def recording_paths(request: Request) -> timeline.RecordingPaths:
    """The recordings endpoints' paths for a recording, as the application mounts them."""
    def paths(recording_id: int) -> RecordingLinks:
        path = request.app.url_path_for
        return RecordingLinks(metadata=path("get_recording", recording_id=str(recording_id)),
                              media=path("recording_media", recording_id=str(recording_id)),
                              signed_link=path("create_link", recording_id=str(recording_id)))
    return paths


RecordingPathsDep = Annotated[timeline.RecordingPaths, Depends(recording_paths)]


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


@router.get("", response_model=CallPage,
            summary="The call history, newest first, with filters (agents: their own calls; supervisors: their "
                    "team's; admins and auditors: all)")
async def list_calls(session: SessionDep, actor: Readers, filters: Annotated[CallFilters, Query()]) -> CallPage:
    items = await history.list_calls(session, filters=filters, principal=actor)
    return CallPage(items=items, next_before=history.page_end(items, filters.limit))


@router.get("/{call_id}/timeline", response_model=CallTimeline,
            summary="A call's page: the call, its timeline, the decision that allowed it, whisper, note, promises "
                    "and recordings (agents: their own calls; supervisors: their team's; admins and auditors: all)")
async def call_timeline(call_id: RowId, session: SessionDep, actor: Readers,
                        paths: RecordingPathsDep) -> CallTimeline:
    return await timeline.call_timeline(session, call_id, actor, recording_paths=paths)


@router.get("/{call_id}", response_model=CallOut,
            summary="A call with its recordings (agent: own calls; supervisor, admin, auditor)")
async def get_call(call_id: RowId, session: SessionDep, actor: Readers) -> CallOut:
    return await _out(session, await controls.visible_call(session, call_id, actor))


@router.post("/{call_id}/hang-up", response_model=CallOut, summary="Hang up a live call (its agent, supervisor, admin)")
async def hang_up(call_id: RowId, session: SessionDep, actions: Actions, now: NowDep, actor: Staff,
                  after: BackgroundTasks) -> CallOut:
    effects = await controls.hang_up(session, call_id=call_id, actor=actor, now=now)
    after.add_task(actions.run, effects)
    return await _out(session, await controls.visible_call(session, call_id, actor))


@router.post("/{call_id}/supervisors", response_model=SupervisorOut, status_code=status.HTTP_201_CREATED,
             summary="Join a live call as supervisor: monitor, whisper (coach the agent) or barge (supervisor, admin)")
async def supervise(call_id: RowId, body: SuperviseIn, session: SessionDep, carrier: CarrierDep,
                    outbound: OutboundDep, urls: Urls, actor: Supervisor, now: NowDep) -> SupervisorOut:
    participant = await controls.supervise(session, carrier, outbound=outbound, urls=urls, call_id=call_id,
                                           actor=actor, mode=body.mode, seat_id=body.seat_id, now=now)
    return SupervisorOut(call_id=call_id, participant_call_id=participant, mode=body.mode)


@router.get("/{call_id}/supervisors", response_model=list[SupervisionOut],
            summary="Every supervisor who joined the call: seat, mode, when they joined and left (supervisor, admin)")
async def supervisions(call_id: RowId, session: SessionDep, actor: Supervisor) -> list[SupervisionOut]:
    call = await controls.visible_call(session, call_id, actor)
    return [SupervisionOut.model_validate(s) for s in await controls.supervisions_of(session, call.id)]


@router.patch("/{call_id}/supervisors/{participant_call_id}", response_model=SupervisorOut,
              summary="Switch a supervisor on a live call between monitor, whisper and barge (supervisor, admin)")
async def switch_mode(call_id: RowId, participant_call_id: ParticipantId, body: ModeIn, session: SessionDep,
                      carrier: CarrierDep, actor: Supervisor, now: NowDep) -> SupervisorOut:
    await controls.set_mode(session, carrier, call_id=call_id, participant_call_id=participant_call_id, actor=actor,
                            mode=body.mode, now=now)
    return SupervisorOut(call_id=call_id, participant_call_id=participant_call_id, mode=body.mode)


@router.delete("/{call_id}/supervisors/{participant_call_id}", status_code=status.HTTP_204_NO_CONTENT,
               summary="Leave a call as supervisor: the supervision ends, the supervisor's leg is hung up "
                       "(supervisor, admin)")
async def leave(call_id: RowId, participant_call_id: ParticipantId, session: SessionDep, actor: Supervisor,
                now: NowDep, actions: Actions, after: BackgroundTasks) -> None:
    effects = await controls.leave(session, call_id=call_id, participant_call_id=participant_call_id, actor=actor,
                                   now=now)
    after.add_task(actions.run, effects)
