"""Preview through the API: the next case's card, holding it, skipping it with a reason."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select, update

from dialer.agents.models import AgentSession, AgentState
from dialer.audit.models import AuditEntry
from dialer.calls.models import Call, CallState, Direction
from dialer.cases.holds import WORKED_REST
from dialer.cases.models import Case, Party, PartyRole, Relation
from dialer.notes.models import Disposition, PromiseToPay, WrapUpNote
from dialer.worklist.models import CaseSkip
from tests.worklist.helpers import NOW, SH, mobile, promise_due, queued_case, stop_debtor
from tests.factories import make_client, make_party




async def _state(api, desk):
    return (await api.get("/v1/agent/session", headers=desk)).json()


async def test_given_a_ready_agent_then_next_hands_out_the_card_and_reserves_them(app, api, desk, users):
    async with app.state.container.sessions() as s:
        client = await make_client(s, name="示例银行")
        case = await queued_case(s, client=client, owed="15800.00", overdue_days=95)
        spouse = await make_party(s, case=case, role=PartyRole.THIRD_PARTY, relation=Relation.SPOUSE, name="李四",
                                  numbers=(mobile(),))
        await stop_debtor(s, case)  # the debtor asked not to be called: only the spouse remains
        debtor = (await s.execute(select(Party).where(Party.case_id == case.id, Party.role == PartyRole.DEBTOR))).scalar_one()
        call = Call(direction=Direction.OUTBOUND, carrier="twilio", carrier_call_id="CA-preview-1",
                    state=CallState.COMPLETED, case_id=case.id,
                    party_id=debtor.id, agent_id=users["agent"].id, requested_at=NOW - dt.timedelta(days=1))
        s.add(call)
        await s.flush()
        s.add(WrapUpNote(call_id=call.id, case_id=case.id, agent_id=users["agent"].id,
                         disposition=Disposition.PROMISE_TO_PAY, result="promised 500 today"))
        await promise_due(s, case)
        await s.commit()

    response = await api.get("/v1/agent/next", headers=desk)

    assert response.status_code == 200, response.text
    card = response.json()
    assert card["case"]["id"] == case.id and card["case"]["client_name"] == "示例银行"
    assert card["case"]["total_owed"] == "15800.00" and card["case"]["bucket"] == "M3+"
    assert card["tier"] == "promise_due" and card["allowed"] is True
    debtor_card, spouse_card = card["parties"]
    assert debtor_card["role"] == "debtor" and debtor_card["allowed"] is False and debtor_card["next_allowed_at"] is None
    [number] = debtor_card["numbers"]
    assert number["allowed"] is False and [v["rule"] for v in number["violations"]] == ["stop_contact"]
    assert spouse_card["id"] == spouse.id and spouse_card["allowed"] is True
    assert spouse_card["numbers"][0]["violations"] == []
    assert [c["id"] for c in card["calls"]] == [call.id]
    assert card["notes"][0]["result"] == "promised 500 today" and card["promises"][0]["amount"] == "500.00"
    me = await _state(api, desk)
    assert me["state"] == "reserved" and me["held_case_id"] == case.id

    again = await api.get("/v1/agent/next", headers=desk)  # a second look: the same case, still held
    assert again.json()["case"]["id"] == case.id


async def test_given_a_skip_then_reason_recorded_case_released_agent_ready_and_next_is_another(app, api, desk, users):
    async with app.state.container.sessions() as s:
        client = await make_client(s)
        first = await queued_case(s, client=client, owed="90000.00")
        second = await queued_case(s, client=client, owed="10.00")
        await s.commit()
    assert (await api.get("/v1/agent/next", headers=desk)).json()["case"]["id"] == first.id

    skipped = await api.post(f"/v1/agent/cases/{first.id}/skip", json={"reason": "debtor in hospital"}, headers=desk)

    assert skipped.status_code == 204, skipped.text
    assert (await _state(api, desk))["state"] == "ready"
    async with app.state.container.sessions() as s:
        [skip] = (await s.execute(select(CaseSkip))).scalars().all()
        assert (skip.case_id, skip.agent_id, skip.reason) == (first.id, users["agent"].id, "debtor in hospital")
        released = await s.get(Case, first.id)
        assert released.held_by_agent_id is None and released.held_until is None
        [audited] = (await s.execute(select(AuditEntry).where(AuditEntry.action == "case.skip"))).scalars().all()
        assert audited.entity_id == str(first.id) and audited.detail["reason"] == "debtor in hospital"
    assert (await api.get("/v1/agent/next", headers=desk)).json()["case"]["id"] == second.id


async def test_given_a_case_not_held_then_skip_is_409_and_a_blank_reason_422(app, api, desk):
    async with app.state.container.sessions() as s:
        case = await queued_case(s)
        await s.commit()
    refused = await api.post(f"/v1/agent/cases/{case.id}/skip", json={"reason": "no"}, headers=desk)
    assert refused.status_code == 409 and refused.json()["error"] == "case_not_held"
    await api.get("/v1/agent/next", headers=desk)
    blank = await api.post(f"/v1/agent/cases/{case.id}/skip", json={"reason": ""}, headers=desk)
    assert blank.status_code == 422


async def test_given_nothing_callable_then_null_and_the_agent_stays_ready(app, api, desk):
    async with app.state.container.sessions() as s:
        await stop_debtor(s, await queued_case(s))
        await s.commit()

    response = await api.get("/v1/agent/next", headers=desk)

    assert response.status_code == 200 and response.json() is None
    assert (await _state(api, desk))["state"] == "ready"


async def test_given_not_ready_or_progressive_then_no_preview(app, api, desk):
    await api.post("/v1/agent/state", json={"state": "not_ready", "reason": "break"}, headers=desk)
    not_ready = await api.get("/v1/agent/next", headers=desk)
    assert not_ready.status_code == 409 and not_ready.json()["error"] == "illegal_agent_transition"

    await api.post("/v1/agent/mode", json={"mode": "progressive"}, headers=desk)
    progressive = await api.get("/v1/agent/next", headers=desk)
    assert progressive.status_code == 409 and progressive.json()["error"] == "wrong_mode"


async def test_given_a_reserved_agent_going_not_ready_then_the_case_is_given_back(app, api, desk):
    async with app.state.container.sessions() as s:
        case = await queued_case(s)
        await s.commit()
    await api.get("/v1/agent/next", headers=desk)

    response = await api.post("/v1/agent/state", json={"state": "not_ready", "reason": "technical"}, headers=desk)

    assert response.status_code == 200 and response.json()["held_case_id"] is None
    async with app.state.container.sessions() as s:
        assert (await s.get(Case, case.id)).held_by_agent_id is None


async def test_given_a_broken_promise_then_it_is_not_a_promise_due(app, api, desk):
    async with app.state.container.sessions() as s:
        client = await make_client(s)
        broken = await queued_case(s, client=client, owed="10.00")
        s.add(PromiseToPay(case_id=broken.id, amount=Decimal("1.00"), due_date=NOW.date(), status="broken"))
        bigger = await queued_case(s, client=client, owed="20.00")
        await s.commit()
    card = (await api.get("/v1/agent/next", headers=desk)).json()
    assert card["case"]["id"] == bigger.id and card["tier"] == "backlog"


async def test_given_a_worked_case_then_the_next_preview_rests_it_and_hands_out_another(app, api, desk, users):
    async with app.state.container.sessions() as s:
        client = await make_client(s)
        worked = await queued_case(s, client=client, owed="90000.00")
        other = await queued_case(s, client=client, owed="10.00")
        await s.commit()
    assert (await api.get("/v1/agent/next", headers=desk)).json()["case"]["id"] == worked.id
    async with app.state.container.sessions() as s:  # dialed, talked, noted: the agent is ready again
        await s.execute(update(AgentSession).where(AgentSession.agent_id == users["agent"].id)
                        .values(state=AgentState.READY))
        await s.commit()

    card = (await api.get("/v1/agent/next", headers=desk)).json()

    assert card["case"]["id"] == other.id
    async with app.state.container.sessions() as s:
        rested = await s.get(Case, worked.id)
        assert rested.held_by_agent_id is None and rested.held_until == NOW + WORKED_REST


async def test_given_a_held_case_then_agent_case_shows_its_card_read_only_and_none_without_one(app, api, desk):
    assert (await api.get("/v1/agent/case", headers=desk)).json() is None
    async with app.state.container.sessions() as s:
        case = await queued_case(s, client=await make_client(s), owed="9000.00")
        await s.commit()
    handed = (await api.get("/v1/agent/next", headers=desk)).json()
    async with app.state.container.sessions() as s:
        held_until = (await s.get(Case, case.id)).held_until
    app.state.container.clock = lambda: NOW + dt.timedelta(minutes=5)  # a later look renews nothing

    shown = await api.get("/v1/agent/case", headers=desk)

    assert shown.status_code == 200, shown.text
    card = shown.json()
    assert card["case"]["id"] == handed["case"]["id"] == case.id
    assert [n["allowed"] for p in card["parties"] for n in p["numbers"]] == [True]
    async with app.state.container.sessions() as s:
        assert (await s.get(Case, case.id)).held_until == held_until
    assert (await _state(api, desk))["state"] == "reserved"


async def test_given_early_morning_in_the_clients_zone_then_the_card_counts_a_promise_due_by_its_day_not_utcs(
        app, api, desk):
    early = dt.datetime(2026, 11, 25, 1, 30, tzinfo=SH)  # still the 24th in UTC
    app.state.container.clock = lambda: early.astimezone(dt.timezone.utc)  # as the service's clock gives it
    async with app.state.container.sessions() as s:
        client = await make_client(s, overrides={"calling_window": {"weekdays": {
            d: [{"start": "00:00", "end": "24:00"}] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}})
        case = await queued_case(s, client=client)
        await promise_due(s, case, due=early.date())
        await s.commit()
    handed = (await api.get("/v1/agent/next", headers=desk)).json()
    assert handed["case"]["id"] == case.id and handed["tier"] == "promise_due"

    shown = (await api.get("/v1/agent/case", headers=desk)).json()
    again = (await api.get("/v1/agent/next", headers=desk)).json()  # the held case handed back

    assert shown["tier"] == again["tier"] == "promise_due"
