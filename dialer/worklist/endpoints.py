"""The preview desktop's work list: the case I am working, the next one, passing one over, and why
there is none."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from dialer.auth.deps import Principal, require
from dialer.auth.models import Role
from dialer.kit.bounds import RowId
from dialer.kit.deps import NowDep, SessionDep
from dialer.worklist import explain, preview
from dialer.worklist.schemas import CaseCard, QueueStatus, SkipIn

router = APIRouter(tags=["agent"])

Agent = Annotated[Principal, Depends(require(Role.AGENT, Role.SUPERVISOR))]


@router.get("/agent/case", response_model=CaseCard | None,
            summary="The card of the case I am working (held, or my current call's), read only (agent, supervisor)")
async def current_case(session: SessionDep, actor: Agent, now: NowDep) -> CaseCard | None:
    return await preview.current_card(session, actor=actor, now=now)


@router.get("/agent/next", response_model=CaseCard | None,
            responses={404: {"description": "`not_logged_in`: not logged in at a seat"},
                       409: {"description": "`wrong_mode` (progressive), `illegal_agent_transition` (not ready) or `campaign_not_running`"}},
            summary="Hand me the next case the policy allows now and hold it; null when none (agent, supervisor)")
async def next_case(
    session: SessionDep, actor: Agent, now: NowDep, campaign_id: RowId | None = None,
) -> CaseCard | None:
    return await preview.next_card(session, actor=actor, now=now, campaign_id=campaign_id)


@router.get("/agent/queue-status", response_model=QueueStatus,
            responses={404: {"description": "`not_logged_in`: not logged in at a seat"}},
            summary="Why the queue has nothing for me now: my open cases, held by others, set aside by the "
                    "policy by rule, when the calling window opens and in which zone (agent, supervisor)")
async def queue_status(
    session: SessionDep, actor: Agent, now: NowDep, campaign_id: RowId | None = None,
) -> QueueStatus:
    return await explain.queue_status(session, actor=actor, now=now, campaign_id=campaign_id)


@router.post("/agent/cases/{case_id}/skip", status_code=status.HTTP_204_NO_CONTENT,
             responses={409: {"description": "`case_not_held`: the case is not held by you"}},
             summary="Pass over the case I hold, with the reason; it is given back (agent, supervisor)")
async def skip_case(case_id: RowId, body: SkipIn, session: SessionDep, actor: Agent, now: NowDep) -> None:
    await preview.skip(session, actor=actor, case_id=case_id, reason=body.reason, now=now)
