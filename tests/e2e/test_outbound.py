"""Outbound calls from request to stored recording: the real SDK, the emulator, signed webhooks."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from dialer.agents.models import AgentState
from dialer.calls.models import Call, Recording
from dialer.compliance.models import Attempt
from dialer.kit.db import begin_write, session_factory, writer_engine
from dialer.telephony.twilio_carrier import TwilioCarrier
from recordings.jobs import capture_job
from recordings.storage import LocalStorage
from tests.e2e.conftest import DEBTOR, agent_state, eventually, seat_agent_with_case, seat_of

pytestmark = pytest.mark.timeout(120)

SEAT_ANSWERS = {"behaviour": "answer", "ring_seconds": 0.5, "hangup_first": "caller"}


async def _dial(live, desk) -> tuple[dict, str]:
    token = await live.login(desk.username)
    async with live.client(token) as http:
        answer = await http.post("/v1/calls", json={"number_id": desk.number_id})
    assert answer.status_code == 201, answer.text
    return answer.json(), token


async def _ended(live, token, call_id, settled=lambda body: True) -> dict:
    async def probe():
        async with live.client(token) as http:
            body = (await http.get(f"/v1/calls/{call_id}")).json()
        return body if body["ended_at"] and settled(body) else None

    return await eventually(probe, what=f"call {call_id} to end")


def _scenario(seat_identity: str, party: dict) -> dict:
    return {"default": {"behaviour": "answer", "ring_seconds": 1, "talk_seconds": 4},
            "numbers": {DEBTOR: party, seat_of(seat_identity): SEAT_ANSWERS}}


async def test_given_an_answered_call_then_whisper_bridge_and_dual_recording_stored_with_its_checksum(
        live_factory, session, engine, tmp_path):
    desk = await seat_agent_with_case(session)
    live = live_factory(**_scenario(desk.seat_identity, {"behaviour": "answer", "ring_seconds": 1, "talk_seconds": 60}))
    created, token = await _dial(live, desk)
    assert created["state"] == "requested"

    call = await _ended(live, token, created["id"], settled=lambda body: body["hangup_by"])
    assert (call["state"], call["outcome"], call["hangup_by"]) == ("completed", "answered", "party"), call
    assert call["bridged_at"] and call["answered_at"]
    assert "受招商银行委托" in call["whisper_text"] and "债务人" in call["whisper_text"]
    sessions = session_factory(engine)
    agent = await eventually(lambda: _in(sessions, desk.agent_id, AgentState.WRAP_UP), what="agent in wrap-up")
    assert agent.current_call_id == call["id"]
    async with sessions() as s:
        attempt = (await s.execute(select(Attempt).where(Attempt.call_id == call["id"]))).scalar_one()
        assert (attempt.outcome, attempt.conversation) == ("answered", True)
        row = await s.get(Call, call["id"])
        assert row.carrier_call_id and row.agent_leg_call_id and row.carrier_call_id != row.agent_leg_call_id
    # the emulator's whisper to the agent leg was the <Say> in Chinese, before the conference
    twiml = [d for d in live.emulator.emulator.poster.deliveries if "voice/agent" in d.url]
    assert twiml, "the agent leg fetched its TwiML"

    async def noted():
        async with sessions() as s:
            return (await s.execute(select(Recording).where(Recording.call_id == call["id"]))).scalar_one_or_none()

    pending = await eventually(noted, what="the recording callback")
    assert pending.status == "pending" and pending.channels == 2
    carrier = TwilioCarrier(account_sid=live.emulator.account_sid, auth_token=live.emulator.auth_token,
                            api_base_url=live.emulator.url)
    storage = LocalStorage(tmp_path / "recordings")
    try:
        async with session_factory(writer_engine(engine))() as s:  # as the scheduler runs it: a writer
            await begin_write(s)
            summary = await capture_job(s, now=row.ended_at, source=carrier, storage=storage)
            await s.commit()
    finally:
        await carrier.aclose()
    assert summary["stored"] == 1
    async with sessions() as s:
        stored = await s.get(Recording, pending.id)
    content = await storage.get(stored.sha256)
    assert stored.status == "stored" and hashlib.sha256(content).hexdigest() == stored.sha256
    assert stored.channels == 2 and stored.size_bytes == len(content) and content.startswith(b"RIFF")


async def _in(sessions, agent_id, state):
    agent = await agent_state(sessions, agent_id)
    return agent if agent.state is state else None


@pytest.mark.parametrize(("behaviour", "state", "outcome"), [
    ("no_answer", "no_answer", "no_answer"),
    ("busy", "busy", "busy"),
    ("reject", "rejected", "rejected"),  # declined after ringing: SIP 603, not busy
    ("fail", "failed", "failed"),
])
async def test_given_the_party_does_not_answer_then_outcome_recorded_agent_leg_hung_up_and_agent_in_wrap_up(
        live_factory, session, engine, behaviour, state, outcome):
    desk = await seat_agent_with_case(session)
    live = live_factory(**_scenario(desk.seat_identity, {"behaviour": behaviour, "ring_seconds": 1}))
    created, token = await _dial(live, desk)
    call = await _ended(live, token, created["id"])
    assert (call["state"], call["outcome"], call["bridged_at"]) == (state, outcome, None)
    sessions = session_factory(engine)
    await eventually(lambda: _in(sessions, desk.agent_id, AgentState.WRAP_UP), what="agent in wrap-up")
    async with sessions() as s:
        row = await s.get(Call, call["id"])
        attempt = (await s.execute(select(Attempt).where(Attempt.call_id == call["id"]))).scalar_one()
    assert attempt.outcome == outcome and attempt.conversation is False
    agent_leg = live.emulator.emulator.calls[row.agent_leg_call_id]
    await eventually(lambda: agent_leg.status == "completed", what="the agent leg hung up")


async def test_given_the_agent_hangs_up_first_then_both_legs_end_and_the_agent_is_noted_as_ending_it(
        live_factory, session, engine):
    desk = await seat_agent_with_case(session)
    live = live_factory(**_scenario(desk.seat_identity, {"behaviour": "answer", "ring_seconds": 1,
                                                          "hangup_first": "caller"}))
    created, token = await _dial(live, desk)

    async def bridged():
        async with live.client(token) as http:
            body = (await http.get(f"/v1/calls/{created['id']}")).json()
        return body if body["state"] == "bridged" else None

    await eventually(bridged, what="bridge")
    sessions = session_factory(engine)
    await eventually(lambda: _in(sessions, desk.agent_id, AgentState.ON_CALL), what="agent on call")
    async with live.client(token) as http:
        answer = await http.post(f"/v1/calls/{created['id']}/hang-up")
    assert answer.status_code == 200, answer.text
    call = await _ended(live, token, created["id"], settled=lambda body: body["hangup_by"])
    assert (call["state"], call["outcome"], call["hangup_by"]) == ("completed", "answered", "agent")
    await eventually(lambda: _in(sessions, desk.agent_id, AgentState.WRAP_UP), what="agent in wrap-up")


async def test_given_the_seat_does_not_answer_then_the_party_is_never_rung_and_the_agent_is_not_ready(
        live_factory, session, engine):
    desk = await seat_agent_with_case(session)
    live = live_factory(default={"behaviour": "answer", "ring_seconds": 1},
                        numbers={seat_of(desk.seat_identity): {"behaviour": "no_answer"}})
    created, token = await _dial(live, desk)
    call = await _ended(live, token, created["id"])
    assert (call["state"], call["error_code"]) == ("failed", "seat_no_answer")
    assert not [c for c in live.emulator.emulator.calls.values() if c.to == DEBTOR]
    sessions = session_factory(engine)
    agent = await eventually(lambda: _in(sessions, desk.agent_id, AgentState.NOT_READY), what="agent not ready")
    assert agent.state_reason == "seat_unreachable" and agent.current_call_id is None
    async with sessions() as s:
        attempt = (await s.execute(select(Attempt).where(Attempt.call_id == call["id"]))).scalar_one()
    assert attempt.outcome == "not_placed"
