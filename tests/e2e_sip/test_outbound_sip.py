"""Outbound calls end to end on the SIP path: the agent's baresip registered at the edge, sipp as
the trunk, the service's B2BUA and a media process between them — the same records, events and
wrap-up as a Twilio call (``tests/e2e/test_outbound.py``, ``test_progressive.py``)."""

from __future__ import annotations

import asyncio
import hashlib
import wave
from pathlib import Path

import pytest
from sqlalchemy import select

from dialer.agents.models import AgentState
from dialer.calls.models import Call, Recording
from dialer.cases.models import Party
from dialer.compliance.models import Attempt, Decision, StopContact, StopSource
from dialer.kit.db import begin_write, session_factory, writer_engine
from dialer.kit.types import utcnow
from recordings.jobs import capture_job
from tests.e2e.conftest import eventually
from tests.e2e_sip.conftest import (
    DEBTOR, SipFloor, agent_in, ended_call, nothing_held, sip_desk, softphone,
)
from tests.sip.tones import AGENT_HZ, PARTY_HZ, segments_with, speech_end
from webhooks.models import CarrierEvent

pytestmark = pytest.mark.timeout(120)

NOTE = {"disposition": "refused", "contact_status": "debtor_reached", "contact_name": "张三",
        "result": "拒绝还款，称下月发工资后再说", "arrears_reason": "失业", "next_action": "一周后再跟进"}
TALK_MS = "6000"  # the party's line: about three seconds of whisper to the agent, then a bridged while


async def _calls(sessions, agent_id: int) -> list[Call]:
    async with sessions() as s:
        return list((await s.execute(select(Call).where(Call.agent_id == agent_id).order_by(Call.id))).scalars())


async def _events(sessions, call_id: int) -> list[CarrierEvent]:
    async with sessions() as s:
        return list((await s.execute(select(CarrierEvent).where(CarrierEvent.call_id == call_id)
                                     .order_by(CarrierEvent.id))).scalars())


async def test_given_a_ready_progressive_agent_on_a_sip_seat_then_whispered_bridged_recorded_and_wrapped_up(
        sip_floor: SipFloor, session, engine, tmp_path: Path) -> None:
    desk = await sip_desk(session, cases=2)
    sessions = session_factory(engine)
    trunk = await sip_floor.trunk("trunk_answers", calls=2, ring_ms="500", talk_ms=TALK_MS)
    boss, agent = await sip_floor.login(desk.supervisor), await sip_floor.login(desk.username)
    async with softphone(sip_floor, desk.seat_user) as phone:
        async with sip_floor.client(boss) as http:
            campaign = (await http.post("/v1/campaigns", json={"client_id": desk.client_id, "name": "SIP progressive",
                                                               "mode": "progressive", "team": "team-s"})).json()
            assert (await http.post(f"/v1/campaigns/{campaign['id']}/status",
                                    json={"status": "running"})).status_code == 200
        async with sip_floor.client(agent) as http:
            assert (await http.post("/v1/agent/session", json={"seat_id": desk.seat_id, "mode": "progressive"})
                    ).status_code in (200, 201)
            assert (await http.post("/v1/agent/state", json={"state": "ready"})).status_code == 200

            first = (await eventually(lambda: _calls(sessions, desk.agent_id), what="the first call"))[0]
            assert (first.campaign_id, first.case_id) == (campaign["id"], desk.case_ids[0])  # the larger amount
            await phone.wait_for_event("CALL_ESTABLISHED", timeout=20)
            call = await ended_call(sessions, first.id, settled=lambda c: c.hangup_by is not None)
            await phone.wait_for_event("CALL_CLOSED", timeout=15)
            wrap = await agent_in(sessions, desk.agent_id, AgentState.WRAP_UP)
            assert len(await _calls(sessions, desk.agent_id)) == 1  # no second call before the note

            saved = await http.post(f"/v1/calls/{first.id}/wrap-up", json=NOTE)
            assert saved.status_code == 201, saved.text
            calls = await eventually(lambda: _at_least(sessions, desk.agent_id, 2), what="the next case dialed")
            assert calls[1].case_id == desk.case_ids[1]
        async with sip_floor.client(boss) as http:  # no third call: the trunk takes two
            assert (await http.post(f"/v1/campaigns/{campaign['id']}/status",
                                    json={"status": "stopped"})).status_code == 200
        await ended_call(sessions, calls[1].id, settled=lambda c: c.hangup_by is not None)
        await phone.wait_for_event("CALL_CLOSED", timeout=15)
        heard = phone.recordings_dir
    assert await trunk.verdict() == 0, trunk.log_tail()
    await nothing_held(sip_floor)

    assert (call.state.value, call.outcome, call.hangup_by) == ("completed", "answered", "party")
    assert call.bridged_at and call.answered_at and call.carrier == "sip"
    assert call.carrier_call_id and call.agent_leg_call_id and call.carrier_call_id != call.agent_leg_call_id
    assert "受招商银行委托" in (call.whisper_text or "")
    assert wrap.current_call_id == call.id
    async with sessions() as s:
        attempt = (await s.execute(select(Attempt).where(Attempt.call_id == call.id))).scalar_one()
    assert (attempt.outcome, attempt.conversation) == ("answered", True)
    events = await _events(sessions, call.id)
    assert events and {e.carrier for e in events} == {"sip"} and all(e.processed_at and not e.error for e in events)
    statuses = [(e.leg, e.payload.get("CallStatus")) for e in events if e.kind == "call_status"]
    for leg in ("agent", "party"):
        assert [s for l, s in statuses if l == leg] == ["initiated", "ringing", "in-progress", "completed"], statuses

    recording = await _captured(sessions, engine, call, sip_floor)
    wav_path = tmp_path / "captured.wav"
    wav_path.write_bytes(recording)
    with wave.open(str(wav_path)) as wav:
        assert (wav.getnchannels(), wav.getframerate()) == (2, 8000)
    assert sum(e - s for s, e in segments_with(wav_path, AGENT_HZ, channel=0)) > 2.0, "channel 1: the agent"
    assert sum(e - s for s, e in segments_with(wav_path, PARTY_HZ, channel=1)) > 2.0, "channel 2: the party"
    assert not segments_with(wav_path, PARTY_HZ, channel=0) and not segments_with(wav_path, AGENT_HZ, channel=1)

    first_heard = sorted(heard.glob("dump-*-dec.wav"))[0]  # the first call, as the agent's phone heard it
    whisper_end = speech_end(first_heard)
    assert whisper_end is not None, "the agent heard the whisper"
    assert whisper_end <= segments_with(first_heard, PARTY_HZ)[0][0], "the whisper came before the party"


