"""The wrap-up form's rules as the desktop reads them (GET /v1/wrap-up/rules): exactly notes.schemas'
REQUIRED and CONVERSATIONS, and the fields the validation of a note really asks for."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from dialer.notes.models import Disposition
from dialer.notes.schemas import CONVERSATIONS, REQUIRED, WrapUpIn, wrap_up_rules

URL = "/v1/wrap-up/rules"
NESTED = {"promise": ["promise.amount", "promise.due_date"], "payment": ["payment.amount", "payment.paid_on"],
          "callback": ["callback.at"]}


def refused_fields(body: dict) -> set[str]:
    """The fields WrapUpIn names when it refuses ``body``, as a 422 names them; none when it accepts it."""
    try:
        WrapUpIn.model_validate(body)
    except ValidationError as refused:
        return {".".join(str(part) for part in error["loc"]) for error in refused.errors()}
    return set()


@pytest.mark.parametrize("role", ["agent", "supervisor", "admin"])
async def test_given_a_worker_then_the_rules_are_exactly_the_schemas_sorted(api, headers, role):
    response = await api.get(URL, headers=headers[role])

    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body["required"]) == sorted(Disposition)  # every disposition, in a stable order
    assert {Disposition(name): frozenset(fields) for name, fields in body["required"].items()} == REQUIRED
    assert all(fields == sorted(fields) for fields in body["required"].values())
    assert body["conversations"] == sorted(CONVERSATIONS)
    assert body["nested_required"] == NESTED


async def test_given_no_token_then_401(api):
    response = await api.get(URL)

    assert response.status_code == 401
    assert response.json()["error"] == "unauthenticated"


async def test_given_an_integration_key_holder_then_403(api, headers):
    response = await api.get(URL, headers=headers["integration"])

    assert response.status_code == 403


@pytest.mark.parametrize("disposition", list(Disposition))
def test_given_a_disposition_without_its_fields_then_the_validation_names_exactly_the_served_ones(disposition):
    missing = refused_fields({"disposition": disposition, "contact_status": "other"})

    assert missing == set(wrap_up_rules().required[disposition])


@pytest.mark.parametrize("name", sorted(NESTED))
def test_given_an_empty_sub_object_then_the_validation_names_exactly_the_served_nested_fields(name):
    disposition = next(d for d, fields in REQUIRED.items() if name in fields)
    body = {"disposition": disposition, "contact_status": "other", "contact_name": "张三", name: {}}

    assert refused_fields(body) == set(wrap_up_rules().nested_required[name])
