"""Requests naming rows that clash or do not exist: a seat whose code is one seat's and whose
identity is another's is a 409 naming both (it was a 500: two rows where one was expected); a
compliance check for an unknown agent or seat is a 422 naming it, and records nothing (it was a
foreign-key violation, a 500)."""

from __future__ import annotations

from sqlalchemy import func, select

from dialer.compliance.models import Decision
from dialer.seats.models import Seat
from tests.factories import make_case, make_client

AT = "2026-11-24T12:00:00+08:00"


async def _count(app, model) -> int:
    async with app.state.container.sessions() as s:
        return (await s.execute(select(func.count()).select_from(model))).scalar_one()


async def test_given_a_code_of_one_seat_and_the_identity_of_another_then_409_naming_both(api, headers, app):
    for code, identity in (("A-01", "client:seat-a01"), ("A-02", "client:seat-a02")):
        made = await api.post("/v1/seats", json={"code": code, "softphone_identity": identity}, headers=headers["admin"])
        assert made.status_code == 201, made.text

    response = await api.post("/v1/seats", json={"code": "A-01", "softphone_identity": "client:seat-a02"},
                              headers=headers["admin"])

    assert response.status_code == 409, response.text
    assert response.json() == {
        "error": "conflict", "field": "code",
        "detail": "code: already registered to seat A-01; softphone_identity: already registered to seat A-02"}
    assert await _count(app, Seat) == 2


async def test_given_one_seat_holding_both_then_409_names_both_fields(api, headers):
    await api.post("/v1/seats", json={"code": "B-01", "softphone_identity": "client:seat-b01"}, headers=headers["admin"])

    response = await api.post("/v1/seats", json={"code": "B-01", "softphone_identity": "client:seat-b01"},
                              headers=headers["admin"])

    assert response.status_code == 409
    assert response.json()["detail"] == ("code: already registered to seat B-01; "
                                          "softphone_identity: already registered to seat B-01")


async def test_given_a_check_for_an_unknown_agent_or_seat_then_422_naming_it_and_nothing_recorded(api, headers, app):
    async with app.state.container.sessions() as s:
        case = await make_case(s, client=await make_client(s), team="team-a")
        await s.commit()
    party_id = (await api.get(f"/v1/cases/{case.id}", headers=headers["admin"])).json()["parties"][0]["id"]

    no_agent = await api.post("/v1/compliance/check", json={"party_id": party_id, "at": AT, "agent_id": 987654},
                              headers=headers["supervisor"])
    no_seat = await api.post("/v1/compliance/check", json={"party_id": party_id, "at": AT, "seat_id": 987654},
                             headers=headers["supervisor"])
    known = await api.post("/v1/compliance/check", json={"party_id": party_id, "at": AT, "agent_id": 1},
                           headers=headers["supervisor"])

    assert (no_agent.status_code, no_agent.json()["field"]) == (422, "agent_id")
    assert no_agent.json()["detail"] == "agent_id: no user 987654"
    assert (no_seat.status_code, no_seat.json()["field"]) == (422, "seat_id")
    assert known.status_code == 200, known.text
    assert await _count(app, Decision) == 1  # the known agent's check only
