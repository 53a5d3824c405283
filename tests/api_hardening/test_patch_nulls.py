"""A PATCH may leave a field out (it keeps its value) but not set a non-nullable one to null: that is
a 422 naming the field (it was a NOT NULL violation, a 500). Where null means something (no team,
no agent), it still clears the value; the OpenAPI document offers null only there."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dialer.auth.models import Role
from dialer.cases.models import Party, PhoneNumber
from tests.factories import make_case, make_client, make_seat, make_user


@pytest.fixture
async def rows(app, users):
    async with app.state.container.sessions() as s:
        case = await make_case(s, client=await make_client(s), assigned_agent=users["agent"])
        seat = await make_seat(s)
        user = await make_user(s, username="someone", role=Role.SUPERVISOR)
        await s.commit()
    async with app.state.container.sessions() as s:
        number_id = (await s.execute(select(PhoneNumber.id).join(Party).where(Party.case_id == case.id))).scalar_one()
    return {"case": case.id, "seat": seat.id, "user": user.id, "number": number_id}


@pytest.mark.parametrize(("kind", "path", "field"), [
    ("case", "/v1/cases/{}", "status"),
    ("case", "/v1/cases/{}", "overdue_days"),
    ("case", "/v1/cases/{}", "total_owed"),
    ("seat", "/v1/seats/{}", "active"),
    ("user", "/v1/users/{}", "display_name"),
    ("user", "/v1/users/{}", "password"),
    ("number", "/v1/numbers/{}", "kind"),
    ("number", "/v1/numbers/{}", "valid"),
])
async def test_given_null_for_a_field_its_row_cannot_hold_empty_then_422_naming_it(api, headers, rows, kind, path,
                                                                                    field):
    url = path.format(rows[kind])
    before = await _read(api, headers, url)

    response = await api.patch(url, json={field: None}, headers=headers["admin"])

    assert response.status_code == 422, response.text
    assert response.json()["fields"] == [
        {"field": field, "message": "Value error, may not be null: leave the field out to keep its value",
         "type": "value_error"}]
    assert await _read(api, headers, url) == before


async def _read(api, headers, url: str) -> dict:
    """The row as the API shows it (a number: within its party)."""
    if "/numbers/" not in url:
        return (await api.get(url, headers=headers["admin"])).json()
    number_id = int(url.rsplit("/", 1)[1])
    cases = (await api.get("/v1/cases", headers=headers["admin"])).json()["items"]
    parties = [p for c in cases for p in (await api.get(f"/v1/cases/{c['id']}", headers=headers["admin"])).json()["parties"]]
    return next(n for p in parties for n in p["numbers"] if n["id"] == number_id)


async def test_given_null_where_null_means_none_then_it_clears_the_value(api, headers, rows):
    case = await api.patch(f"/v1/cases/{rows['case']}", json={"team": None, "assigned_agent_id": None},
                           headers=headers["admin"])
    seat = await api.patch(f"/v1/seats/{rows['seat']}", json={"team": None, "location": None}, headers=headers["admin"])

    assert case.status_code == 200, case.text
    assert (case.json()["team"], case.json()["assigned_agent_id"]) == (None, None)
    assert seat.status_code == 200 and seat.json()["team"] is None


@pytest.mark.sqlite_only  # the document reads no table
async def test_given_the_openapi_document_then_null_is_offered_only_where_it_clears(api):
    schemas = (await api.get("/openapi.json")).json()["components"]["schemas"]

    def nullable(model: str, field: str) -> bool:
        return {"type": "null"} in schemas[model]["properties"][field].get("anyOf", [])

    assert [f for f in ("status", "contactability", "overdue_days", "total_owed") if nullable("CaseUpdate", f)] == []
    assert nullable("CaseUpdate", "team") and nullable("CaseUpdate", "assigned_agent_id")
    assert not nullable("SeatUpdate", "active") and nullable("SeatUpdate", "team")
    assert not nullable("UserUpdate", "display_name") and nullable("UserUpdate", "team")
    assert not nullable("EndpointUpdate", "url") and nullable("EndpointUpdate", "client_ids")
