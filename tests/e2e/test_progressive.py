"""Progressive mode end to end: ready → dialed → whisper → bridged → hung up → notes → next case;
no call without a reserved agent; stopping the campaign stops the engine."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from dialer.agents.models import AgentState
from dialer.auth.models import Role
from dialer.calls.models import Call
from dialer.kit.db import session_factory
from tests.e2e.conftest import ALL_DAY, agent_state, eventually, seat_of
from tests.factories import make_case, make_client, make_seat, make_user

pytestmark = pytest.mark.timeout(120)

STAYS = {"behaviour": "answer", "ring_seconds": 0.5, "hangup_first": "caller"}
NOTE = {"disposition": "refused", "contact_status": "debtor_reached", "contact_name": "张三",
        "result": "拒绝还款，称下月发工资后再说", "arrears_reason": "失业", "next_action": "一周后再跟进"}


async def _portfolio(session, cases: int = 3):
    client = await make_client(session, name="招商银行", overrides=ALL_DAY)
    agent = await make_user(session, role=Role.AGENT, team="team-p")
    boss = await make_user(session, role=Role.SUPERVISOR, team="team-p")
    seat = await make_seat(session, team="team-p")
    made = [await make_case(session, client=client, team="team-p", total_owed=10000 + i * 1000,
                            debtor_numbers=(f"+861390000{i:04d}",)) for i in range(cases)]
    await session.commit()
    return client, agent, boss, seat, made


async def _calls(sessions, agent_id) -> list[Call]:
    async with sessions() as s:
        return list((await s.execute(select(Call).where(Call.agent_id == agent_id).order_by(Call.id))).scalars())


async def test_given_a_ready_progressive_agent_then_calls_flow_one_at_a_time_with_notes_between(
        live_factory, session, engine):
    client, agent, boss, seat, cases = await _portfolio(session)
    live = live_factory(default={"behaviour": "answer", "ring_seconds": 1, "talk_seconds": 100},
                        numbers={seat_of(seat.softphone_identity): STAYS})
    sessions = session_factory(engine)
    agent_token, boss_token = await live.login(agent.username), await live.login(boss.username)
    async with live.client(boss_token) as http:
        campaign = (await http.post("/v1/campaigns", json={"client_id": client.id, "name": "M2 progressive",
                                                           "mode": "progressive", "team": "team-p"})).json()
        started = await http.post(f"/v1/campaigns/{campaign['id']}/status", json={"status": "running"})
        assert started.status_code == 200, started.text
    async with live.client(agent_token) as http:
        assert (await http.post("/v1/agent/session", json={"seat_id": seat.id, "mode": "progressive"})).status_code in (200, 201)
        assert (await http.post("/v1/agent/state", json={"state": "ready"})).status_code == 200

        first = (await eventually(lambda: _calls(sessions, agent.id), what="the first progressive call"))[0]
        assert first.campaign_id == campaign["id"] and first.case_id == cases[-1].id  # the largest amount first
        ended = await eventually(lambda: _ended(sessions, first.id), what="the first call to end")
        assert (ended.outcome, ended.bridged_at is not None) == ("answered", True)
        await eventually(lambda: _state(sessions, agent.id, AgentState.WRAP_UP), what="wrap-up")
        assert len(await _calls(sessions, agent.id)) == 1  # no second call before the note

        saved = await http.post(f"/v1/calls/{first.id}/wrap-up", json=NOTE)
        assert saved.status_code == 201, saved.text
        calls = await eventually(lambda: _at_least(sessions, agent.id, 2), what="the next case dialed")
        assert calls[1].case_id != first.case_id
        audit_states = await _audited_states(sessions, agent.id)
        assert ["ready", "reserved", "dialing", "on_call", "wrap_up", "ready", "reserved", "dialing"] == \
            [s for s in audit_states if s != "not_ready"][:8]

    async with live.client(boss_token) as http:  # stop the campaign: no more dialing
        assert (await http.post(f"/v1/campaigns/{campaign['id']}/status", json={"status": "stopped"})).status_code == 200
    second = await eventually(lambda: _ended(sessions, calls[1].id), what="the second call to end")
    async with live.client(agent_token) as http:
        assert (await http.post(f"/v1/calls/{second.id}/wrap-up", json=NOTE)).status_code == 201
    await eventually(lambda: _state(sessions, agent.id, AgentState.READY), what="ready again")
    live.server.run(_sweep(live))  # the engine looks, and finds no running campaign
    assert len(await _calls(sessions, agent.id)) == 2


async def _sweep(live):
    engine = live.server.app.state.container.dialer_engine
    engine.wake()
    return await engine.sweep()


async def _ended(sessions, call_id):
    async with sessions() as s:
        call = await s.get(Call, call_id)
    return call if call.ended_at else None


async def _state(sessions, agent_id, state):
    agent = await agent_state(sessions, agent_id)
    return agent if agent.state is state else None


async def _at_least(sessions, agent_id, n):
    calls = await _calls(sessions, agent_id)
    return calls if len(calls) >= n else None


async def _audited_states(sessions, agent_id) -> list[str]:
    from dialer.audit.models import AuditEntry

    async with sessions() as s:
        rows = (await s.execute(select(AuditEntry).where(AuditEntry.action == "agent.state").order_by(AuditEntry.id))).scalars()
        return [r.detail["to"] for r in rows if r.detail.get("agent_id") == agent_id]


async def test_given_progressive_agents_then_every_call_has_a_reserved_agent_and_none_is_dialed_twice(
        live_factory, session, engine):
    client = await make_client(session, name="建设银行", overrides=ALL_DAY)
    boss = await make_user(session, role=Role.SUPERVISOR, team="team-q")
    agents = [await make_user(session, role=Role.AGENT, team="team-q") for _ in range(3)]
    seats = [await make_seat(session, team="team-q") for _ in range(3)]
    for i in range(6):
        await make_case(session, client=client, team="team-q", debtor_numbers=(f"+861370000{i:04d}",))
    await session.commit()
    live = live_factory(default={"behaviour": "answer", "ring_seconds": 1, "talk_seconds": 200},
                        numbers={seat_of(s.softphone_identity): STAYS for s in seats})
    sessions = session_factory(engine)
    boss_token = await live.login(boss.username)
    async with live.client(boss_token) as http:
        campaign = (await http.post("/v1/campaigns", json={"client_id": client.id, "name": "all",
                                                           "mode": "progressive"})).json()
        await http.post(f"/v1/campaigns/{campaign['id']}/status", json={"status": "running"})
    for agent, seat in zip(agents, seats):
        async with live.client(await live.login(agent.username)) as http:
            assert (await http.post("/v1/agent/session", json={"seat_id": seat.id, "mode": "progressive"})).status_code in (200, 201)
            assert (await http.post("/v1/agent/state", json={"state": "ready"})).status_code == 200

    async def three_live():
        async with sessions() as s:
            rows = list((await s.execute(select(Call))).scalars())
        return rows if len(rows) >= 3 else None

    calls = await eventually(three_live, what="one call per ready agent")
    assert sorted(c.agent_id for c in calls) == sorted(a.id for a in agents)  # one each, none without an agent
    assert len({c.case_id for c in calls}) == 3
    async with sessions() as s:
        total = (await s.execute(select(func.count()).select_from(Call))).scalar_one()
    assert total == 3  # no agent got a second call while on the first
