"""A JSON body nested hundreds of levels deep is a 422 saying so (``json_too_deep``): deeper than the
parser goes it was FastAPI's 400 "error parsing the body"; just shallow enough to parse, walking it
(the control-character check) passed the recursion limit, a 500."""

from __future__ import annotations

import sys
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from dialer.kit import error_handlers
from dialer.kit.error_handlers import TOO_DEEP

pytestmark = pytest.mark.sqlite_only  # refused before any table is read


def _nested(depth: int, opening: str = "[") -> str:
    closing = {"[": "]", '{"a": ': "}"}[opening]
    return opening * depth + ("1" if opening != "[" else "") + closing * depth


@pytest.mark.parametrize("depth", [920, 950, 5_000, 100_000])
@pytest.mark.parametrize("opening", ["[", '{"a": '])
async def test_given_a_body_nested_too_deep_then_422_json_too_deep(api, headers, depth, opening):
    body = ('{"client_id": 1, "account_ref": "A-1", "total_owed": "1", "overdue_days": 1, "parties": '
            + _nested(depth, opening) + "}")

    response = await api.post("/v1/cases", content=body, headers={**headers["admin"], "content-type": "application/json"})

    assert response.status_code == 422, response.text
    assert response.json() == TOO_DEEP
    assert response.json()["fields"][0]["type"] == "json_too_deep"


async def test_given_a_nested_body_then_the_service_answers_the_next_request(api, headers):
    nested = await api.post("/v1/clients", content='{"code": "X1", "name": "x", "overrides": ' + _nested(920, '{"a": ')
                            + "}", headers={**headers["admin"], "content-type": "application/json"})

    assert nested.status_code == 422 and nested.json() == TOO_DEEP
    assert (await api.get("/v1/clients", headers=headers["admin"])).status_code == 200


async def test_given_a_handler_walking_a_value_past_the_recursion_limit_then_422_json_too_deep():
    """Which depth parses but is too deep to walk depends on the stack the request runs on: the
    handler's answer is checked on an application of its own."""
    app = FastAPI()
    error_handlers.install(app)

    @app.post("/walk")
    async def walk(body: dict[str, Any]) -> int:
        def depth(value: Any) -> int:
            return 1 + max((depth(v) for v in value.values()), default=0) if isinstance(value, dict) else 0
        return depth(body)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        shallow = await client.post("/walk", json={"a": {"a": {}}})
        deep = await client.post("/walk", content=_nested(sys.getrecursionlimit() // 2, '{"a": '),
                                 headers={"content-type": "application/json"})

    assert shallow.json() == 3
    assert (deep.status_code, deep.json()) == (422, TOO_DEEP)


async def test_given_a_body_nested_a_little_then_the_usual_validation_answers(api, headers):
    body = '{"client_id": 1, "account_ref": "A-1", "total_owed": "1", "overdue_days": 1, "parties": ' + _nested(30) + "}"

    response = await api.post("/v1/cases", content=body, headers={**headers["admin"], "content-type": "application/json"})

    assert response.status_code == 422
    assert [f["type"] for f in response.json()["fields"]] != ["json_too_deep"]
