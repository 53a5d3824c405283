"""A live call supervised; callbacks repeated and reordered; the carrier rate-limiting and
unreachable — each through the emulator and the real SDK."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import func, select

from dialer.agents.models import AgentState
from dialer.auth.models import Role
from dialer.calls.models import Call
from dialer.compliance.models import Attempt
from dialer.dialing.reconcile import reconcile_job
from dialer.kit.db import begin_write, is_postgres, session_factory, writer_engine
from dialer.telephony.twilio_carrier import TwilioCarrier
from tests.e2e.conftest import DEBTOR, agent_state, eventually, seat_agent_with_case, seat_of
from tests.factories import make_seat, make_user
from twilio_emulator import Scenario
from webhooks.models import CarrierEvent

pytestmark = pytest.mark.timeout(120)

STAYS = {"behaviour": "answer", "ring_seconds": 0.5, "hangup_first": "caller"}


async def _get(live, token, call_id) -> dict:
    async with live.client(token) as http:
        return (await http.get(f"/v1/calls/{call_id}")).json()


async def _dial(live, token, number_id) -> dict:
    async with live.client(token) as http:
        answer = await http.post("/v1/calls", json={"number_id": number_id})
    assert answer.status_code == 201, answer.text
    return answer.json()


def _participant(live, call_id: int, sid: str):
    em = live.emulator.emulator
    for conf in em.conferences.values():
        if conf.friendly_name == f"call-{call_id}":
            for p in em.rooms.participants(conf):
                if p.call_sid == sid:
                    return p
    return None


async def test_given_a_bridged_call_then_a_supervisor_joins_in_each_mode_and_switches(live_factory, session, engine):
    desk = await seat_agent_with_case(session)
    supervisor = await make_user(session, role=Role.SUPERVISOR)
    booth = await make_seat(session, code="SUP1")
    await session.commit()
    live = live_factory(numbers={DEBTOR: STAYS, seat_of(desk.seat_identity): STAYS, seat_of(booth.softphone_identity): STAYS})
    agent_token, boss_token = await live.login(desk.username), await live.login(supervisor.username)
    call = await _dial(live, agent_token, desk.number_id)
    await eventually(lambda: _bridged(live, agent_token, call["id"]), what="bridge")
    async with live.client(agent_token) as http:  # agents cannot supervise
        assert (await http.post(f"/v1/calls/{call['id']}/supervisors", json={"mode": "monitor",
                                                                             "seat_id": booth.id})).status_code == 403
    async with live.client(boss_token) as http:
        joined = await http.post(f"/v1/calls/{call['id']}/supervisors", json={"mode": "monitor", "seat_id": booth.id})
        assert joined.status_code == 201, joined.text
        leg = joined.json()["participant_call_id"]
        sessions = session_factory(engine)
        async with sessions() as s:
            agent_leg = (await s.get(Call, call["id"])).agent_leg_call_id
        monitor = await eventually(lambda: _connected(live, call["id"], leg), what="supervisor connected")
        assert (monitor.muted, monitor.coaching) == (True, False)
        for mode, expected in (("whisper", (False, True, agent_leg)), ("barge", (False, False, None)),
                               ("monitor", (True, False, None))):
            switched = await http.patch(f"/v1/calls/{call['id']}/supervisors/{leg}", json={"mode": mode})
            assert switched.status_code == 200, switched.text
            p = _participant(live, call["id"], leg)
            assert (p.muted, p.coaching, p.call_sid_to_coach if p.coaching else None) == expected, mode
    async with live.client(agent_token) as http:
        assert (await http.post(f"/v1/calls/{call['id']}/hang-up")).status_code == 200
    ended = await eventually(lambda: _ended(live, agent_token, call["id"]), what="the end")
    assert (ended["state"], ended["outcome"]) == ("completed", "answered")  # the supervisor's leg moved nothing


async def test_given_supervisors_on_a_call_then_each_is_kept_on_it_one_leaves_and_the_calls_end_closes_the_other(
        live_factory, session, engine):
    desk = await seat_agent_with_case(session)
    first, second = await make_user(session, role=Role.SUPERVISOR), await make_user(session, role=Role.SUPERVISOR)
    booths = await make_seat(session, code="SUP1"), await make_seat(session, code="SUP2")
    await session.commit()
    live = live_factory(numbers={DEBTOR: STAYS, seat_of(desk.seat_identity): STAYS,
                                 **{seat_of(b.softphone_identity): STAYS for b in booths}})
    agent_token = await live.login(desk.username)
    tokens = [await live.login(first.username), await live.login(second.username)]
    call = await _dial(live, agent_token, desk.number_id)
    await eventually(lambda: _bridged(live, agent_token, call["id"]), what="bridge")
    legs = []
    for token, booth, mode in zip(tokens, booths, ("monitor", "whisper"), strict=True):
        async with live.client(token) as http:
            joined = await http.post(f"/v1/calls/{call['id']}/supervisors", json={"mode": mode, "seat_id": booth.id})
            assert joined.status_code == 201, joined.text
            legs.append(joined.json()["participant_call_id"])
        await eventually(lambda leg=legs[-1]: _connected(live, call["id"], leg), what="supervisor connected")

    async with live.client(tokens[0]) as http:
        floor = (await http.get("/v1/board/floor")).json()
        [row] = [a for a in floor["agents"] if a["agent_id"] == desk.agent_id]
        assert [(s["supervisor_id"], s["mode"]) for s in row["call"]["supervisors"]] == [
            (first.id, "monitor"), (second.id, "whisper")]
        assert (await http.delete(f"/v1/calls/{call['id']}/supervisors/{legs[0]}")).status_code == 204
        await eventually(lambda: _participant(live, call["id"], legs[0]) is None
                         or _participant(live, call["id"], legs[0]).status != "connected", what="first leg gone")
        assert (await http.delete(f"/v1/calls/{call['id']}/supervisors/{legs[0]}")).status_code == 404
        assert (await http.patch(f"/v1/calls/{call['id']}/supervisors/{legs[0]}",
                                 json={"mode": "barge"})).status_code == 404
    async with live.client(agent_token) as http:
        assert (await http.post(f"/v1/calls/{call['id']}/hang-up")).status_code == 200
    await eventually(lambda: _ended(live, agent_token, call["id"]), what="the end")

    async def closed():
        async with live.client(tokens[1]) as http:
            kept = (await http.get(f"/v1/calls/{call['id']}/supervisors")).json()
        return kept if all(s["ended_at"] for s in kept) else None

    kept = await eventually(closed, what="the second supervision closed by its leg's end")
    assert [(s["supervisor_id"], s["mode"], s["ended_by"]) for s in kept] == [
        (first.id, "monitor", "left"), (second.id, "whisper", "hung_up")]
    async with session_factory(engine)() as s:
        from dialer.audit.models import AuditEntry

        actions = list((await s.execute(select(AuditEntry.action).where(
            AuditEntry.entity == "call", AuditEntry.entity_id == str(call["id"]),
            AuditEntry.action.like("call.supervise%")).order_by(AuditEntry.id))).scalars())
    assert actions == ["call.supervise", "call.supervise", "call.supervise_leave"]


def _connected(live, call_id, sid):
    p = _participant(live, call_id, sid)
    return p if p is not None and p.status == "connected" else None


async def _bridged(live, token, call_id):
    body = await _get(live, token, call_id)
    return body if body["state"] == "bridged" else None


async def _ended(live, token, call_id):
    body = await _get(live, token, call_id)
    return body if body["ended_at"] else None


async def test_given_callbacks_repeated_and_shuffled_then_each_event_is_applied_once_and_the_call_ends_right(
        live_factory, session, engine):
    desk = await seat_agent_with_case(session)
    live = live_factory(duplicate_callbacks=True, shuffle_callbacks=True, seed=3,
                        numbers={DEBTOR: {"behaviour": "answer", "ring_seconds": 1, "talk_seconds": 60},
                                 seat_of(desk.seat_identity): STAYS})
    token = await live.login(desk.username)
    call = await _dial(live, token, desk.number_id)
    ended = await eventually(lambda: _ended(live, token, call["id"]), what="the end")
    assert (ended["state"], ended["outcome"]) == ("completed", "answered")
    sessions = session_factory(engine)
    await eventually(lambda: _wrap_up(sessions, desk.agent_id), what="agent in wrap-up")
    em = live.emulator.emulator
    await eventually(lambda: all(c.status in ("completed", "busy", "no-answer", "failed", "canceled")
                                 for c in em.calls.values()), what="every leg ended")
    live.emulator.run(em.poster.drain(), timeout=15)  # every callback (and its repeats) delivered
    deliveries = [d for d in em.poster.deliveries if "call-status" in d.url]
    keys = {(d.params.get("CallSid"), d.params.get("SequenceNumber")) for d in deliveries}
    assert len(deliveries) > len(keys)  # every status callback was delivered more than once
    async with sessions() as s:
        stored = (await s.execute(select(func.count()).select_from(CarrierEvent)
                                  .where(CarrierEvent.kind == "call_status"))).scalar_one()
        attempts = (await s.execute(select(Attempt).where(Attempt.call_id == call["id"]))).scalars().all()
    assert stored == len(keys)
    assert [(a.outcome, a.conversation) for a in attempts] == [("answered", True)]


async def _wrap_up(sessions, agent_id):
    agent = await agent_state(sessions, agent_id)
    return agent if agent.state is AgentState.WRAP_UP else None


async def test_given_the_carrier_answers_429_then_dials_are_paced_and_all_succeed(live_factory, session, engine):
    desks = [await seat_agent_with_case(session, numbers=(f"+86138000000{10 + i}",)) for i in range(4)]
    live = live_factory(max_concurrent_requests=1, rest_latency_seconds=0.05,
                        default={"behaviour": "answer", "ring_seconds": 1, "talk_seconds": 30},
                        numbers={seat_of(d.seat_identity): STAYS for d in desks})
    tokens = [await live.login(d.username) for d in desks]
    calls = await asyncio.gather(*(_dial(live, t, d.number_id) for t, d in zip(tokens, desks)))
    ended = [await eventually(lambda c=c, t=t: _ended(live, t, c["id"]), what="the end") for c, t in zip(calls, tokens)]
    assert [(c["state"], c["outcome"]) for c in ended] == [("completed", "answered")] * 4
    assert live.emulator.emulator.limiter.refused[live.emulator.account_sid] > 0  # 429s were answered, and retried


async def test_given_twilio_unreachable_during_create_then_the_call_is_settled_by_the_reconciler(
        live_factory, session, engine):
    desk = await seat_agent_with_case(session)
    live = live_factory(fail_rest="disconnect", numbers={seat_of(desk.seat_identity): STAYS})
    token = await live.login(desk.username)
    call = await _dial(live, token, desk.number_id)
    sessions = session_factory(engine)

    async def uncertain():
        async with sessions() as s:
            row = await s.get(Call, call["id"])
        return row if row.error_detail and "uncertain" in row.error_detail else None

    async def row_released():
        """The service's own look at the carrier right after the failure holds the call's row while
        it asks; the sweep skips a locked row (the next one takes it), so wait until it has let go."""
        async with sessions() as s, s.begin():
            locked = select(Call.id).where(Call.id == call["id"])
            if is_postgres(s):
                locked = locked.with_for_update(skip_locked=True)
            return (await s.execute(locked)).scalar_one_or_none() is not None

    row = await eventually(uncertain, what="the uncertain placement noted")
    assert row.state == "requested" and row.agent_leg_call_id is None  # a known state, never re-created blindly
    await eventually(row_released, what="the service's own reconcile attempt over")
    live.emulator.set_scenario(Scenario(speed=100))  # Twilio is back
    carrier = TwilioCarrier(account_sid=live.emulator.account_sid, auth_token=live.emulator.auth_token,
                            api_base_url=live.emulator.url)
    try:
        async with session_factory(writer_engine(engine))() as s:  # as the scheduler runs it: a writer
            await begin_write(s)
            swept = await reconcile_job(s, now=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2), carrier=carrier)
            await s.commit()
    finally:
        await carrier.aclose()
    assert swept.summary == {"examined": 1, "settled": 1, "carrier_errors": 0, "last_id": call["id"]}
    async with sessions() as s:
        row = await s.get(Call, call["id"])
        attempt = (await s.execute(select(Attempt).where(Attempt.call_id == call["id"]))).scalar_one()
    assert (row.state, row.error_code, attempt.outcome) == ("failed", "not_placed", "not_placed")
    assert not live.emulator.emulator.calls  # nothing was ever created at the carrier
    agent = await agent_state(sessions, desk.agent_id)
    assert (agent.state, agent.current_call_id) == (AgentState.READY, None)
