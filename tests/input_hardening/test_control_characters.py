"""Control characters in text are refused at the edge with a 422 naming the field, on both
databases (PostgreSQL answered 500 to a NUL; SQLite stored it)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialer.kit.text import first_refused, refused_character

REFUSED = ["\x00", "\x1b", "\x08", "\x7f", "\x85", "\ud800"]
ALLOWED = ["\t", "\n", "\r", "张三", "Zoë", "🙂", " "]


@pytest.mark.parametrize("char", REFUSED)
def test_given_a_control_character_when_checked_then_it_is_named_with_its_position(char):
    assert refused_character(f"ab{char}c") == f"U+{ord(char):04X} at position 2"


@pytest.mark.parametrize("char", ALLOWED)
def test_given_tabs_line_breaks_and_any_script_when_checked_then_nothing_is_refused(char):
    assert refused_character(f"ab{char}c") is None


def test_given_nested_text_when_checked_then_the_path_to_the_refused_value_is_named():
    assert first_refused({"numbers": [{"e164": "+86"}, {"label": "x\x00"}]}) == \
        "numbers[1].label: U+0000 at position 1"
    assert first_refused({"k\x01": "v"}) == "k\x01 (the key): U+0001 at position 1"
    assert first_refused(["fine", 3, None]) is None


_clean = st.text(st.characters(blacklist_categories=("Cc", "Cs")))


@given(_clean, _clean, st.sampled_from(REFUSED))
def test_given_one_refused_character_anywhere_when_checked_then_it_is_found_where_it_is(before, after, char):
    assert refused_character(before + after) is None
    assert refused_character(before + char + after) == f"U+{ord(char):04X} at position {len(before)}"


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _is_text(spec: dict[str, Any], schema: dict[str, Any]) -> bool:
    schema = _resolve(spec, schema)
    options = schema.get("anyOf", [schema])
    return any(_resolve(spec, o).get("type") == "string" and "enum" not in _resolve(spec, o)
               and _resolve(spec, o).get("format") not in ("date-time", "date", "time", "password")
               for o in options)


def _text_fields(spec: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(method, path, field) for every top-level free-text property of every JSON request body."""
    out = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is None:
                continue
            schema = _resolve(spec, body["schema"])
            for name, prop in schema.get("properties", {}).items():
                if _is_text(spec, prop):
                    out.append((method, path, name))
    return out


async def test_given_a_nul_in_any_text_field_of_any_request_when_sent_then_422_names_that_field(api, headers):
    spec = (await api.get("/openapi.json")).json()
    fields = _text_fields(spec)
    assert len(fields) > 40  # every body with text: users, cases, parties, campaigns, seats, notes, holds …
    unchecked = []
    for method, path, field in fields:
        url = "/".join("1" if part.startswith("{") else part for part in path.split("/"))
        for role in ("admin", "supervisor", "agent", "integration"):
            answer = await api.request(method, url, json={field: "ok\x00ok"}, headers=headers[role])
            if answer.status_code not in (401, 403):
                break
        named = answer.status_code == 422 and any(
            f["field"] == field and "control character" in f["message"] for f in answer.json().get("fields", []))
        if not named:
            unchecked.append((method.upper(), path, field, answer.status_code, answer.text[:200]))
    assert unchecked == []


async def test_given_a_nul_in_a_login_when_sent_then_422_and_no_server_error(api):
    answer = await api.post("/v1/auth/token", json={"username": "admin\x00", "password": "x" * 12})
    assert answer.status_code == 422
    assert answer.json()["fields"][0]["field"] == "username"


async def test_given_a_control_character_in_a_new_users_name_when_created_then_nothing_is_stored(api, headers, app):
    from sqlalchemy import func, select

    from dialer.auth.models import User

    async with app.state.container.sessions() as s:
        before = await s.scalar(select(func.count()).select_from(User))
    answer = await api.post("/v1/users", headers=headers["admin"],
                            json={"username": "li\x1bsi", "display_name": "李四", "password": "a-long-password-1",
                                  "role": "agent"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["fields"][0]["field"] == "username"
    assert "U+001B at position 2" in answer.json()["detail"]
    async with app.state.container.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(User)) == before


@pytest.mark.parametrize("url, name", [
    ("/v1/cases?team=north%00", "team"),
    ("/v1/cases?account_ref=A%1B1", "account_ref"),
    ("/v1/reports/daily?day=2026-12-01&time_zone=Asia/Shanghai%00", "time_zone"),
    ("/v1/scheduler/jobs/re%00minders/run", "name"),
])
async def test_given_a_control_character_in_a_url_parameter_when_sent_then_422_names_it(api, headers, url, name):
    method = "POST" if url.endswith("/run") else "GET"
    answer = await api.request(method, url, headers=headers["admin"])
    assert answer.status_code == 422, answer.text
    assert answer.json()["fields"][0]["field"] == name
    assert "control character" in answer.json()["detail"]


async def test_given_a_control_character_in_a_signed_links_signature_when_fetched_then_422_not_a_server_error(api):
    answer = await api.get("/v1/recordings/1/media?expires=1&signature=ab%C2%85")
    assert answer.status_code == 422, answer.text
    assert answer.json()["fields"][0]["field"] == "signature"


async def test_given_a_control_character_in_an_imported_cell_when_uploaded_then_the_row_and_column_are_named(
        api, headers):
    client_id = (await api.post("/v1/clients", json={"code": "CMB", "name": "招商银行"},
                                headers=headers["admin"])).json()["id"]
    rows = ("account_ref,debtor_name,debtor_numbers,total_owed,overdue_days\n"
            "A-1,张三,13800138000,15800.00,45\n"
            "A-2,王\x00五,13700137000,2000,10\n")
    answer = await api.post(f"/v1/clients/{client_id}/imports/cases",
                            files={"file": ("cases.csv", rows.encode(), "text/csv")}, headers=headers["admin"])
    assert answer.status_code == 422, answer.text
    [error] = answer.json()["errors"]
    assert (error["line"], error["column"]) == (3, "debtor_name")
    assert "U+0000 at position 1" in error["reason"]
    assert (await api.get("/v1/cases", headers=headers["admin"])).json()["items"] == []
