"""Saving a call's wrap-up note: the only way out of the agent's wrap-up for that call.

``save_wrap_up`` checks everything first (the call ended, it is the agent's, it has no note
yet, the fields fit the disposition and the case, the disposition's own rules), then writes the
note, the disposition's effects, the case's follow-up and last contact, and the agent's move
from wrap-up to ready (or not ready), all in the caller's unit of work. It only flushes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from dialer.agents import repository as agents_repository
from dialer.agents import state as agents
from dialer.agents.models import AgentSession, AgentState
from dialer.audit import service as audit
from dialer.auth.deps import Principal
from dialer.auth.models import Role
from dialer.calls.lifecycle import ENDS
from dialer.calls.models import Call, Direction
from dialer.cases import holds
from dialer.cases import repository as cases
from dialer.cases.models import Case, Party, PartyRole, PhoneNumber
from dialer.cases.service import default_region
from dialer.clients.models import Client
from dialer.compliance import repository as compliance_repository
from dialer.compliance.localtime import zone
from dialer.kit.db import begin_write
from dialer.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from dialer.kit.phones import PhoneNumberError, parse_phone
from dialer.kit.queries import required
from dialer.notes import repository
from dialer.notes.dispositions import DISPOSITIONS, Context, Effects, answered
from dialer.notes.models import WrapUpNote
from dialer.notes.repository import Linked
from dialer.notes.schemas import (
    CONVERSATIONS,
    CallRef,
    ConsentOut,
    NoteOut,
    PromiseOut,
    RecordingRef,
    TaskRef,
    WrapUpIn,
    WrapUpOut,
)
from dialer.outbox import events, payloads
from dialer.outbox.models import EventType

LEASE_WORDS = ("lease", "leasing", "租赁")

"""Agent states a saved note ends when the session still holds the (ended) call: wrap-up, or
on-call / dialing when the note beat the move to wrap-up (the agent passes through wrap-up)."""


class WrapUpExists(Conflict):
    code = "wrap_up_exists"


class CallNotEnded(Conflict):
    code = "call_not_ended"


class CallWithoutCase(Conflict):
    code = "call_without_case"


class NotYourCall(Forbidden):
    code = "not_your_call"


class NoWrapUp(NotFound):
    code = "wrap_up_not_found"


@dataclass(frozen=True, slots=True)
class _Transition:
    agent_session: AgentSession
    target: AgentState
    reason: str | None


async def save_wrap_up(
    session: AsyncSession, *, actor: Principal, call_id: int, data: WrapUpIn, now: dt.datetime,
) -> WrapUpOut:
    """Save the note of an ended call and apply its disposition; end the agent's wrap-up."""
    await begin_write(session)
    call = await repository.lock_call(session, call_id)
    if call is None:
        raise NotFound(f"call {call_id} not found")
    await _may_note(session, call, actor)
    if call.state not in ENDS:
        raise CallNotEnded(f"call {call.id} is still {call.state.value}: save its note once it has ended",
                           call_id=call.id, state=call.state.value)
    if call.case_id is None:
        raise CallWithoutCase(f"call {call.id} is not linked to a case: link it before saving a note", call_id=call.id)
    existing = await repository.note_of_call(session, call.id)
    if existing is not None:
        raise WrapUpExists(f"call {call.id} already has its wrap-up note ({existing.id})", note_id=existing.id)

    ctx = await _context(session, call, actor=actor, now=now)
    contact_number = _contact_number(ctx, data)
    _check_case_fields(ctx, data)
    apply = await DISPOSITIONS[data.disposition](ctx, data)
    transition = await _transition(session, call, data)

    # Everything is checked: write.
    note = WrapUpNote(
        call_id=call.id, case_id=ctx.case.id, party_id=call.party_id, agent_id=ctx.agent_id,
        disposition=data.disposition, contact_name=data.contact_name, contact_number=contact_number,
        contact_status=data.contact_status.value, arrears_reason=data.arrears_reason, result=data.result,
        assessment=data.assessment, equipment_status=data.equipment_status,
        recovery_likelihood=data.recovery_likelihood.value if data.recovery_likelihood else None,
        next_action=data.next_action, next_follow_up_date=data.next_follow_up_date, special_notes=data.special_notes,
        created_at=now,
    )
    session.add(note)
    await session.flush()
    effects = Effects()
    await apply(note, effects)
    _update_case(ctx, note, effects)
    if transition is not None:  # the note ends the agent's wrap-up of this call (not an older call's, mid-call)
        await holds.renew_hold(session, case_id=ctx.case.id, agent_id=ctx.agent_id, now=now)
    await audit.record(session, action="wrap_up.save", actor=actor, entity="wrap_up_note", entity_id=note.id,
                       call_id=call.id, case_id=ctx.case.id, disposition=data.disposition.value)
    await events.emit(session, EventType.CALL_WRAPPED_UP, payloads.wrap_up_data(note, call), at=now,
                      client_id=call.client_id, call_id=call.id)
    state = await _end_wrap_up(session, transition, call=call, actor=actor, now=now)
    await session.flush()

    links = await repository.linked(session, [call.id])
    return WrapUpOut.model_validate({
        **_note_fields(note, links),
        "agent_state": state, "stop_contact_id": effects.stop.id if effects.stop else None,
        "report_item_id": effects.report_item.id if effects.report_item else None,
        "number_invalidated": effects.number_invalidated,
    })


