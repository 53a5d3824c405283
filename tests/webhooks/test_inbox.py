"""The carrier events inbox: callbacks are stored and answered at once, then applied in arrival
order, each once, with what each came to; a failing event is set aside and retried alone."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import select, text, update
from twilio.request_validator import RequestValidator

from dialer.calls.models import Call, CallState
from dialer.compliance.models import Attempt
from tests.webhooks.conftest import PUBLIC, TWILIO_TOKEN
from tests.webhooks.test_call_status import _call, _post
from webhooks import inbox as inbox_module
from webhooks.inbox import Inbox
from webhooks.models import CarrierEvent


async def _events(app) -> list[CarrierEvent]:
    async with app.state.container.sessions() as s:
        return list((await s.execute(select(CarrierEvent).order_by(CarrierEvent.id))).scalars())


async def test_given_callbacks_then_stored_with_their_url_and_applied_later_with_outcomes(app, api):
    call = await _call(app)
    app.state.container.inbox.stop()  # the background processor stays out of this test
    await _post(api, call.id, "ringing", sequence=1)
    await _post(api, 987654, "ringing", sequence=2)  # our URL names no such call

    stored = await _events(app)
    assert [(e.call_id, e.kind, e.processed_at, e.outcome) for e in stored] == [
        (call.id, "call_status", None, None), (987654, "call_status", None, None)]
    async with app.state.container.sessions() as s:
        assert (await s.get(Call, call.id)).state is CallState.REQUESTED, "answered before being applied"

    assert await app.state.container.inbox.drain() == 2
    applied = await _events(app)
    assert [e.outcome for e in applied] == ["applied", "unknown_call"]
    assert all(e.processed_at is not None and e.error is None for e in applied)
    async with app.state.container.sessions() as s:
        assert (await s.get(Call, call.id)).state is CallState.RINGING
    assert await app.state.container.inbox.drain() == 0, "each event is applied once"


async def test_given_a_failing_event_then_it_alone_is_set_aside_and_retried_until_it_applies(app, api, monkeypatch):
    container = app.state.container
    container.inbox.stop()
    first, second = await _call(app), await _call(app)
    real = inbox_module.APPLY["call_status"]

    async def broken_for_first(session, event):
        if event.call_id == first.id:
            raise RuntimeError("the database said no")
        return await real(session, event)

    monkeypatch.setitem(inbox_module.APPLY, "call_status", broken_for_first)
    await _post(api, first.id, "ringing", sequence=1, CallSid="CA" + "1" * 32)
    await _post(api, second.id, "ringing", sequence=2, CallSid="CA" + "2" * 32)
    now = container.clock()
    monkeypatch.setattr(container.inbox, "clock", lambda: now)
    await container.inbox.drain()

    failed, applied = await _events(app)
    assert failed.processed_at is None and failed.attempts == 1 and "the database said no" in failed.error
    assert failed.retry_at == now + dt.timedelta(seconds=5), "the first retry of a failure: 5 s on"
    assert applied.outcome == "applied", "the other event of the batch went through"
    assert await container.inbox.drain() == 0, "not retried before its time"

    monkeypatch.setitem(inbox_module.APPLY, "call_status", real)
    monkeypatch.setattr(container.inbox, "clock", lambda: failed.retry_at + dt.timedelta(seconds=1))
    assert await container.inbox.drain() == 1
    retried = (await _events(app))[0]
    assert retried.outcome == "applied" and retried.error is None and retried.retry_at is None
    async with container.sessions() as s:
        assert (await s.get(Call, first.id)).state is CallState.RINGING


@pytest.mark.postgres_only
async def test_given_the_call_row_locked_then_the_callback_is_still_answered_at_once(app, api):
    """Storing does not touch the call: a long transaction on it does not hold the carrier up
    (PostgreSQL: row locks; SQLite has one writer)."""
    call = await _call(app)
    async with app.state.container.write_sessions() as holder:
        await holder.get(Call, call.id, with_for_update=True)
        response = await asyncio.wait_for(_post(api, call.id, "ringing", sequence=1), timeout=10)
        assert response.status_code == 204
    await app.state.container.inbox.drain()
    async with app.state.container.sessions() as s:
        assert (await s.get(Call, call.id)).state is CallState.RINGING


@pytest.mark.postgres_only
async def test_given_two_replicas_draining_together_then_every_event_is_applied_once_in_order(app, api):
    container = app.state.container
    container.inbox.stop()
    calls = [await _call(app) for _ in range(30)]
    for sequence, status in enumerate(("initiated", "ringing", "in-progress", "completed")):
        for call in calls:
            await _post(api, call.id, status, sequence=sequence, CallSid=f"CA{call.id:032d}", CallDuration="9")

    replicas = [Inbox(engine=container.engine, write_sessions=container.write_sessions, clock=container.clock,
                      actions=container.actions) for _ in range(2)]
    applied = await asyncio.gather(*(replica.drain() for replica in replicas))
    assert sum(applied) == 4 * len(calls)
    assert {e.outcome for e in await _events(app)} == {"applied"}
    async with container.sessions() as s:
        states = (await s.execute(select(Call.state).where(Call.id.in_([c.id for c in calls])))).scalars().all()
        settled = (await s.execute(select(Attempt.outcome).where(Attempt.call_id.in_([c.id for c in calls]))))
        locks = (await s.execute(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"))).scalar_one()
    assert set(states) == {CallState.COMPLETED}
    assert set(settled.scalars()) == {"answered"}
    assert locks == 0


async def test_given_a_failing_event_then_supervisors_see_it_and_an_admin_retries_it_now(app, api, headers,
                                                                                        monkeypatch):
    container = app.state.container
    container.inbox.stop()
    call = await _call(app)

    async def broken(session, event):
        raise RuntimeError("lost the thread")

    monkeypatch.setitem(inbox_module.APPLY, "call_status", broken)
    await _post(api, call.id, "ringing", sequence=1)
    await container.inbox.drain()

    listed = await api.get("/v1/carrier-events", headers=headers["supervisor"])
    assert listed.status_code == 200
    [failing] = listed.json()["items"]
    assert failing["call_id"] == call.id and failing["attempts"] == 1 and "lost the thread" in failing["error"]
    assert (await api.get("/v1/carrier-events", headers=headers["agent"])).status_code == 403
    assert (await api.post(f"/v1/carrier-events/{failing['id']}/retry", headers=headers["supervisor"])).status_code == 403

    monkeypatch.setitem(inbox_module.APPLY, "call_status", inbox_module.call_status.apply)
    retried = await api.post(f"/v1/carrier-events/{failing['id']}/retry", headers=headers["admin"])
    assert retried.status_code == 200
    assert await container.inbox.drain() == 1, "due at once, not at its back-off time"
    assert (await api.get("/v1/carrier-events", headers=headers["supervisor"])).json()["items"] == []
    again = await api.post(f"/v1/carrier-events/{failing['id']}/retry", headers=headers["admin"])
    assert again.status_code == 409 and "nothing to retry" in again.json()["detail"]
    missing = await api.post("/v1/carrier-events/999999/retry", headers=headers["admin"])
    assert missing.status_code == 404


async def test_given_the_agents_leg_ends_while_the_partys_is_being_placed_then_its_event_waits_for_the_partys_id(
        app, api, monkeypatch):
    """A short call can outlive the carrier's answer to placing the party's leg: the agent's end is
    not taken for "the party was never rung" but applied once the party's leg id is known."""
    container = app.state.container
    container.inbox.stop()
    call = await _call(app)
    agent_sid, party_sid = "CA" + "a" * 32, "CA" + "b" * 32
    async with container.write_sessions() as s:
        await s.execute(update(Call).where(Call.id == call.id).values(state=CallState.DIALING,
                                                                      agent_leg_call_id=agent_sid))
        await s.commit()
    path = f"/webhooks/twilio/call-status?call_id={call.id}&leg=agent"
    params = {"CallSid": agent_sid, "CallStatus": "completed", "SequenceNumber": "3", "AccountSid": "AC" + "0" * 32}
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC + path, params)
    assert (await api.post(path, data=params, headers={"X-Twilio-Signature": signature})).status_code == 204

    now = container.clock()
    monkeypatch.setattr(container.inbox, "clock", lambda: now)
    await container.inbox.drain()
    [waiting] = await _events(app)
    assert waiting.processed_at is None and "being placed" in waiting.error
    assert waiting.retry_at == now + dt.timedelta(seconds=0.5), "a waiting event is tried again sooner"
    async with container.sessions() as s:
        assert (await s.get(Call, call.id)).state is CallState.DIALING, "not ended as never placed"

    async with container.write_sessions() as s:  # the carrier's answer: the party's leg id recorded
        await s.execute(update(Call).where(Call.id == call.id).values(carrier_call_id=party_sid))
        await s.commit()
    monkeypatch.setattr(container.inbox, "clock", lambda: waiting.retry_at + dt.timedelta(seconds=1))
    assert await container.inbox.drain() == 1
    [applied] = await _events(app)
    assert applied.outcome == "agent_leg" and applied.error is None
    async with container.sessions() as s:
        assert (await s.get(Call, call.id)).state is CallState.DIALING, "the party's own callback ends it"
