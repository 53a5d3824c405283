"""Integers past the range of the column they meet are a 422 naming the field (they were a 500: SQLite
cannot bind them, PostgreSQL refuses the query); the largest value a column holds is answered as any
other value is. The OpenAPI document states every bound."""

from __future__ import annotations

import pytest

from dialer.kit.bounds import BIGINT_MAX, INTEGER_MAX
from tests.factories import make_case, make_client, make_seat


@pytest.fixture
async def case_id(app) -> int:
    async with app.state.container.sessions() as s:
        case = await make_case(s, client=await make_client(s))
        await make_seat(s)
        await s.commit()
    return case.id


def _fields(response) -> list[str]:
    return [f["field"] for f in response.json()["fields"]]


@pytest.mark.parametrize(("method", "path", "field"), [
    ("GET", f"/v1/cases/{BIGINT_MAX + 1}", "case_id"),
    ("PATCH", f"/v1/seats/{2**70}", "seat_id"),
    ("GET", f"/v1/clients/1/policy/versions/{INTEGER_MAX + 1}", "version"),
    ("GET", f"/v1/cases?client_id={BIGINT_MAX + 1}", "client_id"),
    ("GET", f"/v1/cases?max_overdue_days={INTEGER_MAX + 1}", "max_overdue_days"),
    ("GET", f"/v1/users?after={BIGINT_MAX + 1}", "after"),
    ("GET", f"/v1/tasks?agent_id={2**64}", "agent_id"),
])
async def test_given_an_integer_past_its_column_in_a_path_or_query_then_422_naming_it(api, headers, method, path,
                                                                                      field):
    response = await api.request(method, path, headers=headers["admin"], json={} if method == "PATCH" else None)

    assert response.status_code == 422, response.text
    assert _fields(response) == [field]


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/v1/compliance/check", {"number_id": BIGINT_MAX + 1}, "number_id"),
    ("/v1/legal-holds", {"scope": "case", "scope_id": 2**64, "reason": "court order"}, "scope_id"),
    ("/v1/campaigns", {"client_id": BIGINT_MAX + 1, "name": "spring"}, "client_id"),
    ("/v1/attempts/import", {"attempts": [{"number_id": 2**63, "started_at": "2026-11-24T10:00:00+08:00",
                                           "outcome": "busy"}]}, "attempts.0.number_id"),
])
async def test_given_an_id_past_bigint_in_a_body_then_422_naming_it(api, headers, path, body, field):
    response = await api.post(path, json=body, headers=headers["admin"])

    assert response.status_code == 422, response.text
    assert _fields(response) == [field]


async def test_given_the_largest_values_the_columns_hold_then_they_are_asked_like_any_other(api, headers, case_id):
    unknown = await api.get(f"/v1/cases/{BIGINT_MAX}", headers=headers["admin"])
    none_that_overdue = await api.get(f"/v1/cases?max_overdue_days={INTEGER_MAX}&min_overdue_days={INTEGER_MAX}",
                                      headers=headers["admin"])
    no_version = await api.get(f"/v1/clients/1/policy/versions/{INTEGER_MAX}", headers=headers["admin"])
    no_rows_after = await api.get(f"/v1/seats?after={BIGINT_MAX}", headers=headers["admin"])

    assert unknown.status_code == 404 and unknown.json()["error"] == "not_found"
    assert none_that_overdue.status_code == 200 and none_that_overdue.json()["items"] == []
    assert no_version.status_code == 404
    assert no_rows_after.status_code == 200 and no_rows_after.json()["items"] == []


@pytest.mark.sqlite_only  # the document reads no table
async def test_given_the_openapi_document_then_every_integer_a_request_carries_has_its_bounds(api):
    document = (await api.get("/openapi.json")).json()

    assert _unbounded_integers(document) == []



def _unbounded_integers(document: dict) -> list[str]:
    """``"METHOD /path place name"`` of every integer in a request's parameters or JSON body whose
    schema lacks a minimum or a maximum within BIGINT."""
    schemas = document["components"]["schemas"]
    found = []

    def walk(schema: dict, where: str, seen: frozenset[str]) -> None:
        ref = schema.get("$ref")
        if ref is not None:
            if ref not in seen:
                walk(schemas[ref.rsplit("/", 1)[1]], where, seen | {ref})
            return
        if schema.get("type") == "integer":
            low, high = schema.get("minimum"), schema.get("maximum")
            if low is None or high is None or low < -BIGINT_MAX - 1 or high > BIGINT_MAX:
                found.append(where)
        for option in schema.get("anyOf", []) + schema.get("oneOf", []) + schema.get("allOf", []):
            walk(option, where, seen)
        if "items" in schema:
            walk(schema["items"], where, seen)
        for name, item in schema.get("properties", {}).items():
            walk(item, f"{where}.{name}", seen)

    for path, item in document["paths"].items():
        for method, operation in item.items():
            label = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                walk(parameter["schema"], f"{label} {parameter['in']} {parameter['name']}", frozenset())
            for content in operation.get("requestBody", {}).get("content", {}).values():
                walk(content["schema"], f"{label} body", frozenset())
    return found