async def get_wrap_up(session: AsyncSession, *, actor: Principal, call_id: int) -> NoteOut:
    call = await session.get(Call, call_id)
    if call is None:
        raise NotFound(f"call {call_id} not found")
    await _may_read(session, call, actor)
    note = await repository.note_of_call(session, call.id)
    if note is None:
        raise NoWrapUp(f"call {call.id} has no wrap-up note yet", call_id=call.id)
    return NoteOut.model_validate(_note_fields(note, await repository.linked(session, [call.id])))


async def case_notes(
    session: AsyncSession, *, actor: Principal, case_id: int, limit: int, before: int | None,
) -> list[NoteOut]:
    """The case's notes, newest first, each with its call, recording and what it created."""
    if await cases.find_case(session, case_id, actor) is None:
        raise NotFound(f"case {case_id} not found")
    notes = await repository.notes_of_case(session, case_id, limit=limit, before=before)
    links = await repository.linked(session, [n.call_id for n in notes])
    return [NoteOut.model_validate(_note_fields(n, links)) for n in notes]


# --- checks -----------------------------------------------------------------------------------


async def _may_note(session: AsyncSession, call: Call, actor: Principal) -> None:
    """Agents note their own calls; supervisors and admins anyone's."""
    if actor.role is not Role.AGENT or call.agent_id == actor.user_id:
        return
    await _may_read(session, call, actor)  # a call the agent cannot even see is not found
    raise NotYourCall(f"call {call.id} is another agent's: only they or a supervisor can save its note",
                      call_id=call.id)


async def _may_read(session: AsyncSession, call: Call, actor: Principal) -> None:
    if actor.role is not Role.AGENT or call.agent_id == actor.user_id:
        return
    if call.case_id is None or await cases.find_case(session, call.case_id, actor) is None:
        raise NotFound(f"call {call.id} not found")


async def _context(session: AsyncSession, call: Call, *, actor: Principal, now: dt.datetime) -> Context:
    case = await required(session, Case, call.case_id)
    client = await required(session, Client, case.client_id)
    party = await session.get(Party, call.party_id) if call.party_id is not None else None
    number = await session.get(PhoneNumber, call.number_id) if call.number_id is not None else None
    policy = await compliance_repository.policy_for(session, client)
    debtor_zone = await repository.debtor_zone(session, case.id)
    return Context(
        session=session, actor=actor, now=now, call=call, case=case, client=client, party=party, number=number,
        policy=policy, tz=zone(debtor_zone or policy.default_time_zone),
        agent_id=call.agent_id if call.agent_id is not None else actor.user_id,
    )