async def _at_least(sessions, agent_id: int, n: int) -> list[Call] | None:
    calls = await _calls(sessions, agent_id)
    return calls if len(calls) >= n else None


async def _captured(sessions, engine, call: Call, floor: SipFloor) -> bytes:
    """The capture job run as the scheduler runs it, on the call's Recording row: its stored bytes."""
    async def noted() -> Recording | None:
        async with sessions() as s:
            return (await s.execute(select(Recording).where(Recording.call_id == call.id))).scalar_one_or_none()

    pending = await eventually(noted, what="the recording callback")
    assert (pending.status.value, pending.channels, pending.carrier) == ("pending", 2, "sip")
    storage = floor.container.storage
    async with session_factory(writer_engine(engine))() as s:
        await begin_write(s)
        summary = await capture_job(s, now=utcnow(), source=floor.container.carrier, storage=storage)
        await s.commit()
    assert summary["stored"] >= 1 and summary["failed"] == 0, summary  # both calls' recordings are due
    async with sessions() as s:
        stored = await s.get(Recording, pending.id)
    content = await storage.get(stored.sha256)
    assert stored.status.value == "stored" and hashlib.sha256(content).hexdigest() == stored.sha256
    assert not stored.partial  # the whole call
    return bytes(content)


async def test_given_a_preview_dial_on_a_sip_seat_then_answered_bridged_and_the_agent_in_wrap_up(
        sip_floor: SipFloor, session, engine) -> None:
    desk = await sip_desk(session, held=True, session_state=AgentState.READY)
    sessions = session_factory(engine)
    trunk = await sip_floor.trunk("trunk_answers", ring_ms="300", talk_ms="5000")
    token = await sip_floor.login(desk.username)
    async with softphone(sip_floor, desk.seat_user) as phone:
        async with sip_floor.client(token) as http:
            created = await http.post("/v1/calls", json={"number_id": desk.number_ids[0]})
        assert created.status_code == 201, created.text
        await phone.wait_for_event("CALL_ESTABLISHED", timeout=20)
        call = await ended_call(sessions, created.json()["id"], settled=lambda c: c.hangup_by is not None)
        await phone.wait_for_event("CALL_CLOSED", timeout=15)
    assert await trunk.verdict() == 0, trunk.log_tail()
    await nothing_held(sip_floor)

    assert (call.state.value, call.outcome, call.hangup_by, call.to_e164) == ("completed", "answered", "party", DEBTOR)
    assert call.bridged_at is not None
    edge_log = sip_floor.edge_log()  # both legs went through the edge: the seat's and the trunk's
    assert f"from the B2BUA: INVITE to seat {desk.seat_user}" in edge_log and "-> the trunk" in edge_log
    agent = await agent_in(sessions, desk.agent_id, AgentState.WRAP_UP)
    assert agent.current_call_id == call.id
    async with sessions() as s:
        attempt = (await s.execute(select(Attempt).where(Attempt.call_id == call.id))).scalar_one()
    assert (attempt.outcome, attempt.conversation) == ("answered", True)


