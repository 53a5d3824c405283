"""Preview mode: the agent is handed the next case, sees whom the policy lets them call now and
when next, with the case's history, and dials (``dialer.dialing``) or skips it with a reason."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from dialer.agents import repository as agents_repository
from dialer.agents.errors import NotLoggedIn, WrongMode
from dialer.agents.models import AgentState
from dialer.agents.service import mine_locked
from dialer.agents.state import transition
from dialer.agents.states import IllegalTransition, can_move
from dialer.audit import service as audit
from dialer.auth.deps import Principal
from dialer.calls.models import Call
from dialer.campaigns.models import DialMode
from dialer.cases import holds
from dialer.cases.models import Case
from dialer.compliance.schemas import ViolationOut
from dialer.compliance.service import violation_body
from dialer.kit.db import begin_write
from dialer.worklist import queue, repository
from dialer.worklist.errors import CaseNotHeld
from dialer.worklist.models import CaseSkip
from dialer.worklist.queue import QueueItem
from dialer.worklist.schemas import CallLine, CaseCard, CaseSummary, NoteLine, NumberCard, PartyCard, PromiseLine

HISTORY = 20
"""Calls, notes and promises shown on the card, newest first."""


async def next_card(
    session: AsyncSession, *, actor: Principal, now: dt.datetime, campaign_id: int | None = None,
) -> CaseCard | None:
    """Hand the ready agent the next case and hold it (the agent becomes reserved); an agent who
    already holds one gets it back. None when nothing is callable now."""
    await begin_write(session)
    agent = await mine_locked(session, actor)
    if agent.mode != DialMode.PREVIEW.value:
        raise WrongMode("in progressive mode the engine hands out the cases; switch to preview", mode=agent.mode)
    state = AgentState(agent.state)
    if state is not AgentState.RESERVED and not can_move(state, AgentState.RESERVED):
        raise IllegalTransition(f"an agent who is {state.value} cannot take a case; go ready first",
                                current=state.value, target=AgentState.RESERVED.value)
    if state is not AgentState.RESERVED:  # a case still held by a ready agent is one they have worked
        await holds.release_all(session, agent_id=agent.agent_id, not_before=now + holds.WORKED_REST)
    item = await queue.next_case(session, agent_session=agent, now=now, campaign_id=campaign_id)
    if item is None:
        if state is AgentState.RESERVED:  # their hold ran out and nothing else is callable
            await transition(session, agent, AgentState.READY, now=now, reason="queue_empty", actor=actor)
        return None
    if state is AgentState.READY:
        await transition(session, agent, AgentState.RESERVED, now=now, actor=actor, case_id=item.case.id,
                         tier=item.tier.value)
    return await card(session, item, now=now)


async def skip(session: AsyncSession, *, actor: Principal, case_id: int, reason: str, now: dt.datetime) -> None:
    """Pass over the held case: the reason is recorded (``case_skips`` and the audit log), the case
    is given back, and the agent is ready again. The same agent is not offered it for a while."""
    await begin_write(session)
    agent = await mine_locked(session, actor)
    if not await holds.release(session, case_id=case_id, agent_id=agent.agent_id):
        raise CaseNotHeld(f"case {case_id} is not held by you", case_id=case_id)
    session.add(CaseSkip(case_id=case_id, agent_id=agent.agent_id, seat_id=agent.seat_id, reason=reason,
                         created_at=now))
    await audit.record(session, action="case.skip", actor=actor, entity="case", entity_id=case_id,
                       agent_id=agent.agent_id, seat_id=agent.seat_id, reason=reason)
    if agent.state is AgentState.RESERVED:
        await transition(session, agent, AgentState.READY, now=now, reason="skipped", actor=actor, case_id=case_id)


async def card(session: AsyncSession, item: QueueItem, *, now: dt.datetime) -> CaseCard:
    case = item.case
    parties = [
        PartyCard(
            id=view.party.id, role=view.party.role, relation=view.party.relation, name=view.party.name,
            time_zone=view.party.time_zone, debt_related=view.party.debt_related, allowed=view.allowed,
            next_allowed_at=view.next_allowed_at(now),
            numbers=[
                NumberCard(
                    id=n.number.id, e164=n.number.e164, kind=n.number.kind, valid=n.number.valid,
                    allowed=n.decision.allowed, next_allowed_at=n.decision.next_allowed_at,
                    violations=[ViolationOut(**violation_body(v, item.language)) for v in n.decision.violations],
                )
                for n in view.numbers
            ],
        )
        for view in item.parties
    ]
    summary = CaseSummary.model_validate(
        {**{k: getattr(case, k) for k in CaseSummary.model_fields if k != "client_name"}, "client_name": item.client.name}
    )
    return CaseCard(
        case=summary, tier=item.tier.value, held_until=item.held_until, policy_version=item.policy_version,
        allowed=any(p.allowed for p in parties), parties=parties,
        calls=[CallLine.model_validate(c) for c in await repository.recent_calls(session, case_id=case.id, limit=HISTORY)],
        notes=[NoteLine.model_validate(n) for n in await repository.recent_notes(session, case_id=case.id, limit=HISTORY)],
        promises=[PromiseLine.model_validate(p) for p in await repository.promises_of(session, case_id=case.id, limit=HISTORY)],
    )


async def current_card(session: AsyncSession, *, actor: Principal, now: dt.datetime) -> CaseCard | None:
    """The card of the case the agent is working — the one they hold, or their current call's —
    without handing out a new one or renewing the hold (read only: the progressive desktop's view
    of the case the engine dialed). None when they have none."""
    agent = await agents_repository.open_session(session, agent_id=actor.user_id)
    if agent is None:
        raise NotLoggedIn("not logged in at a seat")
    case = await holds.held_case(session, agent_id=agent.agent_id, now=now, lock=False)
    if case is None and agent.current_call_id is not None:
        call = await session.get(Call, agent.current_call_id)
        case = await session.get(Case, call.case_id) if call is not None and call.case_id else None
    if case is None:
        return None
    return await card(session, await queue.view_of(session, case=case, agent_session=agent, now=now), now=now)
