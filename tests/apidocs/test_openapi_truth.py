"""The OpenAPI document tells the truth: each operation's summary names the roles that may call it
(the roles its security requirement lists, as ``require`` declares them), only the public
operations ask for no credentials, and every 4xx answer is documented with its body."""

from __future__ import annotations

import re

import pytest

from dialer.auth.models import Role
from dialer.kit.openapi import ErrorBody, ValidationErrorBody

pytestmark = pytest.mark.sqlite_only  # the document reads no table

PUBLIC = re.compile(r"^(/healthz|/readyz|/webhooks/.*|/v1/auth/token)$")
"""Health probes, the carrier's signed callbacks and the login: no bearer token or API key."""
ROLES = {role.value for role in Role}


@pytest.fixture
async def operations(api) -> list[tuple[str, dict]]:
    document = (await api.get("/openapi.json")).json()
    return [(f"{method.upper()} {path}", operation) for path, item in document["paths"].items()
            for method, operation in item.items()]


def _roles(operation: dict) -> set[str]:
    return {role for requirement in operation.get("security", []) for scopes in requirement.values()
            for role in scopes}


def _named(summary: str, role: str) -> bool:
    return re.search(rf"\b{role}s?\b", summary) is not None


async def test_given_each_operation_then_its_summary_names_the_roles_it_admits(operations):
    unnamed = []
    for label, operation in operations:
        if "security" not in operation:
            continue
        roles, summary = _roles(operation), operation.get("summary", "")
        if roles in (set(), ROLES) and "any role" in summary:
            continue
        missing = sorted(role for role in (roles or ROLES) if not _named(summary, role))
        if missing:
            unnamed.append(label)

    assert unnamed == []




async def test_given_each_operation_without_credentials_then_it_is_a_public_one(operations):
    public = [label for label, operation in operations if "security" not in operation]

    assert public and [label for label in public if not PUBLIC.match(label.split(" ", 1)[1])] == []


async def test_given_each_operation_then_every_4xx_answer_has_the_error_body(operations):
    undocumented, bodyless = [], []
    for label, operation in operations:
        responses = operation["responses"]
        expected = {"422"} if "requestBody" in operation or operation.get("parameters") else set()
        if "security" in operation:
            expected |= {"401"} | ({"403"} if _roles(operation) else set())
        if any(p["in"] == "path" for p in operation.get("parameters", [])):
            expected.add("404")
        undocumented += [f"{label} {status}" for status in sorted(expected - set(responses))]
        bodyless += [f"{label} {status}" for status, answer in responses.items()
                     if status.startswith("4") and "application/json" not in answer.get("content", {})]

    assert undocumented == [] and bodyless == []


async def test_given_the_document_then_422_is_the_validation_body_and_other_errors_the_error_body(api, operations):
    schemas = (await api.get("/openapi.json")).json()["components"]["schemas"]
    for label, operation in operations:
        for status, answer in operation["responses"].items():
            if status.startswith("4"):
                schema = answer["content"]["application/json"]["schema"]
                refs = [option["$ref"] for option in schema.get("anyOf", [schema])]
                expected = (["#/components/schemas/ValidationErrorBody", "#/components/schemas/ErrorBody"]
                            if status == "422" else ["#/components/schemas/ErrorBody"])
                assert refs == expected, f"{label} {status}"

    assert schemas["ErrorBody"]["required"] == ["error", "detail"]
    assert schemas["ValidationErrorBody"]["required"] == ["error", "detail", "fields"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas


async def test_given_bad_input_or_no_credentials_then_the_bodies_are_the_documented_ones(api, headers):
    unparsed = await api.post("/v1/cases", json={"client_id": "one", "parties": []}, headers=headers["admin"])
    too_deep = await api.post("/v1/cases", content="[" * 100_000 + "]" * 100_000,
                              headers={**headers["admin"], "content-type": "application/json"})
    anonymous = await api.get("/v1/cases")
    wrong_role = await api.post("/v1/users", json={}, headers=headers["agent"])

    for response in (unparsed, too_deep):
        assert response.status_code == 422
        body = ValidationErrorBody.model_validate(response.json())
        assert body.fields and all(f.field for f in body.fields)
    assert [f["field"] for f in unparsed.json()["fields"]][:1] == ["client_id"]
    for response, status in ((anonymous, 401), (wrong_role, 403)):
        assert response.status_code == status
        assert ErrorBody.model_validate(response.json()).error in ("unauthenticated", "forbidden")
