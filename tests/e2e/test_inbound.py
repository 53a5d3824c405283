"""Inbound calls: routed to the case's agent, else the team, else voicemail; every one recorded;
a missed one leaves a missed call and a callback task."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from dialer.agents.models import AgentState
from dialer.calls.models import Call, Recording
from dialer.kit.db import session_factory
from dialer.tasks.models import Task, TaskKind
from tests.e2e.conftest import AGENCY, DEBTOR, agent_state, eventually, seat_agent_with_case, seat_of

pytestmark = pytest.mark.timeout(120)


def _ring_in(live, caller: str = DEBTOR) -> str:
    answer = httpx.post(f"{live.emulator.url}/_emulator/inbound", json={
        "From": caller, "To": AGENCY, "Url": f"{live.url}/webhooks/twilio/voice/inbound",
        "StatusCallback": f"{live.url}/webhooks/twilio/call-status", "StatusCallbackEvent": "initiated answered completed",
    })
    assert answer.status_code == 201, answer.text
    return answer.json()["sid"]


async def _call(sessions, sid: str, *, ended: bool = True) -> Call | None:
    async with sessions() as s:
        call = (await s.execute(select(Call).where(Call.carrier_call_id == sid))).scalar_one_or_none()
    return call if call is not None and (not ended or call.ended_at is not None) else None


async def _tasks(sessions, case_id: int) -> list[Task]:
    async with sessions() as s:
        return list((await s.execute(select(Task).where(Task.case_id == case_id, Task.kind == TaskKind.CALLBACK))).scalars())


async def _recording(sessions, call_id: int) -> Recording | None:
    async with sessions() as s:
        return (await s.execute(select(Recording).where(Recording.call_id == call_id))).scalar_one_or_none()


async def test_given_the_cases_agent_is_ready_then_they_take_the_call_hear_who_it_is_and_it_is_recorded(
        live_factory, session, engine):
    desk = await seat_agent_with_case(session)
    live = live_factory(numbers={DEBTOR: {"behaviour": "answer", "talk_seconds": 120},
                                 seat_of(desk.seat_identity): {"behaviour": "answer", "ring_seconds": 1,
                                                               "hangup_first": "caller"}})
    sessions = session_factory(engine)
    sid = _ring_in(live)
    on_call = await eventually(lambda: _state_is(sessions, desk.agent_id, AgentState.ON_CALL), what="agent on call")
    call = await eventually(lambda: _call(sessions, sid), what="the inbound call to end")
    assert (call.direction, call.state, call.outcome) == ("inbound", "completed", "answered")
    assert (call.agent_id, call.case_id, call.party_id) == (desk.agent_id, desk.case_id, desk.party_id)
    assert on_call.current_call_id == call.id and call.bridged_at is not None
    assert call.whisper_text and "张三" in call.whisper_text
    await eventually(lambda: _state_is(sessions, desk.agent_id, AgentState.WRAP_UP), what="agent in wrap-up")
    recording = await eventually(lambda: _recording(sessions, call.id), what="the recording callback")
    assert recording.channels == 2
    assert await _tasks(sessions, desk.case_id) == []


async def _state_is(sessions, agent_id, state):
    agent = await agent_state(sessions, agent_id)
    return agent if agent.state is state else None


async def test_given_no_agent_is_ready_then_voicemail_is_recorded_and_a_missed_call_leaves_a_callback_task(
        live_factory, session, engine):
    desk = await seat_agent_with_case(session, ready=False)
    live = live_factory(numbers={DEBTOR: {"behaviour": "answer", "talk_seconds": 200}})
    sessions = session_factory(engine)
    sid = _ring_in(live)
    call = await eventually(lambda: _call(sessions, sid), what="the missed call")
    assert (call.state, call.outcome, call.error_detail, call.agent_id) == ("missed", "missed", "no_agent_ready", None)
    (task,) = await eventually(lambda: _tasks(sessions, desk.case_id), what="the callback task")
    assert task.party_id == desk.party_id and task.assigned_agent_id == desk.agent_id and task.status == "open"
    voicemail = await eventually(lambda: _recording(sessions, call.id), what="the voicemail recording")
    assert voicemail.channels == 1
    assert (await agent_state(sessions, desk.agent_id)).state is AgentState.NOT_READY


async def test_given_the_ready_agent_does_not_answer_then_voicemail_missed_call_and_agent_not_ready(
        live_factory, session, engine):
    desk = await seat_agent_with_case(session)
    live = live_factory(numbers={DEBTOR: {"behaviour": "answer", "talk_seconds": 200},
                                 seat_of(desk.seat_identity): {"behaviour": "no_answer"}})
    sessions = session_factory(engine)
    sid = _ring_in(live)
    call = await eventually(lambda: _call(sessions, sid), what="the missed call")
    assert (call.state, call.error_detail, call.agent_id) == ("missed", "agent_no_answer", desk.agent_id)
    assert len(await eventually(lambda: _tasks(sessions, desk.case_id), what="the callback task")) == 1
    agent = await agent_state(sessions, desk.agent_id)
    assert (agent.state, agent.state_reason, agent.current_call_id) == (AgentState.NOT_READY, "missed_inbound", None)
    assert await eventually(lambda: _recording(sessions, call.id), what="the voicemail recording")


async def test_given_the_caller_hangs_up_while_the_agent_rings_then_missed_with_a_callback_task_and_agent_ready(
        live_factory, session, engine):
    desk = await seat_agent_with_case(session)
    live = live_factory(numbers={DEBTOR: {"behaviour": "answer", "talk_seconds": 3},
                                 seat_of(desk.seat_identity): {"behaviour": "answer", "ring_seconds": 15}})
    sessions = session_factory(engine)
    sid = _ring_in(live)
    call = await eventually(lambda: _call(sessions, sid), what="the missed call")
    assert (call.state, call.error_detail) == ("missed", "caller_hung_up")
    assert len(await eventually(lambda: _tasks(sessions, desk.case_id), what="the callback task")) == 1
    assert (await agent_state(sessions, desk.agent_id)).state is AgentState.READY
