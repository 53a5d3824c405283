"""Saving a wrap-up note: who may, for which call, once; it ends the agent's wrap-up; history."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from dialer.agents.models import AgentSession, AgentState
from dialer.agents.wrap_up import pending_wrap_up
from dialer.audit.models import AuditEntry
from dialer.calls.models import CallOutcome, CallState, Recording, RecordingStatus
from dialer.cases.models import Case
from dialer.notes.models import Disposition, WrapUpNote
from tests.notes.conftest import NOW, SH, add_call, other_agent_headers

NOTE = {
    "disposition": "refused", "contact_status": "debtor_reached", "contact_name": "张三",
    "arrears_reason": "失业", "result": "拒绝还款", "assessment": "有还款能力但无意愿",
    "recovery_likelihood": "low", "next_action": "三日后再联系", "special_notes": "情绪激动",
}


def url(call_id: int) -> str:
    return f"/v1/calls/{call_id}/wrap-up"


async def count(db, model) -> int:
    return (await db.execute(select(func.count()).select_from(model))).scalar_one()


async def test_given_agent_in_wrap_up_when_note_saved_then_ready_and_audited(api, headers, world, db):
    response = await api.post(url(world.call_id), json=NOTE, headers=headers["agent"])
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["agent_state"] == "ready"
    assert body["call"]["id"] == world.call_id and body["contact_number"] == "+8613800138000"
    assert body["arrears_reason"] == "失业" and body["recovery_likelihood"] == "low"
    agent_session = await db.get(AgentSession, world.session_id)
    assert agent_session.state is AgentState.READY and agent_session.current_call_id is None
    assert agent_session.state_since == NOW
    moved = (await db.execute(select(AuditEntry).where(AuditEntry.action == "agent.state"))).scalar_one()
    assert moved.detail["from"] == "wrap_up" and moved.detail["to"] == "ready"
    assert moved.detail["call_id"] == world.call_id and moved.actor_id == world.agent_id
    case = await db.get(Case, world.case_id)
    assert case.last_contact_at == NOW - dt.timedelta(minutes=5) + dt.timedelta(seconds=20)


async def test_given_not_ready_asked_then_not_ready_with_reason(api, headers, world, db):
    body = {**NOTE, "next_state": "not_ready", "not_ready_reason": "break"}
    response = await api.post(url(world.call_id), json=body, headers=headers["agent"])
    assert response.status_code == 201, response.text
    agent_session = await db.get(AgentSession, world.session_id)
    assert agent_session.state is AgentState.NOT_READY and agent_session.state_reason == "break"


async def test_given_not_ready_without_reason_then_422_names_field(api, headers, world, db):
    response = await api.post(url(world.call_id), json={**NOTE, "next_state": "not_ready"}, headers=headers["agent"])
    assert response.status_code == 422
    assert [f["field"] for f in response.json()["fields"]] == ["not_ready_reason"]
    assert await count(db, WrapUpNote) == 0


async def test_given_a_not_ready_reason_off_the_list_then_422_names_field_as_the_state_endpoint_does(
        api, headers, world, db):
    body = {**NOTE, "next_state": "not_ready", "not_ready_reason": "gone fishing"}
    response = await api.post(url(world.call_id), json=body, headers=headers["agent"])
    assert response.status_code == 422
    assert [f["field"] for f in response.json()["fields"]] == ["not_ready_reason"]
    assert await count(db, WrapUpNote) == 0
    shift = await api.post(url(world.call_id), json={**body, "not_ready_reason": "end_of_shift"}, headers=headers["agent"])
    assert shift.status_code == 201, shift.text
    await db.rollback()  # end the read above: its snapshot predates the note
    agent_session = await db.get(AgentSession, world.session_id, populate_existing=True)
    assert (agent_session.state, agent_session.state_reason) == (AgentState.NOT_READY, "end_of_shift")


async def test_given_live_call_then_409_and_nothing_written(api, headers, world, db):
    live = await add_call(db, world=world, state=CallState.BRIDGED, outcome=None)
    await db.commit()
    response = await api.post(url(live.id), json=NOTE, headers=headers["agent"])
    assert response.status_code == 409
    assert response.json()["error"] == "call_not_ended"
    assert await count(db, WrapUpNote) == 0


async def test_given_second_note_then_409_with_stable_code(api, headers, world, db):
    assert (await api.post(url(world.call_id), json=NOTE, headers=headers["agent"])).status_code == 201
    again = await api.post(url(world.call_id), json={**NOTE, "result": "改口"}, headers=headers["supervisor"])
    assert again.status_code == 409
    assert again.json()["error"] == "wrap_up_exists" and again.json()["note_id"] > 0
    assert await count(db, WrapUpNote) == 1


async def test_given_another_agents_call_then_403_or_404(api, app, headers, world, db):
    _, teammate = await other_agent_headers(app, team="team-a")  # sees the case, but it is not their call
    response = await api.post(url(world.call_id), json=NOTE, headers=teammate)
    assert response.status_code == 403 and response.json()["error"] == "not_your_call"
    _, stranger = await other_agent_headers(app, team="team-z")  # cannot even see the case
    response = await api.post(url(world.call_id), json=NOTE, headers=stranger)
    assert response.status_code == 404
    assert await count(db, WrapUpNote) == 0
    agent_session = await db.get(AgentSession, world.session_id)
    assert agent_session.state is AgentState.WRAP_UP


async def test_given_supervisor_then_may_save_for_the_agent(api, headers, world, db):
    response = await api.post(url(world.call_id), json=NOTE, headers=headers["supervisor"])
    assert response.status_code == 201, response.text
    assert response.json()["agent_id"] == world.agent_id and response.json()["agent_state"] == "ready"


async def test_given_integration_then_may_not_save(api, headers, world):
    response = await api.post(url(world.call_id), json=NOTE, headers=headers["integration"])
    assert response.status_code == 403


async def test_given_missing_call_then_404(api, headers, world):
    assert (await api.post(url(999_999), json=NOTE, headers=headers["agent"])).status_code == 404


async def test_given_missing_required_fields_then_422_names_each(api, headers, world, db):
    response = await api.post(url(world.call_id), json={"disposition": "promise_to_pay", "contact_status": "debtor_reached"},
                              headers=headers["agent"])
    assert response.status_code == 422
    fields = {f["field"]: f["message"] for f in response.json()["fields"]}
    assert set(fields) == {"contact_name", "promise"}
    assert "promise_to_pay" in fields["promise"]


async def test_given_promise_with_another_disposition_then_422_names_promise(api, headers, world):
    body = {**NOTE, "promise": {"amount": "100", "due_date": "2026-11-30"}}
    response = await api.post(url(world.call_id), json=body, headers=headers["agent"])
    assert response.status_code == 422
    assert [f["field"] for f in response.json()["fields"]] == ["promise"]


async def test_given_unknown_field_or_bad_number_then_422(api, headers, world):
    response = await api.post(url(world.call_id), json={**NOTE, "mood": "bad"}, headers=headers["agent"])
    assert response.status_code == 422
    response = await api.post(url(world.call_id), json={**NOTE, "contact_number": "12345"}, headers=headers["agent"])
    assert response.status_code == 422 and response.json()["field"] == "contact_number"


async def test_given_follow_up_date_then_case_due_at_the_windows_opening(api, headers, world, db):
    response = await api.post(url(world.call_id), json={**NOTE, "next_follow_up_date": "2026-11-27"},
                              headers=headers["agent"])
    assert response.status_code == 201, response.text
    case = await db.get(Case, world.case_id)
    assert case.next_follow_up_at == dt.datetime(2026, 11, 27, 8, 0, tzinfo=SH)


async def test_given_past_follow_up_date_then_422(api, headers, world):
    response = await api.post(url(world.call_id), json={**NOTE, "next_follow_up_date": "2026-11-23"},
                              headers=headers["agent"])
    assert response.status_code == 422 and response.json()["field"] == "next_follow_up_date"


async def test_given_lease_case_and_debtor_reached_then_equipment_status_required(api, headers, world, db):
    case = await db.get(Case, world.case_id)
    case.product = "融资租赁"
    await db.commit()
    response = await api.post(url(world.call_id), json=NOTE, headers=headers["agent"])
    assert response.status_code == 422 and response.json()["field"] == "equipment_status"
    response = await api.post(url(world.call_id), json={**NOTE, "equipment_status": "设备在用，经营正常"},
                              headers=headers["agent"])
    assert response.status_code == 201, response.text


async def test_given_agent_wrapping_up_then_pending_until_the_note(api, headers, world, session):
    assert await pending_wrap_up(session, agent_id=world.agent_id) == world.call_id
    await session.rollback()
    assert (await api.post(url(world.call_id), json=NOTE, headers=headers["agent"])).status_code == 201
    assert await pending_wrap_up(session, agent_id=world.agent_id) is None


async def test_given_unnoted_last_call_without_session_then_pending(world, session, users):
    agent = users["agent"]
    assert await pending_wrap_up(session, agent_id=agent.id) == world.call_id
    assert await pending_wrap_up(session, agent_id=users["supervisor"].id) is None


async def test_given_notes_then_history_newest_first_with_call_and_recording(api, headers, world, db):
    db.add(Recording(call_id=world.call_id, carrier="twilio", carrier_recording_id="RE1", status=RecordingStatus.STORED,
                     sha256="a" * 64, duration_s=160, channels=2, stored_at=NOW))
    later = await add_call(db, world=world, outcome=CallOutcome.NO_ANSWER, state=CallState.NO_ANSWER, minutes_ago=1)
    await db.commit()
    first = await api.post(url(world.call_id), json=NOTE, headers=headers["agent"])
    assert first.status_code == 201 and first.json()["recording"]["sha256"] == "a" * 64
    second = await api.post(url(later.id), json={"disposition": "no_contact", "contact_status": "no_answer"},
                            headers=headers["agent"])
    assert second.status_code == 201, second.text
    assert second.json()["agent_state"] is None  # the session was not wrapping up this call

    history = await api.get(f"/v1/cases/{world.case_id}/notes", headers=headers["agent"])
    assert history.status_code == 200, history.text
    items = history.json()["items"]
    assert [n["call_id"] for n in items] == [later.id, world.call_id]
    assert items[0]["recording"] is None and items[0]["call"]["outcome"] == "no_answer"
    assert items[1]["recording"]["status"] == "stored" and items[1]["recording"]["duration_s"] == 160
    assert items[1]["disposition"] == "refused" and items[1]["result"] == "拒绝还款"

    page = await api.get(f"/v1/cases/{world.case_id}/notes?limit=1", headers=headers["supervisor"])
    assert [n["call_id"] for n in page.json()["items"]] == [later.id]
    older = await api.get(f"/v1/cases/{world.case_id}/notes?limit=1&before={page.json()['next_before']}",
                          headers=headers["integration"])
    assert [n["call_id"] for n in older.json()["items"]] == [world.call_id]

    one = await api.get(url(world.call_id), headers=headers["agent"])
    assert one.status_code == 200 and one.json()["id"] == items[1]["id"]
    assert one.json()["recording"]["id"] > 0


async def test_given_case_not_visible_then_history_404(api, app, headers, world):
    _, stranger = await other_agent_headers(app, team="team-z")
    assert (await api.get(f"/v1/cases/{world.case_id}/notes", headers=stranger)).status_code == 404
    assert (await api.get(url(world.call_id), headers=stranger)).status_code == 404


async def test_given_call_without_note_then_get_404_with_code(api, headers, world):
    response = await api.get(url(world.call_id), headers=headers["agent"])
    assert response.status_code == 404 and response.json()["error"] == "wrap_up_not_found"


async def test_every_disposition_has_a_handler():  # each handler's effect is tested in test_dispositions.py
    from dialer.notes.dispositions import DISPOSITIONS

    assert set(DISPOSITIONS) == set(Disposition)


async def test_given_note_before_the_agent_reached_wrap_up_then_through_wrap_up_to_ready(api, headers, world, db):
    agent_session = await db.get(AgentSession, world.session_id)
    agent_session.state = AgentState.ON_CALL  # the call ended; the move to wrap-up has not happened yet
    await db.commit()
    response = await api.post(url(world.call_id), json=NOTE, headers=headers["agent"])
    assert response.status_code == 201 and response.json()["agent_state"] == "ready"
    moves = (await db.execute(select(AuditEntry).where(AuditEntry.action == "agent.state").order_by(AuditEntry.id))).scalars()
    assert [(m.detail["from"], m.detail["to"]) for m in moves] == [("on_call", "wrap_up"), ("wrap_up", "ready")]
    await db.refresh(agent_session)
    assert agent_session.state is AgentState.READY and agent_session.current_call_id is None


async def test_given_a_note_saved_then_its_disposition_told_to_integrations_without_free_text(api, headers, world, db):
    from dialer.outbox.models import WebhookEvent

    response = await api.post(url(world.call_id), json=NOTE, headers=headers["agent"])
    assert response.status_code == 201, response.text

    [event] = (await db.execute(select(WebhookEvent).where(WebhookEvent.type == "call.wrapped_up"))).scalars().all()
    assert event.call_id == world.call_id and event.payload["disposition"] == "refused"
    assert event.payload["agent"]["id"] == world.agent_id
    assert "失业" not in str(event.payload) and "情绪激动" not in str(event.payload), "the note's text stays with us"
