"""Agents outside a party's case get 404 from stop-contact, contact-status and the compliance
check, like the case endpoints; nothing is written for them."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from dialer.cases.models import PartyRole
from dialer.compliance.models import ClientReportItem, Decision, StopContact
from tests.factories import make_case, make_client, make_party

AT = "2026-11-24T12:00:00+08:00"


@pytest.fixture
async def parties(app, users):
    """A third party with a number on a team-b case (not agent-1's) and on a team-a case (theirs)."""
    async with app.state.container.sessions() as s:
        client = await make_client(s)
        made = {}
        for team in ("team-a", "team-b"):
            case = await make_case(s, client=client, team=team)
            made[team] = await make_party(s, case=case, role=PartyRole.THIRD_PARTY, numbers=("+8613900139000",))
        await s.commit()
    return made


async def _counts(app) -> list[int]:
    async with app.state.container.sessions() as s:
        return [(await s.execute(select(func.count()).select_from(m))).scalar_one()
                for m in (StopContact, ClientReportItem, Decision)]


async def _number_id(app, party_id: int) -> int:
    from dialer.cases.models import PhoneNumber

    async with app.state.container.sessions() as s:
        return (await s.execute(select(PhoneNumber.id).where(PhoneNumber.party_id == party_id))).scalar_one()


async def test_given_another_teams_party_when_an_agent_adds_a_stop_contact_then_404_and_nothing_written(api, headers, parties, app):
    other = parties["team-b"].id
    response = await api.post(f"/v1/parties/{other}/stop-contact", json={"source": "party_request", "reason": "asked"},
                              headers=headers["agent"])
    assert response.status_code == 404
    assert response.json()["detail"] == f"party {other} not found"
    assert await _counts(app) == [0, 0, 0]


async def test_given_their_own_teams_party_then_the_agent_adds_a_stop_contact(api, headers, parties):
    own = parties["team-a"].id
    response = await api.post(f"/v1/parties/{own}/stop-contact", json={"source": "party_request", "reason": "asked"},
                              headers=headers["agent"])
    assert response.status_code == 201, response.text


async def test_given_another_teams_party_then_contact_status_and_checks_are_404_like_an_unknown_id(api, headers, parties, app):
    other = parties["team-b"].id
    number = await _number_id(app, other)
    status = await api.get(f"/v1/parties/{other}/contact-status", params={"at": AT}, headers=headers["agent"])
    unknown = await api.get("/v1/parties/999999/contact-status", params={"at": AT}, headers=headers["agent"])
    by_party = await api.post("/v1/compliance/check", json={"party_id": other, "at": AT}, headers=headers["agent"])
    by_number = await api.post("/v1/compliance/check", json={"number_id": number, "at": AT}, headers=headers["agent"])
    assert [r.status_code for r in (status, unknown, by_party, by_number)] == [404] * 4
    assert status.json()["detail"] == f"party {other} not found" and unknown.json()["detail"] == "party 999999 not found"
    assert by_number.json()["detail"] == f"phone number {number} not found"
    assert await _counts(app) == [0, 0, 0]


async def test_given_their_own_party_or_a_supervisor_then_status_and_checks_answer(api, headers, parties, app):
    own, other = parties["team-a"].id, parties["team-b"].id
    assert (await api.get(f"/v1/parties/{own}/contact-status", params={"at": AT}, headers=headers["agent"])).status_code == 200
    checked = await api.post("/v1/compliance/check", json={"number_id": await _number_id(app, own), "at": AT},
                             headers=headers["agent"])
    assert checked.status_code == 200, checked.text
    assert (await api.get(f"/v1/parties/{other}/contact-status", params={"at": AT},
                          headers=headers["supervisor"])).status_code == 200
    stop = await api.post(f"/v1/parties/{other}/stop-contact", json={"source": "party_request", "reason": "asked"},
                          headers=headers["supervisor"])
    assert stop.status_code == 201
