"""The archive integration end to end: an integrator registers an endpoint over the API and runs
the reference receiver; a real call through the emulator ends, is wrapped up and its recording is
captured; the archive is down for an hour (a driven clock for the delivery worker and the
receiver), then back — and every event arrives once, signed, with the recording fetched by its
signed link and its SHA-256 checked. Both databases."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib

import httpx
import pytest
import uvicorn
from sqlalchemy import select

from archive_receiver import create_app as create_receiver
from dialer.agents.models import AgentState
from dialer.auth.models import Role
from dialer.calls.models import Recording
from dialer.kit.db import begin_write, session_factory, writer_engine
from dialer.kit.ports import free_port
from dialer.outbox.models import Delivery, DeliveryAttempt, DeliveryStatus
from dialer.outbox.worker import DeliveryWorker
from dialer.telephony.twilio_carrier import TwilioCarrier
from recordings.completeness import audit_day
from recordings.jobs import capture_job
from tests.e2e.conftest import DEBTOR, agent_state, eventually, seat_agent_with_case, seat_of
from tests.factories import make_user
from tests.clocks import DrivenClock

pytestmark = pytest.mark.timeout(180)

NOTE = {"disposition": "refused", "contact_status": "debtor_reached", "contact_name": "张三", "result": "拒绝还款",
        "recovery_likelihood": "low", "next_action": "三日后再联系"}
TYPES = ["call.completed", "call.wrapped_up", "recording.stored", "recording.missing"]




class Receiver:
    """The reference receiver on a fixed loopback port, started and stopped by the test."""

    def __init__(self, app, port: int) -> None:
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        self.task: asyncio.Task | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self.server.serve())
        await eventually(lambda: self.server.started, what="the receiver to listen")

    async def stop(self) -> None:
        self.server.should_exit = True
        if self.task is not None:
            await self.task


async def _ended_call(live, desk) -> dict:
    token = await live.login(desk.username)
    async with live.client(token) as http:
        created = (await http.post("/v1/calls", json={"number_id": desk.number_id})).json()

    async def ended():
        async with live.client(token) as http:
            body = (await http.get(f"/v1/calls/{created['id']}")).json()
        return body if body["ended_at"] and body["hangup_by"] else None

    call = await eventually(ended, what="the call to end")
    return {**call, "token": token}


async def test_given_the_archive_down_for_an_hour_when_it_returns_then_every_event_and_recording_arrives(
        live_factory, session, engine, settings, tmp_path):
    desk = await seat_agent_with_case(session)
    admin = await make_user(session, role=Role.ADMIN, username="archive-admin")
    await session.commit()
    live = live_factory(default={"behaviour": "answer", "ring_seconds": 1, "talk_seconds": 4}, numbers={
        DEBTOR: {"behaviour": "answer", "ring_seconds": 1, "talk_seconds": 60},
        seat_of(desk.seat_identity): {"behaviour": "answer", "ring_seconds": 0.5, "hangup_first": "caller"}})
    port = free_port()
    async with live.client(await live.login(admin.username)) as http:
        made = await http.post("/v1/integrations/endpoints", json={
            "url": f"http://127.0.0.1:{port}/webhooks", "description": "the bank's archive", "event_types": TYPES})
    assert made.status_code == 201, made.text
    secret = made.json()["secret"]

    # a real call ends, is wrapped up, and its recording is captured into the service's storage
    call = await _ended_call(live, desk)
    sessions = session_factory(engine)
    await eventually(lambda: _wrapping_up(sessions, desk.agent_id), what="the agent in wrap-up")
    async with live.client(call["token"]) as http:
        noted = await http.post(f"/v1/calls/{call['id']}/wrap-up", json=NOTE)
    assert noted.status_code == 201, noted.text
    recording = await eventually(lambda: _recording(sessions, call["id"]), what="the recording callback")
    container = live.server.app.state.container
    writers = session_factory(writer_engine(engine))
    carrier = TwilioCarrier(account_sid=live.emulator.account_sid, auth_token=live.emulator.auth_token,
                            api_base_url=live.emulator.url)
    try:
        async with writers() as s:
            await begin_write(s)
            assert (await capture_job(s, now=dt.datetime.now(dt.UTC), source=carrier,
                                      storage=container.storage))["stored"] == 1
            await s.commit()
    finally:
        await carrier.aclose()

    # the archive is down for an hour: every attempt fails, is logged and rescheduled, none is lost
    clock = DrivenClock(dt.datetime.now(dt.UTC))
    worker = DeliveryWorker(sessions=writers, clock=clock, media_link=container.media_link, timeout_s=5.0)
    receiver = Receiver(create_receiver(secrets=[secret], store_dir=tmp_path / "archive", now=clock), port)
    try:
        started = clock.now
        while clock.now < started + dt.timedelta(hours=1):
            await worker.run_once()
            clock.now += dt.timedelta(minutes=5)
        async with sessions() as s:
            deliveries = (await s.execute(select(Delivery))).scalars().all()
            failures = (await s.execute(select(DeliveryAttempt))).scalars().all()
        assert len(deliveries) == 3 and {d.status for d in deliveries} == {DeliveryStatus.PENDING}
        assert all(d.attempts >= 4 for d in deliveries), [d.attempts for d in deliveries]
        assert failures and all(a.status_code is None and a.error for a in failures)

        # back: the next retries deliver everything, once
        await receiver.start()
        for _ in range(12):
            clock.now += dt.timedelta(hours=1)
            await worker.run_once()
            async with sessions() as s:
                if all(d.status is DeliveryStatus.DELIVERED for d in (await s.execute(select(Delivery))).scalars()):
                    break
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            received = (await http.get("/received")).json()
    finally:
        await receiver.stop()
        await worker.aclose()

    assert sorted(r["type"] for r in received) == ["call.completed", "call.wrapped_up", "recording.stored"]
    async with sessions() as s:
        stored = await s.get(Recording, recording.id)
        assert {d.status for d in (await s.execute(select(Delivery))).scalars()} == {DeliveryStatus.DELIVERED}
    files = [p for p in (tmp_path / "archive").rglob("*.wav")]
    assert [p.name for p in files] == [f"{stored.sha256}.wav"]
    assert hashlib.sha256(files[0].read_bytes()).hexdigest() == stored.sha256
    wrapped = next(r for r in received if r["type"] == "call.wrapped_up")
    assert wrapped["data"]["disposition"] == "refused"

    async with sessions() as s:  # and the day's audit finds nothing missing for this call
        report = await audit_day(s, day=stored.stored_at.date(), zone="UTC", storage=container.storage,
                                 now=dt.datetime.now(dt.UTC))
    assert [g for g in report.gaps if g.call_id == call["id"]] == []
    assert report.deliveries[made.json()["id"]]["delivered"] == 1


async def _wrapping_up(sessions, agent_id):
    agent = await agent_state(sessions, agent_id)
    return agent.state is AgentState.WRAP_UP


async def _recording(sessions, call_id):
    async with sessions() as s:
        return (await s.execute(select(Recording).where(Recording.call_id == call_id))).scalar_one_or_none()
