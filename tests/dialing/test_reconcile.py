"""The reconciler settles a live call whose leg the carrier no longer knows (the SIP carrier after
a restart: its dialogs went with it) instead of asking about it forever."""

from __future__ import annotations

import datetime as dt

import pytest

from dialer.calls.models import Call, CallState
from dialer.compliance.models import Attempt
from dialer.dialing.reconcile import QUIET_AFTER, reconcile_job
from dialer.telephony.fake import FakeCarrier
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

    assert swept.summary == {"examined": 1, "settled": 1, "carrier_errors": 0}
    await session.refresh(call)
    assert call.state is ends and call.ended_at == NOW
    assert "no longer knows the leg" in (call.error_detail or "")


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

    assert swept.summary == {"examined": 1, "settled": 0, "carrier_errors": 1}
    assert (await session.get(Call, call.id)).state is CallState.BRIDGED


_ = Attempt