async def test_given_a_stop_contact_party_when_the_agent_dials_then_refused_and_nothing_reaches_the_edge(
        sip_floor: SipFloor, session, engine) -> None:
    desk = await sip_desk(session, held=True, session_state=AgentState.READY)
    party_id = (await session.execute(select(Party.id).where(Party.case_id == desk.case_ids[0]))).scalar_one()
    session.add(StopContact(client_id=desk.client_id, case_id=desk.case_ids[0], party_id=party_id,
                            source=StopSource.PARTY_REQUEST, reason="asked not to be called"))
    await session.commit()
    sessions = session_factory(engine)
    trunk = await sip_floor.trunk("trunk_answers", ring_ms="300", talk_ms="2000")
    token = await sip_floor.login(desk.username)
    async with softphone(sip_floor, desk.seat_user) as phone:
        async with sip_floor.client(token) as http:
            refused = await http.post("/v1/calls", json={"number_id": desk.number_ids[0]})
        assert refused.status_code == 409, refused.text
        assert [v["rule"] for v in refused.json()["violations"]] == ["stop_contact"]
        await asyncio.sleep(1.0)  # a leg placed by mistake would have reached the phone by now
        assert not [e for e in phone.events if str(e.get("type", "")).startswith("CALL_")]

    async with sessions() as s:
        decision = await s.get(Decision, refused.json()["decision_id"])
        calls = list((await s.execute(select(Call))).scalars())
    assert decision.allowed is False and calls == []
    assert "INVITE" not in sip_floor.edge_log(), "no INVITE reached the edge"  # it logs each (see the preview)
    assert trunk.invites() == 0 and trunk.process.returncode is None  # the trunk still waits for its first call


@pytest.mark.parametrize(("scenario", "outcome", "sip_code"), [
    ("trunk_busy", "busy", "486"),
    ("trunk_no_answer", "no_answer", "480"),
])
async def test_given_the_trunk_does_not_connect_the_party_then_the_outcome_recorded_and_the_agent_in_wrap_up(
        sip_floor: SipFloor, session, engine, scenario: str, outcome: str, sip_code: str) -> None:
    desk = await sip_desk(session, held=True, session_state=AgentState.READY)
    sessions = session_factory(engine)
    trunk = await sip_floor.trunk(scenario, ring_ms="1000")
    token = await sip_floor.login(desk.username)
    async with softphone(sip_floor, desk.seat_user) as phone:
        async with sip_floor.client(token) as http:
            created = await http.post("/v1/calls", json={"number_id": desk.number_ids[0]})
        assert created.status_code == 201, created.text
        await phone.wait_for_event("CALL_ESTABLISHED", timeout=20)
        call = await ended_call(sessions, created.json()["id"])
        await phone.wait_for_event("CALL_CLOSED", timeout=15)  # the agent's leg is hung up
    assert await trunk.verdict() == 0, trunk.log_tail()
    await nothing_held(sip_floor)

    assert (call.state.value, call.outcome, call.bridged_at) == (outcome, outcome, None)
    await agent_in(sessions, desk.agent_id, AgentState.WRAP_UP)
    async with sessions() as s:
        attempt = (await s.execute(select(Attempt).where(Attempt.call_id == call.id))).scalar_one()
        recordings = list((await s.execute(select(Recording).where(Recording.call_id == call.id))).scalars())
    assert (attempt.outcome, attempt.conversation, recordings) == (outcome, False, [])
    party_end = [e.payload for e in await _events(sessions, call.id) if e.kind == "call_status"
                 and e.leg == "party" and e.payload.get("CallStatus") == outcome.replace("_", "-")]
    assert [p.get("SipResponseCode") for p in party_end] == [sip_code]
