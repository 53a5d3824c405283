"""Days and instants near Python's limits (years 1 and 9999) are a 422 naming the field: moved into
a zone, or a window of days from them, they overflowed (a 500)."""

from __future__ import annotations

import pytest

from tests.factories import make_case, make_client


@pytest.fixture
async def party_id(app, api, headers) -> int:
    async with app.state.container.sessions() as s:
        case = await make_case(s, client=await make_client(s), team="team-a")
        await s.commit()
    return (await api.get(f"/v1/cases/{case.id}", headers=headers["admin"])).json()["parties"][0]["id"]


@pytest.mark.parametrize("at", ["0001-01-01T00:00:00+08:00", "9999-12-31T23:00:00-05:00", "1899-12-31T12:00:00Z",
                                "2200-01-01T00:00:00+08:00"])
async def test_given_an_instant_out_of_range_then_the_check_and_the_contact_status_are_422_naming_at(
        api, headers, party_id, at):
    check = await api.post("/v1/compliance/check", json={"party_id": party_id, "at": at}, headers=headers["admin"])
    status = await api.get(f"/v1/parties/{party_id}/contact-status", params={"at": at}, headers=headers["admin"])

    for response in (check, status):
        assert response.status_code == 422, response.text
        assert [f["field"] for f in response.json()["fields"]] == ["at"]
        assert "give a day from 1900-01-01 to 2199-12-31" in response.json()["detail"]


@pytest.mark.parametrize(("path", "field"), [
    ("/v1/reports/daily?day=9999-12-31", "day"),
    ("/v1/reports/daily.csv?day=0001-01-01", "day"),
    ("/v1/audit/recordings?day=9999-12-31", "day"),
    ("/v1/integrations/deliveries?since=0001-01-01T00:00:00%2B08:00", "since"),
])
async def test_given_a_day_or_instant_out_of_range_in_a_query_then_422_naming_it(api, headers, path, field):
    response = await api.get(path, headers=headers["admin"])

    assert response.status_code == 422, response.text
    assert [f["field"] for f in response.json()["fields"]] == [field]


async def test_given_the_first_and_last_days_in_range_then_the_check_answers(api, headers, party_id):
    for at in ("1900-01-01T00:00:00+08:00", "2199-12-31T23:59:59-12:00"):
        response = await api.post("/v1/compliance/check", json={"party_id": party_id, "at": at},
                                  headers=headers["admin"])
        assert response.status_code == 200, response.text
