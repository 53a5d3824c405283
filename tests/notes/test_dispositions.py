"""What each disposition does, through the API, on both databases."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import func, select

from dialer.agents.models import AgentSession, AgentState
from dialer.calls.models import CallOutcome, CallState
from dialer.cases.models import Case, PhoneNumber
from dialer.clients.models import Client, PolicyVersion
from dialer.compliance.models import Attempt, ClientReportItem, Consent, ConsentKind, StopContact, StopSource
from dialer.notes.models import Payment, PromiseStatus, PromiseToPay, WrapUpNote
from dialer.policy.presets import build_policy
from dialer.tasks.models import Task, TaskKind
from tests.notes.conftest import NOW, SH, add_call

DEBTOR = {"contact_status": "debtor_reached", "contact_name": "张三"}
FRIEND = {"contact_status": "third_party_reached", "contact_name": "李四"}


def url(call_id: int) -> str:
    return f"/v1/calls/{call_id}/wrap-up"


async def count(db, model, *where) -> int:
    return (await db.execute(select(func.count()).select_from(model).where(*where))).scalar_one()


async def check(api, headers, party_id: int, at: str) -> dict:
    response = await api.post("/v1/compliance/check", json={"party_id": party_id, "at": at}, headers=headers["agent"])
    assert response.status_code == 200, response.text
    return response.json()


# --- promise to pay ---------------------------------------------------------------------------


async def test_given_full_promise_then_promise_linked_to_note_call_and_party(api, headers, world, db):
    body = {**DEBTOR, "disposition": "promise_to_pay", "promise": {"amount": "15800.00", "due_date": "2026-11-30"}}
    response = await api.post(url(world.call_id), json=body, headers=headers["agent"])
    assert response.status_code == 201, response.text
    out = response.json()
    promise = (await db.execute(select(PromiseToPay))).scalar_one()
    assert (promise.note_id, promise.call_id, promise.party_id) == (out["id"], world.call_id, world.debtor_id)
    assert promise.amount == Decimal("15800.00") and promise.reduction == Decimal("0.00")
    assert promise.due_date == dt.date(2026, 11, 30) and promise.status is PromiseStatus.PENDING
    assert promise.created_by_id == world.agent_id and promise.authorisation_ref is None
    assert out["promise"]["id"] == promise.id and out["promise"]["amount"] == "15800.00"


async def test_given_instalment_promise_then_no_reduction(api, headers, world, db):
    body = {**DEBTOR, "disposition": "promise_to_pay",
            "promise": {"amount": "2000", "owed_amount": "2000", "due_date": "2026-11-24"}}
    response = await api.post(url(world.call_id), json=body, headers=headers["agent"])
    assert response.status_code == 201, response.text
    assert (await db.execute(select(PromiseToPay.reduction))).scalar_one() == Decimal("0.00")


async def test_given_reduction_without_authorisation_then_422_names_field_and_nothing_written(api, headers, world, db):
    body = {**DEBTOR, "disposition": "promise_to_pay", "next_follow_up_date": "2026-11-26",
            "promise": {"amount": "12000", "due_date": "2026-11-30"}}
    response = await api.post(url(world.call_id), json=body, headers=headers["agent"])
    assert response.status_code == 422
    error = response.json()
    assert error["error"] == "unauthorised_waiver" and error["field"] == "promise.authorisation_ref"
    assert error["rule"] == "no_unauthorised_waiver" and error["reduction"] == "3800.00"
    assert "authorisation" in error["detail"] and "减免" in error["message_zh"]
    assert await count(db, WrapUpNote) == 0 and await count(db, PromiseToPay) == 0
    case = await db.get(Case, world.case_id)
    assert case.next_follow_up_at is None and case.last_contact_at is None
    assert (await db.get(AgentSession, world.session_id)).state is AgentState.WRAP_UP


async def test_given_reduction_below_instalment_then_also_needs_authorisation(api, headers, world, db):
    body = {**DEBTOR, "disposition": "promise_to_pay",
            "promise": {"amount": "1500", "owed_amount": "2000", "due_date": "2026-11-30"}}
    response = await api.post(url(world.call_id), json=body, headers=headers["agent"])
    assert response.status_code == 422 and response.json()["reduction"] == "500.00"


async def test_given_reduction_with_authorisation_then_recorded(api, headers, world, db):
    body = {**DEBTOR, "disposition": "promise_to_pay",
            "promise": {"amount": "12000", "due_date": "2026-11-30", "authorisation_ref": "CMB-WAIVE-2026-118"}}
    response = await api.post(url(world.call_id), json=body, headers=headers["agent"])
    assert response.status_code == 201, response.text
    promise = (await db.execute(select(PromiseToPay))).scalar_one()
    assert promise.reduction == Decimal("3800.00") and promise.authorisation_ref == "CMB-WAIVE-2026-118"


async def test_given_bad_promise_then_422_names_the_field(api, headers, world, db):
    cases = [
        ({"amount": "20000", "due_date": "2026-11-30"}, "promise.amount", "承诺金额 20000 超过案件欠款总额"),
        ({"amount": "100", "owed_amount": "20000", "due_date": "2026-11-30"}, "promise.owed_amount", "应还金额 20000"),
        ({"amount": "15800", "due_date": "2026-11-23"}, "promise.due_date", "承诺还款日期 2026-11-23 早于今天"),
    ]
    for promise, field, chinese in cases:
        body = {**DEBTOR, "disposition": "promise_to_pay", "promise": promise}
        response = await api.post(url(world.call_id), json=body, headers=headers["agent"])
        assert response.status_code == 422 and response.json()["field"] == field, response.text
        assert response.json()["message_zh"].startswith(chinese)  # what the Chinese desktop shows by the field
    response = await api.post(url(world.call_id), json={**DEBTOR, "disposition": "promise_to_pay",
                              "promise": {"amount": "-5", "due_date": "2026-11-30"}}, headers=headers["agent"])
    assert response.status_code == 422
    [problem] = response.json()["fields"]
    assert (problem["field"], problem["type"]) == ("promise.amount", "greater_than")  # the desktop words it by type
    assert await count(db, PromiseToPay) == 0


async def test_given_unanswered_call_then_promise_refused_naming_disposition(api, headers, world, db):
    missed = await add_call(db, world=world, state=CallState.NO_ANSWER, outcome=CallOutcome.NO_ANSWER)
    await db.commit()
    body = {**DEBTOR, "disposition": "promise_to_pay", "promise": {"amount": "15800", "due_date": "2026-11-30"}}
    response = await api.post(url(missed.id), json=body, headers=headers["agent"])
    assert response.status_code == 422 and response.json()["field"] == "disposition"
    assert "no_answer" in response.json()["detail"]


# --- paid, refused, no contact ----------------------------------------------------------------


async def test_given_paid_claim_then_verification_follow_up_and_no_payment(api, headers, world, db):
    body = {**DEBTOR, "disposition": "paid",
            "payment": {"amount": "15800", "paid_on": "2026-11-23", "channel": "bank transfer", "reference": "TX889"}}
    response = await api.post(url(world.call_id), json=body, headers=headers["agent"])
    assert response.status_code == 201, response.text
    assert await count(db, Payment) == 0 and await count(db, PromiseToPay) == 0
    task = (await db.execute(select(Task))).scalar_one()
    assert task.kind is TaskKind.FOLLOW_UP and task.source_call_id == world.call_id
    assert task.due_at == dt.datetime(2026, 11, 25, 8, 0, tzinfo=SH)
    assert "15800.00" in task.reason and "TX889" in task.reason
    assert response.json()["next_follow_up_date"] == "2026-11-25"
    assert [t["kind"] for t in response.json()["tasks"]] == ["follow_up"]
    case = await db.get(Case, world.case_id)
    assert case.next_follow_up_at == task.due_at


async def test_given_payment_claimed_in_the_future_then_422(api, headers, world):
    body = {**DEBTOR, "disposition": "paid", "payment": {"amount": "100", "paid_on": "2026-11-28"}}
    response = await api.post(url(world.call_id), json=body, headers=headers["agent"])
    assert response.status_code == 422 and response.json()["field"] == "payment.paid_on"


async def test_given_refused_then_the_note_and_a_follow_up_in_three_days_unless_the_agent_chose_one(
        api, headers, world, db):
    body = {**DEBTOR, "disposition": "refused", "result": "明确拒绝还款"}
    response = await api.post(url(world.call_id), json=body, headers=headers["agent"])
    assert response.status_code == 201, response.text
    assert (await count(db, PromiseToPay), await count(db, Task), await count(db, StopContact)) == (0, 0, 0)
    assert response.json()["next_follow_up_date"] == "2026-11-27"
    case = await db.get(Case, world.case_id)
    assert case.last_contact_at is not None and case.next_follow_up_at.astimezone(SH).date() == dt.date(2026, 11, 27)
    later = await add_call(db, world=world)
    await db.commit()
    chosen = await api.post(url(later.id), json={**body, "next_follow_up_date": "2026-12-01"}, headers=headers["agent"])
    assert chosen.status_code == 201 and chosen.json()["next_follow_up_date"] == "2026-12-01"


async def test_given_no_answer_then_no_contact_leaves_last_contact(api, headers, world, db):
    missed = await add_call(db, world=world, state=CallState.NO_ANSWER, outcome=CallOutcome.NO_ANSWER)
    await db.commit()
    response = await api.post(url(missed.id), json={"disposition": "no_contact", "contact_status": "no_answer"},
                              headers=headers["agent"])
    assert response.status_code == 201, response.text
    assert (await db.get(Case, world.case_id)).last_contact_at is None


# --- wrong number -----------------------------------------------------------------------------


async def test_given_wrong_number_then_number_marked_invalid_and_policy_refuses_it(api, headers, world, db):
    body = {"disposition": "wrong_number", "contact_status": "wrong_person", "reason": "号码已易主，接听人不认识张三"}
    response = await api.post(url(world.call_id), json=body, headers=headers["agent"])
    assert response.status_code == 201, response.text
    assert response.json()["number_invalidated"] == world.debtor_number_id
    number = await db.get(PhoneNumber, world.debtor_number_id)
    assert number.valid is False and number.invalid_reason.startswith("号码已易主") and number.invalid_marked_at == NOW
    decision = await check(api, headers, world.debtor_id, "2026-11-24T15:00:00+08:00")
    assert decision["allowed"] is False and "invalid_number" in [v["rule"] for v in decision["violations"]]


async def test_given_wrong_number_without_reason_then_422(api, headers, world, db):
    response = await api.post(url(world.call_id), json={"disposition": "wrong_number", "contact_status": "wrong_person"},
                              headers=headers["agent"])
    assert response.status_code == 422 and [f["field"] for f in response.json()["fields"]] == ["reason"]
    assert (await db.get(PhoneNumber, world.debtor_number_id)).valid is True


# --- third parties ----------------------------------------------------------------------------


async def test_given_third_party_message_then_the_note_and_a_follow_up_the_next_day(api, headers, world, db):
    call = await add_call(db, world=world, party="friend")
    await db.commit()
    response = await api.post(url(call.id), json={**FRIEND, "disposition": "third_party_message"},
                              headers=headers["agent"])
    assert response.status_code == 201, response.text
    assert response.json()["party_id"] == world.friend_id and await count(db, StopContact) == 0
    assert response.json()["next_follow_up_date"] == "2026-11-25"  # the debtor has heard it by then


async def test_given_third_party_disposition_on_debtor_call_then_422(api, headers, world):
    body = {**DEBTOR, "disposition": "third_party_stop", "reason": "不要再打"}
    response = await api.post(url(world.call_id), json=body, headers=headers["agent"])
    assert response.status_code == 422 and response.json()["field"] == "disposition"


async def test_given_third_party_stop_then_stop_contact_and_report_item(api, headers, world, db):
    call = await add_call(db, world=world, party="friend")
    await db.commit()
    body = {**FRIEND, "disposition": "third_party_stop", "reason": "要求不要再打给他"}
    response = await api.post(url(call.id), json=body, headers=headers["agent"])
    assert response.status_code == 201, response.text
    stop = (await db.execute(select(StopContact))).scalar_one()
    assert stop.party_id == world.friend_id and stop.source is StopSource.PARTY_REQUEST
    item = (await db.execute(select(ClientReportItem))).scalar_one()
    assert item.stop_contact_id == stop.id and item.party_id == world.friend_id
    assert response.json()["stop_contact_id"] == stop.id and response.json()["report_item_id"] == item.id
    decision = await check(api, headers, world.friend_id, "2026-11-25T10:00:00+08:00")
    assert decision["allowed"] is False and decision["violations"][0]["rule"] == "stop_contact"


async def test_given_hostile_third_party_then_stopped_as_hostile(api, headers, world, db):
    call = await add_call(db, world=world, party="friend")
    await db.commit()
    body = {**FRIEND, "disposition": "hostile", "reason": "辱骂并威胁投诉"}
    response = await api.post(url(call.id), json=body, headers=headers["agent"])
    assert response.status_code == 201, response.text
    stop = (await db.execute(select(StopContact))).scalar_one()
    assert stop.source is StopSource.HOSTILE and stop.party_id == world.friend_id
    assert await count(db, ClientReportItem) == 1


async def test_given_hostile_debtor_then_no_stop(api, headers, world, db):
    body = {**DEBTOR, "disposition": "hostile", "reason": "情绪激烈"}
    response = await api.post(url(world.call_id), json=body, headers=headers["agent"])
    assert response.status_code == 201, response.text
    assert await count(db, StopContact) == 0


# --- callback ---------------------------------------------------------------------------------


async def test_given_callback_then_consent_task_and_follow_up_at_that_time(api, headers, world, db):
    body = {**DEBTOR, "disposition": "callback_requested", "callback": {"at": "2026-11-24T15:00:00+08:00"}}
    response = await api.post(url(world.call_id), json=body, headers=headers["agent"])
    assert response.status_code == 201, response.text
    at = dt.datetime(2026, 11, 24, 15, 0, tzinfo=SH)
    consent = (await db.execute(select(Consent))).scalar_one()
    assert consent.kind is ConsentKind.CALLBACK and consent.party_id == world.debtor_id
    assert consent.number_id == world.debtor_number_id and consent.source_call_id == world.call_id
    assert (consent.callback_at, consent.valid_from, consent.valid_until) == (at, at, at + dt.timedelta(hours=1))
    task = (await db.execute(select(Task))).scalar_one()
    assert task.kind is TaskKind.CALLBACK and task.due_at == at and task.party_id == world.debtor_id
    assert (await db.get(Case, world.case_id)).next_follow_up_at == at
    assert response.json()["callback"]["id"] == consent.id
    assert (await check(api, headers, world.debtor_id, "2026-11-24T15:00:00+08:00"))["allowed"] is True


async def test_given_callback_outside_the_calling_window_then_422_with_next_allowed(api, headers, world, db):
    body = {**DEBTOR, "disposition": "callback_requested",
            "callback": {"at": "2026-11-24T22:30:00+08:00", "until": "2026-11-24T23:00:00+08:00"}}
    response = await api.post(url(world.call_id), json=body, headers=headers["agent"])
    assert response.status_code == 422
    error = response.json()
    assert error["error"] == "callback_not_allowed" and error["field"] == "callback.at"
    assert [v["rule"] for v in error["violations"]] == ["calling_window"]
    assert dt.datetime.fromisoformat(error["next_allowed_at"]) == dt.datetime(2026, 11, 25, 8, 0, tzinfo=SH)
    assert await count(db, Consent) == 0 and await count(db, WrapUpNote) == 0


async def test_given_bad_callback_window_then_422_names_the_field(api, headers, world):
    cases = [
        ({"at": "2026-11-24T15:00:00"}, "callback.at"),  # naive
        ({"at": "2026-11-24T15:00:00+08:00", "until": "2026-11-24T14:00:00+08:00"}, "callback.until"),
    ]
    for callback, field in cases:
        body = {**DEBTOR, "disposition": "callback_requested", "callback": callback}
        response = await api.post(url(world.call_id), json=body, headers=headers["agent"])
        assert response.status_code == 422 and response.json()["fields"][0]["field"] == field, response.text
    body = {**DEBTOR, "disposition": "callback_requested", "callback": {"at": "2026-11-24T09:00:00+08:00"}}
    response = await api.post(url(world.call_id), json=body, headers=headers["agent"])
    assert response.status_code == 422 and response.json()["field"] == "callback.at"  # already past


async def test_given_callback_on_another_partys_number_then_422(api, headers, world):
    body = {**DEBTOR, "disposition": "callback_requested",
            "callback": {"at": "2026-11-24T15:00:00+08:00", "number_id": world.friend_number_id}}
    response = await api.post(url(world.call_id), json=body, headers=headers["agent"])
    assert response.status_code == 422 and response.json()["field"] == "callback.number_id"


async def test_given_a_us_client_when_the_debtor_asks_for_a_callback_then_that_call_is_allowed_despite_the_pause(
        api, headers, world, db, app):
    """Reg F: a call the consumer asked for directly within seven days is not held to the pause after
    a conversation; the check at that time sees the consent, other times still see the pause."""
    async with app.state.container.sessions() as s:
        client = await s.get(Client, world.client_id)
        doc = build_policy("us-reg-f", {"calling_window": {"weekdays": {
            d: [{"start": "08:00", "end": "21:00"}] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}},
            "default_time_zone": "Asia/Shanghai"})
        s.add(PolicyVersion(client_id=client.id, version=2, preset="us-reg-f", overrides={}, document=doc.model_dump(mode="json"),
                            reason="test"))
        client.policy_version = 2
        s.add(Attempt(client_id=client.id, case_id=world.case_id, party_id=world.debtor_id,
                      number_id=world.debtor_number_id, started_at=NOW - dt.timedelta(minutes=5), outcome="answered",
                      conversation=True))
        await s.commit()
    body = {**DEBTOR, "disposition": "callback_requested", "callback": {"at": "2026-11-25T15:00:00+08:00"}}
    response = await api.post(url(world.call_id), json=body, headers=headers["agent"])
    assert response.status_code == 201, response.text
    assert (await check(api, headers, world.debtor_id, "2026-11-25T15:30:00+08:00"))["allowed"] is True
    later = await check(api, headers, world.debtor_id, "2026-11-25T17:00:00+08:00")
    assert not later["allowed"] and [v["rule"] for v in later["violations"]] == ["us_pause_after_conversation"]
