"""Faults on the SIP path, end to end: each ends in a known state, and what was recorded is kept.

* the trunk unreachable: nothing answers the INVITE (Timer B) — the party's leg fails with the
  SIP code, the call ends ``failed``, the agent's leg is hung up and the agent released;
* the media process SIGKILLed mid-call: the legs end, the partial WAV it flushed is told
  (``RecordingPartial=true``), noted and captured;
* the B2BUA restarted mid-call (a new ``SipCarrier`` on the same run directory, the old one gone
  without a word as a crashed process would be): the new one ends the orphaned media call and
  tells its partial recording; the reconciler settles the call, whose leg the carrier no longer
  knows (20404).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import wave
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update

from dialer.agents.models import AgentState
from dialer.calls.models import Call, CallState, Recording
from dialer.compliance.models import Attempt
from dialer.dialing.reconcile import reconcile_job
from dialer.kit.db import begin_write, session_factory, writer_engine
from dialer.kit.types import utcnow
from dialer.telephony.sip.carrier import SipCarrier
from dialer.telephony.sip.timers import TimerConfig
from recordings.jobs import capture_job
from tests.e2e.conftest import eventually
from tests.e2e_sip.conftest import SipDesk, SipFloor, agent_in, ended_call, nothing_held, sip_desk, softphone
from tests.sip.tones import AGENT_HZ, PARTY_HZ, segments_with
from webhooks.models import CarrierEvent

pytestmark = pytest.mark.timeout(120)

QUICK_TIMERS = TimerConfig(t1=0.05)  # Timer B = 64 x T1 = 3.2 s instead of 32 s


async def _dial(floor: SipFloor, desk: SipDesk) -> int:
    token = await floor.login(desk.username)
    async with floor.client(token) as http:
        created = await http.post("/v1/calls", json={"number_id": desk.number_ids[0]})
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


async def _party_events(sessions, call_id: int, kind: str) -> list[dict[str, str]]:
    async with sessions() as s:
        rows = (await s.execute(select(CarrierEvent).where(CarrierEvent.call_id == call_id, CarrierEvent.kind == kind)
                                .order_by(CarrierEvent.id))).scalars()
        return [dict(row.payload) for row in rows if row.carrier == "sip"]


async def _bridged_for(sessions, call_id: int, seconds: float) -> None:
    """Until the call is bridged, then ``seconds`` of both tones into the recording."""
    async def bridged() -> bool:
        async with sessions() as s:
            call = await s.get(Call, call_id)
        return call is not None and call.state is CallState.BRIDGED

    await eventually(bridged, timeout=30, what="the bridge")
    await asyncio.sleep(seconds)


async def _captured(engine, floor: SipFloor, call_id: int, path: Path) -> tuple[Recording, dict[str, str]]:
    """The call's Recording row (once noted) and the recording-status event's parameters, after
    the capture job stored the WAV (written to ``path``)."""
    sessions = session_factory(engine)

    async def noted() -> Recording | None:
        async with sessions() as s:
            return (await s.execute(select(Recording).where(Recording.call_id == call_id))).scalar_one_or_none()

    pending = await eventually(noted, timeout=20, what="the recording callback")
    [told] = await _party_events(sessions, call_id, "recording_status")
    async with session_factory(writer_engine(engine))() as s:
        await begin_write(s)
        summary = await capture_job(s, now=utcnow(), source=floor.carrier, storage=floor.container.storage)
        await s.commit()
    assert (summary["stored"], summary["failed"]) == (1, 0), summary
    async with sessions() as s:
        stored = await s.get(Recording, pending.id)
    path.write_bytes(await floor.container.storage.get(stored.sha256))
    return stored, told


def _both_sides_for(path: Path, seconds: float) -> None:
    with wave.open(str(path)) as wav:
        assert (wav.getnchannels(), wav.getframerate()) == (2, 8000)
    assert sum(e - s for s, e in segments_with(path, AGENT_HZ, channel=0)) >= seconds, "the agent, channel 1"
    assert sum(e - s for s, e in segments_with(path, PARTY_HZ, channel=1)) >= seconds, "the party, channel 2"


async def test_given_the_trunk_unreachable_when_the_agent_dials_then_the_party_leg_fails_and_the_agent_is_released(
        sip_floor: SipFloor, session, engine) -> None:
    old = sip_floor.new_carrier(trunk_direct=True, timers=QUICK_TIMERS)  # the party's INVITE straight at the trunk
    sip_floor.server.run(old.aclose())
    desk = await sip_desk(session, held=True, session_state=AgentState.READY)
    sessions = session_factory(engine)  # nothing listens on the trunk's port
    async with softphone(sip_floor, desk.seat_user) as phone:
        call_id = await _dial(sip_floor, desk)
        await phone.wait_for_event("CALL_ESTABLISHED", timeout=20)
        call = await ended_call(sessions, call_id)
        await phone.wait_for_event("CALL_CLOSED", timeout=15)  # the agent's leg is hung up
    await nothing_held(sip_floor)

    assert (call.state, call.outcome, call.bridged_at) == (CallState.FAILED, "failed", None)
    agent = await agent_in(sessions, desk.agent_id, AgentState.WRAP_UP)
    assert agent.current_call_id == call.id
    async with sessions() as s:
        attempt = (await s.execute(select(Attempt).where(Attempt.call_id == call.id))).scalar_one()
    assert (attempt.outcome, attempt.conversation) == ("failed", False)
    party_end = [p for p in await _party_events(sessions, call.id, "call_status")
                 if p["CallSid"] == call.carrier_call_id and p["CallStatus"] == "failed"]
    assert [p["SipResponseCode"] for p in party_end] == ["408"]  # Timer B: nobody answered at all


async def test_given_a_bridged_call_when_the_media_process_is_killed_then_legs_end_and_the_partial_recording_is_kept(
        sip_floor: SipFloor, session, engine, tmp_path: Path) -> None:
    desk = await sip_desk(session, held=True, session_state=AgentState.READY)
    sessions = session_factory(engine)
    trunk = await sip_floor.trunk("trunk_answers_until_bye", ring_ms="300")
    async with softphone(sip_floor, desk.seat_user) as phone:
        call_id = await _dial(sip_floor, desk)
        await _bridged_for(sessions, call_id, 3.0)

        os.kill(sip_floor.media.pid, signal.SIGKILL)
        sip_floor.media.wait(10)

        call = await ended_call(sessions, call_id)
        await phone.wait_for_event("CALL_CLOSED", timeout=15)  # the agent's leg is hung up
    assert await trunk.verdict() == 0, trunk.log_tail()  # so is the party's: the trunk got its BYE
    await nothing_held(sip_floor)

    assert (call.state, call.outcome) == (CallState.COMPLETED, "answered")
    await agent_in(sessions, desk.agent_id, AgentState.WRAP_UP)
    recording, told = await _captured(engine, sip_floor, call_id, tmp_path / "partial.wav")
    assert told["RecordingPartial"] == "true" and told["RecordingChannels"] == "2"
    assert recording.status.value == "stored" and recording.channels == 2 and recording.partial
    _both_sides_for(tmp_path / "partial.wav", 1.5)  # what the process flushed before it died


async def test_given_a_bridged_call_when_the_b2bua_restarts_then_the_partial_recording_is_told_and_the_call_settled(
        sip_floor: SipFloor, session, engine, tmp_path: Path) -> None:
    desk = await sip_desk(session, held=True, session_state=AgentState.READY)
    sessions = session_factory(engine)
    await sip_floor.trunk("trunk_answers_until_bye", ring_ms="300")  # its BYE never comes: killed at teardown
    async with softphone(sip_floor, desk.seat_user) as phone:
        call_id = await _dial(sip_floor, desk)
        await _bridged_for(sessions, call_id, 3.0)

        crashed = _crash(sip_floor, sip_floor.carrier)
        sip_floor.new_carrier()
        sip_floor.server.run(sip_floor.carrier.start())  # up again: the orphaned media call ended, told
        sip_floor.server.run(_forget(crashed))

        recording, told = await _captured(engine, sip_floor, call_id, tmp_path / "partial.wav")
        async with sessions() as s:
            assert (await s.get(Call, call_id)).state is CallState.BRIDGED  # nothing else told the service
        settled = await _reconcile_quiet_call(engine, sip_floor, call_id)
        await phone.hangup()  # the agent gives up on the silent line (the new B2BUA knows no such dialog)
    await nothing_held(sip_floor)  # the new carrier holds nothing of the call it never knew

    assert told["RecordingPartial"] == "true" and told["CallSid"] == settled.carrier_call_id
    assert recording.status.value == "stored" and recording.partial
    _both_sides_for(tmp_path / "partial.wav", 1.5)
    assert (settled.state, settled.outcome) == (CallState.COMPLETED, "answered")
    await agent_in(sessions, desk.agent_id, AgentState.WRAP_UP)
    async with sessions() as s:
        attempt = (await s.execute(select(Attempt).where(Attempt.call_id == call_id))).scalar_one()
    assert (attempt.outcome, attempt.conversation) == ("answered", True)


class _Crashed:
    """A carrier stopped the way a killed process stops: nothing more on its SIP port, no more
    callbacks reaching the service, its media control connections dropped (the media process
    keeps the calls); its leg tasks, dead in a real crash, are left to ``_forget``."""

    def __init__(self, carrier: SipCarrier) -> None:
        self.carrier = carrier
        self.tasks = [leg.task for leg in carrier.legs.values() if leg.task is not None and not leg.task.done()]


def _crash(floor: SipFloor, carrier: SipCarrier) -> _Crashed:
    crashed = _Crashed(carrier)

    async def crash() -> None:
        flow, media, signalling = carrier._flow, carrier._media, carrier._signalling  # noqa: SLF001 (a crash)
        assert flow is not None and media is not None and signalling is not None
        flow.callbacks._http = httpx.AsyncClient(  # noqa: SLF001 (a crash: nothing more is delivered)
            transport=httpx.MockTransport(lambda request: httpx.Response(204)))
        signalling.close()
        await media.aclose()
        await asyncio.sleep(0.1)  # the SIP socket is closed on the next turns of the loop

    floor.server.run(crash())
    return crashed


async def _forget(crashed: _Crashed) -> None:
    """The crashed carrier's leg tasks are dropped (in a real crash they died with the process)."""
    for task in crashed.tasks:
        task.cancel()
    await asyncio.gather(*crashed.tasks, return_exceptions=True)


