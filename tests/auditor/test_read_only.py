"""The auditor changes nothing: every operation of the API that is not a read answers an auditor 403,
and afterwards every table holds the rows it held before."""

from __future__ import annotations

import re

from sqlalchemy import select

from dialer.audit.models import AuditEntry
from dialer.auth.models import Role
from tests.auditor.conftest import Floor, row_counts

READS = {"get", "head"}
METHODS = {"get", "head", "post", "put", "patch", "delete"}


def _filled(path: str, floor: Floor) -> str:
    """The path with each parameter an id that exists (a call, a case, a party …): the role is refused
    before any of them is looked at."""
    return re.sub(r"\{[^}]+\}", str(floor.calls["friend_1000"]), path)


async def test_given_every_operation_that_is_not_a_read_when_an_auditor_sends_it_then_403_and_nothing_changes(
        app, api, floor: Floor):
    document = (await api.get("/openapi.json")).json()
    writes = [(method, path) for path, item in document["paths"].items() for method, operation in item.items()
              if method in METHODS - READS and "security" in operation]
    before = await row_counts(app)

    answers = {f"{method.upper()} {path}": (await api.request(method.upper(), "/" + _filled(path, floor).lstrip("/"),
                                                               headers=floor.headers["auditor"])).status_code
               for method, path in writes}

    assert len(writes) > 40  # the whole API: users, cases, calls, notes, policies, imports, recordings …
    assert {label: status for label, status in answers.items() if status != 403} == {}
    assert await row_counts(app) == before


async def test_given_every_operation_that_is_not_a_read_then_its_roles_leave_the_auditor_out(api):
    document = (await api.get("/openapi.json")).json()

    admitting = [f"{method.upper()} {path}" for path, item in document["paths"].items()
                 for method, operation in item.items() if method in METHODS - READS
                 for requirement in operation.get("security", []) for roles in requirement.values()
                 if Role.AUDITOR.value in roles]

    assert admitting == []


async def test_given_an_auditor_refused_then_no_entry_is_written_in_their_name(app, api, floor: Floor):
    await api.post("/v1/cases", json={}, headers=floor.headers["auditor"])
    await api.post(f"/v1/stop-contacts/{floor.stop_id}/lift", json={"reason": "lifted by the auditor"},
                   headers=floor.headers["auditor"])

    async with app.state.container.sessions() as s:
        theirs = (await s.execute(select(AuditEntry.action).where(
            AuditEntry.actor_id == floor.users["auditor"].id))).scalars().all()
    assert theirs == []


OURS = {"/v1/calls", "/v1/calls/{call_id}", "/v1/calls/{call_id}/timeline", "/v1/calls/{call_id}/wrap-up",
        "/v1/cases/{case_id}/notes", "/v1/stop-contacts", "/v1/recordings/{recording_id}",
        "/v1/recordings/{recording_id}/media", "/v1/audit/log", "/v1/audit/decisions", "/v1/audit/exports"}
"""The reads the auditor role was added to (other packages' reads open to every role are walked too)."""


async def test_given_every_read_an_auditor_may_make_when_made_then_200_and_only_audit_rows_are_written(
        app, api, floor: Floor):
    document = (await api.get("/openapi.json")).json()
    ids = {"call_id": floor.calls["b_1030"], "case_id": floor.case_b, "recording_id": floor.recording_id}
    reads = list(dict.fromkeys(  # each security requirement (bearer, API key) lists the roles
        path for path, item in document["paths"].items() for method, operation in item.items()
        if method == "get" for requirement in operation.get("security", []) for roles in requirement.values()
        if Role.AUDITOR.value in roles and set(re.findall(r"\{(\w+)\}", path)) <= ids.keys()))
    params = {"/v1/audit/exports": {"party_id": floor.friend_a}}
    before = await row_counts(app)

    answers = {path: (await api.get(re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), path),
                                    params=params.get(path, {}), headers=floor.headers["auditor"])).status_code
               for path in reads}

    assert OURS <= set(reads) and answers == dict.fromkeys(reads, 200)
    after = await row_counts(app)
    assert {table: after[table] - count for table, count in before.items() if after[table] != count} == {
        "audit_log": 3}  # the recording's metadata and media, and the export
