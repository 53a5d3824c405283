"""Wrap-up notes: save a call's note (ending the agent's wrap-up), read it, a case's history;
the rules of the wrap-up form."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Query, status

from dialer.auth.deps import Principal, require
from dialer.auth.models import Role
from dialer.kit.bounds import RowId
from dialer.kit.deps import NowDep, SessionDep, WakeDep
from dialer.notes import service
from dialer.notes.schemas import NoteOut, NotesPage, WrapUpIn, WrapUpOut, WrapUpRulesOut, wrap_up_rules

router = APIRouter(tags=["notes"])

Workers = Annotated[Principal, Depends(require(Role.AGENT, Role.SUPERVISOR, Role.ADMIN))]
Anyone = Annotated[Principal, Depends(require(Role.AGENT, Role.SUPERVISOR, Role.ADMIN, Role.INTEGRATION,
                                              Role.AUDITOR))]


@router.post("/calls/{call_id}/wrap-up", response_model=WrapUpOut, status_code=status.HTTP_201_CREATED,
             responses={403: {"description": "`not_your_call`: another agent's call"},
                        409: {"description": "`call_not_ended`, `call_without_case` or `wrap_up_exists`"}},
             summary="Save an ended call's wrap-up note and disposition; ends the agent's wrap-up "
                     "(the call's agent, supervisor, admin)")
async def save_wrap_up(call_id: RowId, body: WrapUpIn, session: SessionDep, actor: Workers, now: NowDep,
                       wake: WakeDep, after: BackgroundTasks) -> WrapUpOut:
    saved = await service.save_wrap_up(session, actor=actor, call_id=call_id, data=body, now=now)
    after.add_task(wake)  # once committed: a progressive agent is ready for the next call
    return saved


@router.get("/calls/{call_id}/wrap-up", response_model=NoteOut,
            summary="A call's wrap-up note with the call and its recording (any role)")
async def get_wrap_up(call_id: RowId, session: SessionDep, actor: Anyone) -> NoteOut:
    return await service.get_wrap_up(session, actor=actor, call_id=call_id)


@router.get("/cases/{case_id}/notes", response_model=NotesPage,
            summary="A case's wrap-up notes, newest first, each with its call and recording (any role)")
async def case_notes(
    case_id: RowId, session: SessionDep, actor: Anyone, limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[RowId | None, Query(description="Continue with notes older than this id")] = None,
) -> NotesPage:
    notes = await service.case_notes(session, actor=actor, case_id=case_id, limit=limit, before=before)
    return NotesPage(items=notes, next_before=notes[-1].id if len(notes) == limit else None)


@router.get("/wrap-up/rules", response_model=WrapUpRulesOut,
            summary="The wrap-up form's rules: the fields each disposition needs, the dispositions that need "
                    "an answered call (agent, supervisor, admin)")
async def get_wrap_up_rules(_: Workers) -> WrapUpRulesOut:
    return wrap_up_rules()
