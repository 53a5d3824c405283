"""Agents' sessions at seats, states and mode through the API, with their audit trail."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import select, update

from dialer.agents.models import AgentSession, AgentState
from dialer.audit.models import AuditEntry
from dialer.calls.models import Call, CallState, Direction
from dialer.cases.holds import WORKED_REST
from dialer.cases.models import Case
from dialer.notes.models import Disposition, WrapUpNote
from dialer.seats.models import Seat
from tests.worklist.helpers import NOW
from tests.factories import make_case, make_seat, make_user


async def _seats(app, n=1, **kw) -> list[Seat]:
    async with app.state.container.sessions() as s:
        seats = [await make_seat(s, **kw) for _ in range(n)]
        await s.commit()
    return seats


async def _login(api, headers, seat, role="agent"):
    return await api.post("/v1/agent/session", json={"seat_code": seat.code}, headers=headers[role])


async def _put_agent_in(app, agent_id, state, **values):
    async with app.state.container.sessions() as s:
        await s.execute(update(AgentSession).where(AgentSession.agent_id == agent_id, AgentSession.ended_at.is_(None))
                        .values(state=state, **values))
        await s.commit()


async def _audit(app, action):
    async with app.state.container.sessions() as s:
        return (await s.execute(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id))).scalars().all()


async def test_given_a_seat_when_logging_in_then_not_ready_at_it_and_audited(app, api, headers, users):
    [seat] = await _seats(app)

    response = await _login(api, headers, seat)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["seat"]["code"] == seat.code and body["state"] == "not_ready" and body["mode"] == "preview"
    mine = await api.get("/v1/agent/session", headers=headers["agent"])
    assert mine.status_code == 200 and mine.json()["id"] == body["id"] and mine.json()["current_call_id"] is None
    [login] = await _audit(app, "agent.login")
    assert login.actor_id == users["agent"].id and login.detail["seat_code"] == seat.code
    [state] = await _audit(app, "agent.state")
    assert (state.detail["from"], state.detail["to"]) == ("offline", "not_ready")
    assert login.id < state.id, "the login is recorded before the move it made"


async def test_given_a_taken_seat_or_a_second_seat_then_409_with_stable_codes(app, api, headers):
    first, second = await _seats(app, 2)
    assert (await _login(api, headers, first)).status_code == 200

    taken = await _login(api, headers, first, role="supervisor")
    assert taken.status_code == 409 and taken.json()["error"] == "seat_taken"
    elsewhere = await _login(api, headers, second)
    assert elsewhere.status_code == 409 and elsewhere.json()["error"] == "already_logged_in"
    again = await _login(api, headers, first)  # the same seat again: the open session
    assert again.status_code == 200


async def test_given_an_unknown_or_retired_seat_then_refused(app, api, headers):
    [seat] = await _seats(app)
    async with app.state.container.sessions() as s:
        await s.execute(update(Seat).where(Seat.id == seat.id).values(active=False))
        await s.commit()

    assert (await api.post("/v1/agent/session", json={"seat_id": 99999}, headers=headers["agent"])).status_code == 404
    retired = await api.post("/v1/agent/session", json={"seat_id": seat.id}, headers=headers["agent"])
    assert retired.status_code == 409 and retired.json()["error"] == "seat_inactive"
    both = await api.post("/v1/agent/session", json={"seat_id": seat.id, "seat_code": "x"}, headers=headers["agent"])
    assert both.status_code == 422


async def test_given_not_ready_without_reason_then_422_and_with_one_then_stamped_and_audited(app, api, headers):
    [seat] = await _seats(app)
    await _login(api, headers, seat)
    assert (await api.post("/v1/agent/state", json={"state": "ready"}, headers=headers["agent"])).status_code == 200

    missing = await api.post("/v1/agent/state", json={"state": "not_ready"}, headers=headers["agent"])
    assert missing.status_code == 422 and missing.json()["error"] == "not_ready_reason_required"
    unknown = await api.post("/v1/agent/state", json={"state": "not_ready", "reason": "nap"}, headers=headers["agent"])
    assert unknown.status_code == 422 and unknown.json()["error"] == "validation_error"
    lunch = await api.post("/v1/agent/state", json={"state": "not_ready", "reason": "lunch"}, headers=headers["agent"])
    assert lunch.status_code == 200
    assert lunch.json()["state"] == "not_ready" and lunch.json()["state_reason"] == "lunch"
    meeting = await api.post("/v1/agent/state", json={"state": "not_ready", "reason": "meeting"}, headers=headers["agent"])
    assert meeting.json()["state_reason"] == "meeting"

    moves = [(e.detail["from"], e.detail["to"], e.detail["reason"]) for e in await _audit(app, "agent.state")]
    assert moves == [("offline", "not_ready", None), ("not_ready", "ready", None), ("ready", "not_ready", "lunch"),
                     ("not_ready", "not_ready", "meeting")]


async def test_given_an_agent_on_a_call_then_ready_and_logout_are_illegal_409(app, api, headers, users):
    [seat] = await _seats(app)
    await _login(api, headers, seat)
    await _put_agent_in(app, users["agent"].id, AgentState.ON_CALL)

    ready = await api.post("/v1/agent/state", json={"state": "ready"}, headers=headers["agent"])
    assert ready.status_code == 409 and ready.json()["error"] == "illegal_agent_transition"
    assert ready.json()["current"] == "on_call"
    out = await api.delete("/v1/agent/session", headers=headers["agent"])
    assert out.status_code == 409 and out.json()["error"] == "illegal_agent_transition"
    mode = await api.post("/v1/agent/mode", json={"mode": "progressive"}, headers=headers["agent"])
    assert mode.status_code == 409 and mode.json()["error"] == "agent_busy"


async def test_given_wrap_up_without_note_then_ready_and_logout_refused_until_it_is_saved(app, api, headers, users):
    [seat] = await _seats(app)
    await _login(api, headers, seat)
    agent_id = users["agent"].id
    async with app.state.container.sessions() as s:
        call = Call(direction=Direction.OUTBOUND, carrier="twilio", carrier_call_id="CA-sessions-1",
                    state=CallState.COMPLETED, agent_id=agent_id,
                    seat_id=seat.id, requested_at=NOW)
        s.add(call)
        await s.commit()
    await _put_agent_in(app, agent_id, AgentState.WRAP_UP, current_call_id=call.id)

    ready = await api.post("/v1/agent/state", json={"state": "ready"}, headers=headers["agent"])
    assert ready.status_code == 409 and ready.json()["error"] == "wrap_up_pending" and ready.json()["call_id"] == call.id
    out = await api.delete("/v1/agent/session", headers=headers["agent"])
    assert out.status_code == 409 and out.json()["error"] == "wrap_up_pending"

    async with app.state.container.sessions() as s:
        case = await make_case(s)
        s.add(WrapUpNote(call_id=call.id, case_id=case.id, agent_id=agent_id, disposition=Disposition.NO_CONTACT))
        await s.commit()
    ready = await api.post("/v1/agent/state", json={"state": "ready"}, headers=headers["agent"])
    assert ready.status_code == 200 and ready.json()["state"] == "ready" and ready.json()["current_call_id"] is None


async def test_given_logout_then_offline_the_seat_is_free_and_the_session_gone(app, api, headers):
    [seat] = await _seats(app)
    await _login(api, headers, seat)

    out = await api.delete("/v1/agent/session", headers=headers["agent"])

    assert out.status_code == 200 and out.json()["state"] == "offline"
    gone = await api.get("/v1/agent/session", headers=headers["agent"])
    assert gone.status_code == 404 and gone.json()["error"] == "not_logged_in"
    assert (await _login(api, headers, seat, role="supervisor")).status_code == 200
    refused = await api.post("/v1/agent/state", json={"state": "ready"}, headers=headers["agent"])
    assert refused.status_code == 404 and refused.json()["error"] == "not_logged_in"
    assert [e.detail["to"] for e in await _audit(app, "agent.state")][:2] == ["not_ready", "offline"]


async def test_given_mode_change_then_recorded_and_audited(app, api, headers):
    [seat] = await _seats(app)
    await _login(api, headers, seat)

    response = await api.post("/v1/agent/mode", json={"mode": "progressive"}, headers=headers["agent"])

    assert response.status_code == 200 and response.json()["mode"] == "progressive"
    [entry] = await _audit(app, "agent.mode")
    assert (entry.detail["from"], entry.detail["to"]) == ("preview", "progressive")
    bad = await api.post("/v1/agent/mode", json={"mode": "predictive"}, headers=headers["agent"])
    assert bad.status_code == 422


async def test_given_the_board_then_supervisors_see_open_sessions_and_agents_may_not(app, api, headers, users):
    seats = await _seats(app, 2, team="team-b")
    await _login(api, headers, seats[0])
    await _login(api, headers, seats[1], role="supervisor")
    await api.post("/v1/agent/state", json={"state": "ready"}, headers=headers["agent"])

    board = await api.get("/v1/agents", headers=headers["supervisor"])

    assert board.status_code == 200
    rows = {row["username"]: row for row in board.json()["items"]}
    assert rows["agent-1"]["state"] == "ready" and rows["agent-1"]["seat"]["code"] == seats[0].code
    assert rows["supervisor-1"]["state"] == "not_ready"
    only_ready = await api.get("/v1/agents", params={"state": "ready"}, headers=headers["admin"])
    assert [r["username"] for r in only_ready.json()["items"]] == ["agent-1"]
    assert (await api.get("/v1/agents", headers=headers["agent"])).status_code == 403


async def test_given_a_stuck_agent_then_a_supervisor_forces_the_logout_audited(app, api, headers, users):
    [seat] = await _seats(app)
    await _login(api, headers, seat)
    await _put_agent_in(app, users["agent"].id, AgentState.DIALING)
    agent_id = users["agent"].id

    forbidden = await api.post(f"/v1/agents/{agent_id}/logout", headers=headers["agent"])
    assert forbidden.status_code == 403
    forced = await api.post(f"/v1/agents/{agent_id}/logout", json={"reason": "browser crashed"},
                            headers=headers["supervisor"])

    assert forced.status_code == 200 and forced.json()["state"] == "offline"
    [entry] = await _audit(app, "agent.force_logout")
    assert entry.actor_id == users["supervisor"].id and entry.detail["from"] == "dialing"
    assert entry.detail["reason"] == "browser crashed"
    again = await api.post(f"/v1/agents/{agent_id}/logout", headers=headers["supervisor"])
    assert again.status_code == 404 and again.json()["error"] == "not_logged_in"


@pytest.mark.parametrize("on_a_call", [True, False])
async def test_given_a_forced_logout_then_the_held_case_rests_only_when_the_agent_had_a_call_on_it(
        app, api, headers, users, on_a_call):
    app.state.container.clock = lambda: NOW
    [seat] = await _seats(app)
    await _login(api, headers, seat)
    agent_id = users["agent"].id
    async with app.state.container.sessions() as s:
        case = await make_case(s)
        case.held_by_agent_id, case.held_until = agent_id, NOW + dt.timedelta(hours=4)
        call = Call(direction=Direction.OUTBOUND, carrier="twilio", carrier_call_id="CA-sessions-2",
                    state=CallState.BRIDGED, case_id=case.id,
                    agent_id=agent_id, requested_at=NOW)
        s.add(call)
        await s.commit()
    await _put_agent_in(app, agent_id, AgentState.ON_CALL if on_a_call else AgentState.RESERVED,
                        current_call_id=call.id if on_a_call else None)

    forced = await api.post(f"/v1/agents/{agent_id}/logout", json={"reason": "stuck"}, headers=headers["supervisor"])

    assert forced.status_code == 200, forced.text
    async with app.state.container.sessions() as s:
        released = await s.get(Case, case.id)
    assert released.held_by_agent_id is None
    assert released.held_until == (NOW + WORKED_REST if on_a_call else None)  # not handed out again mid-call


async def test_given_an_integration_or_admin_then_no_agent_session(app, api, headers):
    [seat] = await _seats(app)
    assert (await _login(api, headers, seat, role="admin")).status_code == 403
    assert (await _login(api, headers, seat, role="integration")).status_code == 403


async def test_given_two_agents_racing_for_one_seat_then_exactly_one_wins(app, api, headers):
    [seat] = await _seats(app)
    async with app.state.container.sessions() as s:
        other = await make_user(s, username="agent-2")
        await s.commit()
    container = app.state.container
    token, _ = container.tokens.issue(user_id=other.id, role=other.role, now=container.clock())
    headers = {**headers, "agent-2": {"Authorization": f"Bearer {token}"}}

    results = await asyncio.gather(_login(api, headers, seat), _login(api, headers, seat, role="agent-2"))

    assert sorted(r.status_code for r in results) == [200, 409]
    assert [r.json()["error"] for r in results if r.status_code == 409] == ["seat_taken"]
