"""An agent cannot tell another agent's call from one that does not exist (no probing of ids)."""

from __future__ import annotations

from dialer.calls.models import Call, CallState, Direction
from tests.factories import make_case, make_user


async def test_given_another_agents_call_then_an_agent_gets_the_same_404_as_for_an_unknown_one(api, app, headers):
    async with app.state.container.sessions() as session:
        other = await make_user(session, username="agent-elsewhere")
        case = await make_case(session)
        call = Call(direction=Direction.OUTBOUND, carrier="twilio", state=CallState.COMPLETED, case_id=case.id,
                    client_id=case.client_id, agent_id=other.id)
        session.add(call)
        await session.commit()

    theirs = await api.get(f"/v1/calls/{call.id}", headers=headers["agent"])
    unknown = await api.get("/v1/calls/999999", headers=headers["agent"])

    assert (theirs.status_code, theirs.json()["detail"]) == (404, f"call {call.id} not found")
    assert (unknown.status_code, unknown.json()["detail"]) == (404, "call 999999 not found")
    assert (await api.get(f"/v1/calls/{call.id}", headers=headers["supervisor"])).status_code == 200
