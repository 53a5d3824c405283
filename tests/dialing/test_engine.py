"""The progressive engine against the in-memory carrier: what it dials, when it refuses to, and
that two engines (replicas) never dial twice for one agent."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select, update

from dialer.agents.models import AgentSession, AgentState
from dialer.auth.models import Role
from dialer.calls.models import Call
from dialer.campaigns.models import Campaign, CampaignStatus, DialMode
from dialer.cases.holds import HOLD
from dialer.cases.models import Case
from dialer.compliance.models import Attempt, Decision, StopContact, StopSource
from dialer.container import Container, build_container
from dialer.dialing.engine import dial_next
from dialer.kit.clock import system_clock
from dialer.kit.db import create_engine
from dialer.telephony.carrier import CarrierRejected, PlaceCall, PlacedCall
from dialer.telephony.fake import FakeCarrier
from tests.factories import make_case, make_client, make_seat, make_user

ALL_DAY = {"calling_window": {"weekdays": {d: [{"start": "00:00", "end": "24:00"}]
                                           for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}}


def _container(db_url: str, settings) -> Container:
    config = settings.model_copy(update={"database_url": db_url, "twilio_caller_id": "+862161230000",
                                         "twilio_auth_token": SecretStr("t"),
                                         "public_base_url": "https://dialer.example.com"})
    return build_container(config, clock=system_clock, carrier=FakeCarrier())


async def _floor(session, *, agents: int = 1, cases: int = 3, campaign: CampaignStatus = CampaignStatus.RUNNING,
                 mode: str = "progressive", state: AgentState = AgentState.READY):
    client = await make_client(session, overrides=ALL_DAY)
    made = []
    for i in range(agents):
        user = await make_user(session, role=Role.AGENT, team="floor")
        seat = await make_seat(session, team="floor")
        session.add(AgentSession(agent_id=user.id, seat_id=seat.id, state=state, mode=mode))
        made.append((user, seat))
    case_rows = [await make_case(session, client=client, team="floor", total_owed=1000 + 100 * i,
                                 debtor_numbers=(f"+861380000{i:04d}",)) for i in range(cases)]
    session.add(Campaign(client_id=client.id, name="floor", mode=DialMode.PROGRESSIVE, status=campaign, team="floor"))
    await session.commit()
    return client, made, case_rows


async def test_given_a_ready_progressive_agent_then_the_best_case_is_reserved_and_the_seat_rung(session, db_url, settings):
    _, [(agent, seat)], cases = await _floor(session)
    container = _container(db_url, settings)
    try:
        result = await dial_next(container.dialer, agent.id)
        assert result.outcome == "dialed"
        [placed] = container.carrier.requested("place_call")
        request = placed["request"]
        assert request.to_e164 == seat.softphone_identity and "voice/agent" in request.twiml_url
        assert not request.record  # the seat's leg; the party's leg (recorded) follows its TwiML
        async with container.sessions() as s:
            call = await s.get(Call, result.call_id)
            agent_row = (await s.execute(select(AgentSession).where(AgentSession.agent_id == agent.id))).scalar_one()
            attempt = (await s.execute(select(Attempt).where(Attempt.call_id == call.id))).scalar_one()
        assert call.case_id == cases[-1].id and call.state == "requested" and call.agent_leg_call_id
        assert (agent_row.state, agent_row.current_call_id) == (AgentState.DIALING, call.id)
        assert attempt.outcome is None  # reserved, counted until its outcome arrives
        assert (await dial_next(container.dialer, agent.id)).outcome == "not_ready"  # one call per agent
    finally:
        await container.engine.dispose()


@pytest.mark.parametrize(("campaign", "mode", "state", "outcome"), [
    (CampaignStatus.STOPPED, "progressive", AgentState.READY, "no_campaign"),
    (CampaignStatus.PAUSED, "progressive", AgentState.READY, "no_campaign"),
    (CampaignStatus.RUNNING, "preview", AgentState.READY, "not_ready"),
    (CampaignStatus.RUNNING, "progressive", AgentState.NOT_READY, "not_ready"),
    (CampaignStatus.RUNNING, "progressive", AgentState.WRAP_UP, "not_ready"),
])
async def test_given_no_reason_to_dial_then_nothing_is_dialed(session, db_url, settings, campaign, mode, state, outcome):
    _, [(agent, _)], _ = await _floor(session, campaign=campaign, mode=mode, state=state)
    container = _container(db_url, settings)
    try:
        assert (await dial_next(container.dialer, agent.id)).outcome == outcome
        assert container.carrier.requested("place_call") == []
        async with container.sessions() as s:
            assert (await s.execute(select(func.count()).select_from(Call))).scalar_one() == 0
    finally:
        await container.engine.dispose()


async def test_given_every_case_blocked_then_the_queue_is_empty_and_nothing_is_dialed(session, db_url, settings):
    client, [(agent, _)], cases = await _floor(session, cases=2)
    for case in cases:
        session.add(StopContact(client_id=client.id, case_id=case.id, e164=None, id_number=None,
                                party_id=(await _debtor_id(session, case.id)), source=StopSource.CLIENT_LIST,
                                reason="test"))
    await session.commit()
    container = _container(db_url, settings)
    try:
        assert (await dial_next(container.dialer, agent.id)).outcome == "queue_empty"
        assert container.carrier.requested("place_call") == []
        async with container.sessions() as s:
            agent_row = (await s.execute(select(AgentSession).where(AgentSession.agent_id == agent.id))).scalar_one()
        assert agent_row.state is AgentState.READY  # still ready, never reserved for nothing
    finally:
        await container.engine.dispose()


async def test_given_the_best_case_blocked_then_it_is_set_aside_with_its_rule_and_the_next_one_dialed(
        session, db_url, settings):
    client, [(agent, _)], cases = await _floor(session, cases=3)
    best, second = cases[-1], cases[-2]  # the largest amount first
    session.add(StopContact(client_id=client.id, case_id=best.id, party_id=await _debtor_id(session, best.id),
                            source=StopSource.CLIENT_LIST, reason="the client's list"))
    await session.commit()
    container = _container(db_url, settings)
    try:
        result = await dial_next(container.dialer, agent.id)

        assert result.outcome == "dialed"
        async with container.sessions() as s:
            call = await s.get(Call, result.call_id)
            parked = await s.get(Case, best.id)
            refusals = (await s.execute(select(func.count()).select_from(Decision)
                                        .where(Decision.allowed.is_(False)))).scalar_one()
        assert call.case_id == second.id
        assert parked.blocked_rules == "stop_contact" and parked.next_allowed_at is not None
        assert parked.held_by_agent_id is None and refusals == 0  # asked by the hand-out; no dial was refused
    finally:
        await container.engine.dispose()


async def test_given_the_agents_own_seat_refused_then_nothing_is_dialed_and_no_case_is_kept_from_others(
        session, db_url, settings):
    _, [(agent, seat)], _ = await _floor(session)
    seat.active = False  # the policy refuses any dial from an unregistered (deactivated) seat
    await session.commit()
    container = _container(db_url, settings)
    try:
        assert (await dial_next(container.dialer, agent.id)).outcome == "queue_empty"
        assert container.carrier.requested("place_call") == []
        assert {holder for holder, until in (await _holds(container)).values()} == {None}
        assert {until for holder, until in (await _holds(container)).values()} == {None}  # none resting either
    finally:
        await container.engine.dispose()


async def test_given_a_dial_then_its_ledger_entry_call_and_attempt_are_linked_and_the_case_held(
        session, db_url, settings):
    _, [(agent, _)], cases = await _floor(session)
    container = _container(db_url, settings)
    try:
        result = await dial_next(container.dialer, agent.id)
        async with container.sessions() as s:
            call = await s.get(Call, result.call_id)
            entry = await s.get(Decision, call.decision_id)
            attempt = (await s.execute(select(Attempt).where(Attempt.call_id == call.id))).scalar_one()
            held = (await s.execute(select(Case.id).where(Case.held_by_agent_id == agent.id))).scalars().all()
        assert entry.allowed and not entry.dry_run and (entry.agent_id, entry.number_id) == (agent.id, call.number_id)
        assert (attempt.decision_id, attempt.party_id, attempt.started_at) == (entry.id, call.party_id, entry.at)
        assert held == [call.case_id] == [cases[-1].id]
    finally:
        await container.engine.dispose()


async def _ready_again(container, agent_id: int) -> None:
    """The call is over and noted: the agent is ready (what the wrap-up request leaves behind)."""
    async with container.write_sessions() as s:
        await s.execute(update(AgentSession).where(AgentSession.agent_id == agent_id)
                        .values(state=AgentState.READY, current_call_id=None))
        await s.commit()


async def _holds(container) -> dict[int, tuple[int | None, object]]:
    async with container.sessions() as s:
        rows = await s.execute(select(Case.id, Case.held_by_agent_id, Case.held_until))
        return {case_id: (holder, until) for case_id, holder, until in rows}


@pytest.mark.parametrize("cases", [3, 1])
async def test_given_the_agent_ready_again_then_the_case_worked_last_rests_and_another_is_dialed(
        session, db_url, settings, cases):
    _, [(agent, _)], _ = await _floor(session, cases=cases)
    container = _container(db_url, settings)
    try:
        first = await dial_next(container.dialer, agent.id)
        async with container.sessions() as s:
            worked = (await s.get(Call, first.call_id)).case_id
        await _ready_again(container, agent.id)

        second = await dial_next(container.dialer, agent.id)

        holds = await _holds(container)
        holder, rest_until = holds[worked]
        assert holder is None and rest_until > dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)  # resting
        if cases == 1:  # nothing else to dial: the worked case rests all the same
            assert second.outcome == "queue_empty"
        else:
            async with container.sessions() as s:
                dialed = (await s.get(Call, second.call_id)).case_id
            assert second.outcome == "dialed" and dialed != worked and holds[dialed][0] == agent.id
    finally:
        await container.engine.dispose()


class _HangingUpWhilePlacing(FakeCarrier):
    """The call is ended (the agent logged out, a supervisor hung up) while its seat's leg is placed."""

    def __init__(self, db_url: str) -> None:
        super().__init__()
        self.db_url = db_url

    async def place_call(self, request: PlaceCall) -> PlacedCall:
        engine = create_engine(self.db_url)
        try:
            async with engine.begin() as conn:
                await conn.execute(update(Call).where(Call.id == int(request.call_ref)).values(state="canceled"))
        finally:
            await engine.dispose()
        return await super().place_call(request)


