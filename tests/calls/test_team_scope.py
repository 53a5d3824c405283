"""A supervisor sees and acts on their own team's calls only (DESIGN §4: supervisor, their teams);
another team's call answers as an unknown one does. Admins act on every call."""

from __future__ import annotations

import datetime as dt

from dialer.auth.models import Role
from dialer.calls.models import CallState
from tests.calls_history.conftest import bearer
from tests.factories import make_case, make_client, make_user
from tests.scheduling.helpers import make_call



async def test_given_a_live_call_of_team_a_then_only_team_as_supervisor_and_admins_see_and_act_on_it(
        api, app, session):
    case = await make_case(session, client=await make_client(session), team="team-a")
    agent = await make_user(session, role=Role.AGENT, team="team-a")
    call = await make_call(session, case=case, agent_id=agent.id, at=dt.datetime.now(dt.UTC), state=CallState.BRIDGED)
    call.outcome = None
    ours = await make_user(session, role=Role.SUPERVISOR, team="team-a")
    theirs = await make_user(session, role=Role.SUPERVISOR, team="team-b")
    admin = await make_user(session, role=Role.ADMIN, team=None)
    await session.commit()

    assert (await api.get(f"/v1/calls/{call.id}", headers=bearer(app, ours))).status_code == 200
    assert (await api.get(f"/v1/calls/{call.id}", headers=bearer(app, admin))).status_code == 200
    for method, path, body in (("GET", f"/v1/calls/{call.id}", None), ("POST", f"/v1/calls/{call.id}/hang-up", None),
                               ("POST", f"/v1/calls/{call.id}/supervisors", {"mode": "monitor", "seat_id": 1})):
        answer = await api.request(method, path, json=body, headers=bearer(app, theirs))
        assert answer.status_code == 404 and answer.json()["error"] == "not_found", (method, path, answer.text)
    await session.refresh(call)
    assert call.state is CallState.BRIDGED  # the refused hang-up changed nothing
