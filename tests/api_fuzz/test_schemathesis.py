"""Schemathesis over every operation of the OpenAPI document, as an admin and as an agent, on each
database: no answer is a 5xx, and every answer the document describes matches its schema.

Bounded and reproducible for CI: a few derandomized examples per operation, valid and invalid input
mixed, no shrinking, no example database (about 20 s per role and database). For a deeper run by
hand: ``DIALER_FUZZ_EXAMPLES=100 .venv/bin/python -m pytest tests/api_fuzz``."""

from __future__ import annotations

import os
import traceback

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from pydantic import SecretStr
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.auth.models import Role
from dialer.kit.db import session_factory
from dialer.telephony.fake import FakeCarrier
from tests.factories import make_case, make_client, make_seat, make_user

CHECKS = [not_a_server_error, response_schema_conformance]
EXAMPLES = int(os.environ.get("DIALER_FUZZ_EXAMPLES", "15"))  # per operation
BOUNDED = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                   suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
CONFIG = schemathesis.Config.from_dict({"max-stream-events": 1})  # the desktop's event stream: its first event
FUZZER_IDS = {Role.ADMIN: 7_340_033, Role.AGENT: 7_340_034}
"""The callers' ids, far from the small and boundary ids the generator tries, so that a generated
PATCH of a user does not demote or disable the caller half-way through the run."""


@pytest.fixture
async def fuzzers(engine: AsyncEngine) -> dict[Role, int]:
    """The two callers, and a client with a case and a seat for generated ids to find."""
    async with session_factory(engine)() as s:
        for role, user_id in FUZZER_IDS.items():
            user = await make_user(s, username=f"fuzz-{role.value}", role=role)
            user.id = user_id
        await make_case(s, client=await make_client(s))
        await make_seat(s)
        await s.commit()
    return FUZZER_IDS


@pytest.fixture
def fuzzed_app(settings):
    """The service with Twilio's webhooks signed (as in production) and a fake carrier
    (swapped in once schemathesis has started the lifespan, in an event loop of its own)."""
    from dialer.app import create_app

    app = create_app(settings.model_copy(update={
        "twilio_caller_id": "+862161230000", "twilio_auth_token": SecretStr("fuzz-twilio-auth-token-0123456789"),
    }))
    yield app
    asgi.shutdown_lifespans()  # before the test's database is dropped


@pytest.mark.parametrize("role", [Role.ADMIN, Role.AGENT], ids=["admin", "agent"])
def test_given_every_operation_when_fuzzed_then_no_server_error_and_each_answer_as_documented(
        fuzzed_app, fuzzers, role):
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzzed_app, config=CONFIG)
    container = fuzzed_app.state.container
    container.use(carrier=FakeCarrier())
    token, _ = container.tokens.issue(user_id=fuzzers[role], role=role, now=container.clock())
    auth = {"Authorization": f"Bearer {token}"}
    failures = []

    for result in schema.get_all_operations():
        operation = result.ok()
        valid, invalid = (operation.as_strategy(mode) for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE))

        @BOUNDED
        @given(case=valid | invalid if _can_be_invalid(operation) else valid)
        def fuzz(case: schemathesis.Case) -> None:
            case.validate_response(case.call(headers=auth), checks=CHECKS)

        try:
            fuzz()
        except (Exception, BaseExceptionGroup) as failure:  # schemathesis' FailureGroup is a BaseExceptionGroup
            failures.append(f"{operation.label}: {''.join(traceback.format_exception_only(failure))}")

    assert not failures, "\n\n".join(failures)
    me = schema["/v1/auth/me"]["GET"].Case().call(headers=auth)  # the run was made as this role to the end
    assert (me.status_code, me.json()["role"]) == (200, role.value)


def _can_be_invalid(operation: schemathesis.APIOperation) -> bool:
    """Whether the operation takes anything a request could get wrong (a parameter, a body)."""
    return bool(operation.body) or any(True for _ in operation.iter_parameters())
