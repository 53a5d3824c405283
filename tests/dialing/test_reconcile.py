"""The reconciler settles a live call whose leg the carrier no longer knows (the SIP carrier after
a restart: its dialogs went with it) instead of asking about it forever."""

from __future__ import annotations

import datetime as dt

import pytest

from dialer.calls.models import Call, CallState, Recording, RecordingStatus
from dialer.compliance.models import Attempt
from dialer.dialing.reconcile import QUIET_AFTER, reconcile_job
from dialer.telephony.fake import FakeCarrier
from recordings.storage import LocalStorage
from tests.factories import make_case, make_client, make_user
from tests.scheduling.helpers import make_call

NOW = dt.datetime(2026, 12, 4, 3, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(("live", "ends"), [(CallState.BRIDGED, CallState.COMPLETED),
                                             (CallState.RINGING, CallState.FAILED)])
async def test_given_a_quiet_live_call_whose_leg_the_carrier_does_not_know_then_it_is_settled(
        session, live: CallState, ends: CallState) -> None:
    case = await make_case(session, client=await make_client(session))
    agent = await make_user(session)
    call = await make_call(session, case=case, agent_id=agent.id, at=NOW - QUIET_AFTER * 2, state=live)
    call.outcome, call.updated_at = None, NOW - QUIET_AFTER * 2
    if live is CallState.BRIDGED:
        call.answered_at = call.bridged_at = NOW - QUIET_AFTER * 2
    await session.commit()
    carrier = FakeCarrier()  # knows no leg at all: every get_call is a 20404

    swept = await reconcile_job(session, now=NOW, carrier=carrier)
    await session.commit()

    assert swept.summary == {"examined": 1, "settled": 1, "carrier_errors": 0, "last_id": call.id}
    await session.refresh(call)
    assert call.state is ends and call.ended_at == NOW
    assert "no longer knows the leg" in (call.error_detail or "")


@pytest.mark.parametrize("placing", [CallState.REQUESTED, CallState.DIALING])
async def test_given_a_placement_begun_seconds_ago_by_the_services_clock_then_the_sweep_leaves_it_alone(
        session, placing: CallState) -> None:
    """``updated_at`` is the row's wall-clock write time; the service's clock may be another (the demo
    simulates one hours ahead). A placement is uncertain a minute after it began by the service's
    clock — before, the sweep found no leg yet for a call the carrier was still placing and ended
    it ``failed`` (the SIP demo's first call, on a loaded machine)."""
    case = await make_case(session, client=await make_client(session))
    agent = await make_user(session)
    call = await make_call(session, case=case, agent_id=agent.id, at=NOW - dt.timedelta(seconds=5), state=placing)
    call.outcome, call.carrier_call_id, call.updated_at = None, None, NOW - dt.timedelta(hours=3)
    call.dialing_at = NOW - dt.timedelta(seconds=2) if placing is CallState.DIALING else None
    await session.commit()

    swept = await reconcile_job(session, now=NOW, carrier=FakeCarrier())
    await session.commit()

    assert swept.summary["examined"] == 0
    assert (await session.get(Call, call.id)).state is placing


@pytest.mark.parametrize("placing", [CallState.REQUESTED, CallState.DIALING])
async def test_given_a_placement_begun_over_a_minute_ago_with_no_leg_at_the_carrier_then_it_ends_unplaced(
        session, placing: CallState) -> None:
    case = await make_case(session, client=await make_client(session))
    agent = await make_user(session)
    begun = NOW - dt.timedelta(seconds=61)
    call = await make_call(session, case=case, agent_id=agent.id, at=begun, state=placing)
    call.outcome, call.carrier_call_id, call.updated_at = None, None, begun
    call.dialing_at = begun if placing is CallState.DIALING else None
    await session.commit()

    swept = await reconcile_job(session, now=NOW, carrier=FakeCarrier())
    await session.commit()

    assert swept.summary["settled"] == 1
    await session.refresh(call)
    assert call.state is CallState.FAILED and call.error_code == "not_placed"


async def test_given_the_start_sweep_then_a_call_this_run_began_is_not_its_business(session) -> None:
    """The start sweep settles what the last run left open; a call the new run's engine is placing
    meanwhile (requested after the start) has no leg at the carrier yet and must not be ended."""
    case = await make_case(session, client=await make_client(session))
    agent = await make_user(session)
    left = await make_call(session, case=case, agent_id=agent.id, at=NOW - dt.timedelta(seconds=1),
                           state=CallState.REQUESTED)
    new = await make_call(session, case=case, agent_id=agent.id, at=NOW + dt.timedelta(seconds=1),
                          state=CallState.REQUESTED)
    for call in (left, new):
        call.outcome, call.carrier_call_id = None, None
    await session.commit()

    swept = await reconcile_job(session, now=NOW + dt.timedelta(seconds=2), carrier=FakeCarrier(), open_before=NOW)
    await session.commit()

    assert swept.summary == {"examined": 1, "settled": 1, "carrier_errors": 0, "last_id": left.id}
    assert (await session.get(Call, new.id)).state is CallState.REQUESTED


async def test_given_the_carrier_failing_otherwise_then_the_call_is_left_for_the_next_sweep(session) -> None:
    case = await make_case(session, client=await make_client(session))
    agent = await make_user(session)
    call = await make_call(session, case=case, agent_id=agent.id, at=NOW - QUIET_AFTER * 2, state=CallState.BRIDGED)
    call.outcome, call.updated_at = None, NOW - QUIET_AFTER * 2
    await session.commit()
    carrier = FakeCarrier()
    from dialer.telephony.carrier import CarrierUnavailable

    carrier.fail_next("get_call", CarrierUnavailable("down"))

    swept = await reconcile_job(session, now=NOW, carrier=carrier)

    assert swept.summary == {"examined": 1, "settled": 0, "carrier_errors": 1, "last_id": call.id}
    assert (await session.get(Call, call.id)).state is CallState.BRIDGED


async def test_given_the_service_restarting_then_every_open_call_is_settled_at_once_and_live_ones_left(
        session, engine, tmp_path) -> None:
    """Restarted a minute after its last callbacks: the quiet rule would wait 15 minutes; the start
    sweep asks at once — the call the carrier ended ends (its agent to wrap-up), the live one stays."""
    from dialer.agents.models import AgentSession, AgentState
    from dialer.dialing.carrier_actions import CarrierActions
    from dialer.dialing.urls import CallbackUrls
    from dialer.jobs import reconcile_at_start
    from dialer.kit.db import session_factory, writer_engine
    from sqlalchemy import select

    from dialer.telephony.carrier import CallStatus, PlaceCall
    from tests.factories import make_seat

    carrier = FakeCarrier(clock=lambda: NOW - dt.timedelta(seconds=30))  # what it did while we were down
    case = await make_case(session, client=await make_client(session))
    calls, agents = [], []
    for n in range(3):
        agent, seat = await make_user(session), await make_seat(session)
        placed = await carrier.place_call(PlaceCall(call_ref=str(n), to_e164="+8613800138000",
                                                    from_e164="+862100000000", twiml_url="http://x/t",
                                                    status_callback_url="http://x/s", record=False))
        carrier.advance(placed.carrier_call_id, CallStatus.IN_PROGRESS)
        call = await make_call(session, case=case, agent_id=agent.id, at=NOW - dt.timedelta(minutes=1),
                               state=CallState.BRIDGED)
        call.outcome, call.updated_at, call.carrier_call_id, call.seat_id = None, NOW - dt.timedelta(minutes=1), \
            placed.carrier_call_id, seat.id
        call.answered_at = call.bridged_at = NOW - dt.timedelta(minutes=1)
        session.add(AgentSession(agent_id=agent.id, seat_id=seat.id, state=AgentState.ON_CALL, current_call_id=None))
        calls.append(call)
        agents.append(agent)
    await session.flush()
    for call, agent in zip(calls, agents):
        agent_session = (await session.execute(
            select(AgentSession).where(AgentSession.agent_id == agent.id))).scalar_one()
        agent_session.current_call_id = call.id
    await session.commit()
    carrier.complete_with_recording(calls[0].carrier_call_id)  # ended at the carrier while the service was down,
    carrier.advance(calls[1].carrier_call_id, CallStatus.COMPLETED)  # the first one recorded
    ids, agent_ids = [c.id for c in calls], [a.id for a in agents]

    assert (await reconcile_job(session, now=NOW, carrier=carrier)).summary["examined"] == 0, "quiet rule: not yet"
    await session.rollback()
    writers = session_factory(writer_engine(engine))
    actions = CarrierActions(carrier=carrier, engine=engine, sessions=session_factory(engine), write_sessions=writers,
                             urls=CallbackUrls("http://dialer.test"), clock=lambda: NOW)

    settled = await reconcile_at_start(writers, clock=lambda: NOW, carrier=carrier, actions=actions,
                                       storage=LocalStorage(tmp_path))

    assert settled == 2
    states = dict((await session.execute(select(Call.id, Call.state).where(Call.id.in_(ids)))).all())
    assert [states[i] for i in ids] == [CallState.COMPLETED, CallState.COMPLETED, CallState.BRIDGED]
    on = dict((await session.execute(select(AgentSession.agent_id, AgentSession.state))).all())
    assert [on[a] for a in agent_ids] == [AgentState.WRAP_UP, AgentState.WRAP_UP, AgentState.ON_CALL]
    stored = (await session.execute(select(Recording.call_id, Recording.status))).all()
    assert stored == [(ids[0], RecordingStatus.STORED)]  # at once, not two minutes after the restart


_ = Attempt