def _contact_number(ctx: Context, data: WrapUpIn) -> str | None:
    """The number reached, as E.164: the one given (read in the client's country), else the call's."""
    if data.contact_number is None:
        return ctx.call.to_e164 if ctx.call.direction is Direction.OUTBOUND else ctx.call.from_e164
    try:
        return parse_phone(data.contact_number, default_region(ctx.client)).e164
    except PhoneNumberError as exc:
        raise InvalidInput(f"contact_number: {exc}", field="contact_number",
                           message_zh="联系电话无法识别，请输入正确的电话号码") from None


def is_lease(case: Case) -> bool:
    product = (case.product or "").lower()
    return any(word in product for word in LEASE_WORDS)


def _check_case_fields(ctx: Context, data: WrapUpIn) -> None:
    if data.next_follow_up_date is not None and data.next_follow_up_date < ctx.today:
        raise InvalidInput(f"next_follow_up_date: {data.next_follow_up_date} is in the past (today is {ctx.today})",
                           field="next_follow_up_date",
                           message_zh=f"下次跟进日期 {data.next_follow_up_date} 早于今天（{ctx.today}）")
    reached_debtor = (
        data.disposition in CONVERSATIONS and ctx.party is not None and ctx.party.role is PartyRole.DEBTOR
    )
    if reached_debtor and is_lease(ctx.case) and data.equipment_status is None:
        raise InvalidInput("equipment_status: required for a lease case when the debtor was reached "
                           "(the equipment's and the business's condition)", field="equipment_status",
                           message_zh="租赁案件联系到债务人时，须填写设备及经营状况")


async def _transition(session: AsyncSession, call: Call, data: WrapUpIn) -> _Transition | None:
    """The agent's move out of wrap-up, when their open session still holds this call."""
    if call.agent_id is None:
        return None
    agent_session = await agents_repository.open_session(session, agent_id=call.agent_id, lock=True)
    if agent_session is None or agent_session.current_call_id != call.id or agent_session.state not in agents.NOTED_FROM:
        return None
    target = AgentState.READY if data.next_state == "ready" else AgentState.NOT_READY
    return _Transition(agent_session, target, data.not_ready_reason if target is AgentState.NOT_READY else None)


# --- writes -----------------------------------------------------------------------------------


def _update_case(ctx: Context, note: WrapUpNote, effects: Effects) -> None:
    """The note's follow-up date (or the one its disposition implies) becomes the case's next
    follow-up; an answered call is the case's latest contact."""
    if note.next_follow_up_date is None and effects.default_follow_up is not None:
        note.next_follow_up_date = effects.default_follow_up
    day = note.next_follow_up_date
    if day is not None:
        exact = effects.follow_up_at if day == effects.default_follow_up else None
        ctx.case.next_follow_up_at = exact or ctx.opening_on(day) or ctx.case.next_follow_up_at
    if answered(ctx.call):
        contact = ctx.call.answered_at or ctx.call.ended_at or ctx.now
        if ctx.case.last_contact_at is None or contact > ctx.case.last_contact_at:
            ctx.case.last_contact_at = contact


async def _end_wrap_up(
    session: AsyncSession, transition: _Transition | None, *, call: Call, actor: Principal, now: dt.datetime,
) -> AgentState | None:
    if transition is None:
        return None
    await agents.note_saved(session, transition.agent_session, transition.target, reason=transition.reason,
                            now=now, actor=actor, call_id=call.id)
    return transition.target


# --- out --------------------------------------------------------------------------------------


def _note_fields(note: WrapUpNote, links: Linked) -> dict:
    fields = {column.key: getattr(note, column.key) for column in WrapUpNote.__table__.columns}
    recording = links.recordings.get(note.call_id)
    promise = links.promises.get(note.call_id)
    callback = links.callbacks.get(note.call_id)
    return {
        **fields,
        "call": CallRef.model_validate(links.calls[note.call_id]),
        "recording": RecordingRef.model_validate(recording) if recording else None,
        "promise": PromiseOut.model_validate(promise) if promise else None,
        "callback": ConsentOut.model_validate(callback) if callback else None,
        "tasks": [TaskRef.model_validate(t) for t in links.tasks.get(note.call_id, [])],
    }