async def test_given_the_call_ended_while_its_seat_leg_was_placed_then_the_leg_is_recorded_and_hung_up(
        session, db_url, settings):
    _, [(agent, _)], _ = await _floor(session)
    container = _container(db_url, settings)
    container.use(carrier=_HangingUpWhilePlacing(db_url))
    try:
        result = await dial_next(container.dialer, agent.id)
        [placed] = container.carrier.requested("place_call")
        [hung_up] = container.carrier.requested("hang_up")
        async with container.sessions() as s:
            call = await s.get(Call, result.call_id)
        assert hung_up["carrier_call_id"] == call.agent_leg_call_id
        assert container.carrier.placed[call.agent_leg_call_id] is placed["request"]
    finally:
        await container.engine.dispose()


class _RefusingSeats(FakeCarrier):
    """The carrier refuses to create the seat's leg (a misconfigured softphone identity)."""

    async def place_call(self, request: PlaceCall) -> PlacedCall:
        self.requests.append(("place_call", {"request": request}))
        raise CarrierRejected("Invalid 'To' phone number", carrier_code=21211, http_status=400)


async def test_given_the_carrier_refuses_the_seats_leg_then_the_call_fails_unplaced_and_the_agent_is_not_ready(
        session, db_url, settings):
    _, [(agent, _)], _ = await _floor(session)
    container = _container(db_url, settings)
    container.use(carrier=_RefusingSeats())
    try:
        result = await dial_next(container.dialer, agent.id)

        async with container.sessions() as s:
            call = await s.get(Call, result.call_id)
            attempt = (await s.execute(select(Attempt).where(Attempt.call_id == call.id))).scalar_one()
            agent_row = (await s.execute(select(AgentSession).where(AgentSession.agent_id == agent.id))).scalar_one()
            case = await s.get(Case, call.case_id)
        assert (call.state, call.error_code) == ("failed", "21211") and "agent leg" in call.error_detail
        assert attempt.outcome == "not_placed"  # the party was never rung
        assert (agent_row.state, agent_row.state_reason) == (AgentState.NOT_READY, "seat_unreachable")
        assert agent_row.current_call_id is None and container.carrier.requested("hang_up") == []
        # no call happened: the case is held the usual while, not through a call that never was
        assert case.held_by_agent_id == agent.id and case.held_until < call.requested_at + HOLD + dt.timedelta(minutes=1)

        container.use(carrier=FakeCarrier())  # the seat is mended; the agent goes ready again
        await _ready_again(container, agent.id)
        again = await dial_next(container.dialer, agent.id)

        assert again.outcome == "dialed"  # no note is owed for a call that never rang the party
    finally:
        await container.engine.dispose()


async def _debtor_id(session, case_id: int) -> int:
    from dialer.cases.models import Party

    return (await session.execute(select(Party.id).where(Party.case_id == case_id))).scalars().first()


@pytest.mark.postgres_only
async def test_given_two_engines_serving_the_same_ready_agents_then_each_agent_gets_exactly_one_call(
        session, db_url, settings):
    _, agents, _ = await _floor(session, agents=6, cases=12)
    first, second = _container(db_url, settings), _container(db_url, settings)
    try:
        results = await asyncio.gather(*(dial_next(c.dialer, agent.id) for agent, _ in agents for c in (first, second)))
        assert sorted(r.outcome for r in results) == ["dialed"] * 6 + ["not_ready"] * 6
        async with first.sessions() as s:
            calls = list((await s.execute(select(Call))).scalars())
        assert sorted(c.agent_id for c in calls) == sorted(a.id for a, _ in agents)
        assert len({c.case_id for c in calls}) == 6  # and no case twice
        placed = first.carrier.requested("place_call") + second.carrier.requested("place_call")
        assert len(placed) == 6
    finally:
        await first.engine.dispose()
        await second.engine.dispose()