async def _reconcile_quiet_call(engine, floor: SipFloor, call_id: int) -> Call:
    """The reconciler's sweep once the call has been quiet for longer than it waits (its row's
    last change and its request moved back), its hang-ups carried out after the commit, as the job
    runs them."""
    async with session_factory(writer_engine(engine))() as s:
        await begin_write(s)
        requested = (await s.get(Call, call_id)).requested_at
        await s.execute(update(Call).where(Call.id == call_id).values(
            updated_at=utcnow() - dt.timedelta(minutes=20), requested_at=requested - dt.timedelta(minutes=20)))
        await s.commit()
    async with session_factory(writer_engine(engine))() as s:
        await begin_write(s)
        swept = await reconcile_job(s, now=utcnow(), carrier=floor.carrier)
        await s.commit()
    assert swept.summary == {"examined": 1, "settled": 1, "carrier_errors": 0, "last_id": call_id}
    floor.server.run(floor.container.actions.run(swept.effects))
    async with session_factory(engine)() as s:
        call = await s.get(Call, call_id)
    assert call is not None
    return call


async def test_given_a_trunk_that_never_ends_a_cancelled_invite_when_the_agent_hangs_up_then_the_leg_ends_anyway(
        sip_floor: SipFloor, session, engine) -> None:
    old = sip_floor.new_carrier(trunk_direct=True, timers=QUICK_TIMERS)  # so 64 x T1 is 3.2 s
    sip_floor.server.run(old.aclose())
    desk = await sip_desk(session, held=True, session_state=AgentState.READY)
    sessions = session_factory(engine)
    trunk = await sip_floor.trunk("trunk_ignores_cancel")
    token = await sip_floor.login(desk.username)
    async with softphone(sip_floor, desk.seat_user) as phone:
        call_id = await _dial(sip_floor, desk)

        await eventually(lambda: _state(sessions, call_id, CallState.RINGING), timeout=20, what="the party ringing")
        async with sip_floor.client(token) as http:
            assert (await http.post(f"/v1/calls/{call_id}/hang-up")).status_code == 200
        await phone.wait_for_event("CALL_CLOSED", timeout=15)
        call = await ended_call(sessions, call_id, timeout=20)
    assert await trunk.verdict() == 0, trunk.log_tail()  # it got our CANCEL
    await nothing_held(sip_floor)

    party = [p for p in await _party_events(sessions, call_id, "call_status") if p["CallSid"] == call.carrier_call_id]
    assert [p["CallStatus"] for p in party] == ["initiated", "ringing", "canceled"]
    assert call.ended_at is not None and call.bridged_at is None
    assert await agent_in(sessions, desk.agent_id, AgentState.WRAP_UP)


async def _state(sessions, call_id: int, state: CallState) -> bool:
    async with sessions() as s:
        call = await s.get(Call, call_id)
    return call is not None and call.state is state
