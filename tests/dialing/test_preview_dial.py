"""A preview dial through the API: only a number of the case the agent holds, only in preview, and
the case stays with them through the call and its wrap-up (however long), then the usual while."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, update

from dialer.agents.models import AgentSession, AgentState
from dialer.calls.models import Call, CallState
from dialer.cases.holds import CALL_HOLD, HOLD
from dialer.cases.models import Case, Party, PhoneNumber
from dialer.compliance.models import Attempt, Decision, StopContact, StopSource
from dialer.telephony.fake import FakeCarrier
from tests.worklist.helpers import NOW, queued_case
from tests.factories import make_client, make_seat, make_user

NOTE = {"disposition": "no_contact", "contact_status": "no_answer", "result": "无人接听"}


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"twilio_caller_id": "+862161230000",
                                       "public_base_url": "https://dialer.example.com"})


@pytest.fixture
async def floor(app, api, headers, users):
    """agent-1 logged in at a team-a seat and ready, the clock at NOW, an in-memory carrier, and a
    second agent (their headers) at another seat."""
    container = app.state.container
    clock = {"now": NOW}
    container.use(carrier=FakeCarrier(), clock=lambda: clock["now"])
    async with container.sessions() as s:
        seats = [await make_seat(s), await make_seat(s)]
        other = await make_user(s, username="agent-2", team="team-a")
        await s.commit()
    token, _ = container.tokens.issue(user_id=other.id, role=other.role, now=NOW)
    other_headers = {"Authorization": f"Bearer {token}"}
    for desk, seat in ((headers["agent"], seats[0]), (other_headers, seats[1])):
        assert (await api.post("/v1/agent/session", json={"seat_id": seat.id}, headers=desk)).status_code == 200
        assert (await api.post("/v1/agent/state", json={"state": "ready"}, headers=desk)).status_code == 200
    return clock, headers["agent"], other_headers, other


async def _case_with_number(app):
    async with app.state.container.sessions() as s:
        case = await queued_case(s, client=await make_client(s), owed="50000.00")
        await s.commit()
    return case.id


async def _counts(app) -> tuple[int, int, int]:
    async with app.state.container.sessions() as s:
        return tuple([(await s.execute(select(func.count()).select_from(model))).scalar_one()
                      for model in (Call, Attempt, Decision)])


async def _case(app, case_id: int) -> Case:
    async with app.state.container.sessions() as s:
        return await s.get(Case, case_id)


async def test_given_the_held_case_then_the_dial_holds_it_through_a_long_call_and_the_note_for_the_usual_while(
        app, api, floor, users):
    clock, desk, other, _ = floor
    case_id = await _case_with_number(app)
    card = (await api.get("/v1/agent/next", headers=desk)).json()
    assert card["case"]["id"] == case_id
    number_id = card["parties"][0]["numbers"][0]["id"]

    dialed = await api.post("/v1/calls", json={"number_id": number_id}, headers=desk)

    assert dialed.status_code == 201, dialed.text
    case = await _case(app, case_id)
    assert (case.held_by_agent_id, case.held_until) == (users["agent"].id, NOW + CALL_HOLD)
    clock["now"] = NOW + HOLD + dt.timedelta(minutes=25)  # a long call: the hand-out's hold would have run out
    assert (await api.get("/v1/agent/next", headers=other)).json() is None  # not handed to anyone mid-call

    async with app.state.container.sessions() as s:  # the call ends; the agent is in wrap-up
        await s.execute(update(Call).where(Call.id == dialed.json()["id"])
                        .values(state=CallState.NO_ANSWER, ended_at=clock["now"]))
        await s.execute(update(AgentSession).where(AgentSession.agent_id == users["agent"].id)
                        .values(state=AgentState.WRAP_UP))
        await s.commit()
    saved = await api.post(f"/v1/calls/{dialed.json()['id']}/wrap-up", json=NOTE, headers=desk)

    assert saved.status_code == 201, saved.text
    case = await _case(app, case_id)
    assert (case.held_by_agent_id, case.held_until) == (users["agent"].id, clock["now"] + HOLD)


async def test_given_a_case_another_agent_holds_then_409_case_not_held_and_nothing_written(app, api, floor):
    _, desk, other, other_user = floor
    case_id = await _case_with_number(app)
    card = (await api.get("/v1/agent/next", headers=other)).json()
    assert card["case"]["id"] == case_id
    number_id = card["parties"][0]["numbers"][0]["id"]
    before = await _counts(app)

    answer = await api.post("/v1/calls", json={"number_id": number_id}, headers=desk)

    assert answer.status_code == 409, answer.text
    body = answer.json()
    assert body["error"] == "case_not_held" and body["case_id"] == case_id and body["number_id"] == number_id
    assert "GET /v1/agent/next" in body["detail"]
    assert await _counts(app) == before  # no call, no attempt, no ledger entry
    case = await _case(app, case_id)
    assert (case.held_by_agent_id, case.held_until) == (other_user.id, NOW + HOLD)  # their hold untouched
    me = (await api.get("/v1/agent/session", headers=desk)).json()
    assert me["state"] == "ready"


async def test_given_a_case_nobody_handed_out_then_409_case_not_held(app, api, floor):
    _, desk, _, _ = floor
    case_id = await _case_with_number(app)
    async with app.state.container.sessions() as s:
        number_id = (await s.execute(select(PhoneNumber.id).join(Party).where(Party.case_id == case_id))).scalar_one()

    answer = await api.post("/v1/calls", json={"number_id": number_id}, headers=desk)

    assert answer.status_code == 409 and answer.json()["error"] == "case_not_held"


async def test_given_a_progressive_agent_then_dialing_by_hand_is_409_wrong_mode(app, api, floor, users):
    _, desk, _, _ = floor
    case_id = await _case_with_number(app)
    card = (await api.get("/v1/agent/next", headers=desk)).json()
    async with app.state.container.sessions() as s:  # switched to progressive while holding it (bypassing the API)
        await s.execute(update(AgentSession).where(AgentSession.agent_id == users["agent"].id)
                        .values(mode="progressive"))
        await s.commit()
    before = await _counts(app)

    answer = await api.post("/v1/calls", json={"number_id": card["parties"][0]["numbers"][0]["id"]}, headers=desk)

    assert answer.status_code == 409 and answer.json()["error"] == "wrong_mode", answer.text
    assert await _counts(app) == before
    assert (await _case(app, case_id)).held_until == NOW + HOLD


async def test_given_the_policy_refuses_the_held_cases_number_then_409_policy_blocked_kept_in_the_ledger(
        app, api, floor, users):
    _, desk, _, _ = floor
    case_id = await _case_with_number(app)
    card = (await api.get("/v1/agent/next", headers=desk)).json()
    number_id = card["parties"][0]["numbers"][0]["id"]
    async with app.state.container.sessions() as s:  # the debtor asks not to be called after the card was shown
        party_id = (await s.execute(select(Party.id).where(Party.case_id == case_id))).scalar_one()
        s.add(StopContact(client_id=card["case"]["client_id"], case_id=case_id, party_id=party_id,
                          source=StopSource.PARTY_REQUEST, reason="asked on another channel"))
        await s.commit()
    calls, attempts, entries = await _counts(app)

    answer = await api.post("/v1/calls", json={"number_id": number_id}, headers=desk)

    assert answer.status_code == 409, answer.text
    body = answer.json()
    assert body["error"] == "policy_blocked" and [v["rule"] for v in body["violations"]] == ["stop_contact"]
    assert await _counts(app) == (calls, attempts, entries + 1)  # the refusal is kept; no call, no attempt
    async with app.state.container.sessions() as s:
        entry = await s.get(Decision, body["decision_id"])
    assert entry.allowed is False and entry.number_id == number_id and entry.agent_id == users["agent"].id
    assert (await _case(app, case_id)).held_until == NOW + HOLD  # still the card's hold, not a call's
    assert (await api.get("/v1/agent/session", headers=desk)).json()["state"] == "reserved"


async def test_given_a_note_saved_for_a_call_the_agent_is_not_wrapping_up_then_the_cases_hold_is_left_alone(
        app, api, floor, users):
    _, desk, _, _ = floor
    case_id = await _case_with_number(app)
    card = (await api.get("/v1/agent/next", headers=desk)).json()
    dialed = await api.post("/v1/calls", json={"number_id": card["parties"][0]["numbers"][0]["id"]}, headers=desk)
    call_id = dialed.json()["id"]
    async with app.state.container.sessions() as s:  # the call ended; the agent is already on another one
        await s.execute(update(Call).where(Call.id == call_id)
                        .values(state=CallState.NO_ANSWER, ended_at=NOW, carrier_call_id="CA-late-1"))
        await s.execute(update(AgentSession).where(AgentSession.agent_id == users["agent"].id)
                        .values(state=AgentState.ON_CALL, current_call_id=None))
        await s.commit()

    saved = await api.post(f"/v1/calls/{call_id}/wrap-up", json=NOTE, headers=desk)

    assert saved.status_code == 201, saved.text
    assert (await _case(app, case_id)).held_until == NOW + CALL_HOLD  # not cut to 15 minutes mid-call
