"""``GET /v1/board/campaigns``: each campaign a supervisor may see with its work now."""

from __future__ import annotations

import datetime as dt

from dialer.auth.models import Role
from dialer.calls.models import CallState
from dialer.campaigns.models import Campaign, CampaignStatus, DialMode
from dialer.kit.types import utcnow
from tests.calls_history.conftest import bearer
from tests.factories import make_case, make_client, make_user
from tests.scheduling.helpers import make_call



async def test_given_campaigns_of_two_teams_then_a_supervisor_sees_theirs_and_the_shared_one_with_their_work(
        api, app, session):
    now = utcnow()
    client = await make_client(session, code="BANKX")
    agent = await make_user(session, role=Role.AGENT, team="team-a")
    ours = Campaign(client_id=client.id, name="甲组", team="team-a", mode=DialMode.PROGRESSIVE,
                    status=CampaignStatus.RUNNING)
    shared = Campaign(client_id=client.id, name="全体", team=None)
    theirs = Campaign(client_id=client.id, name="乙组", team="team-b")
    session.add_all([ours, shared, theirs])
    held, aside, free = [await make_case(session, client=client, team="team-a") for _ in range(3)]
    held.held_by_agent_id, held.held_until = agent.id, now + dt.timedelta(minutes=10)
    aside.next_allowed_at, aside.blocked_rules = now + dt.timedelta(hours=1), "calling_window"
    await make_case(session, client=client, team="team-b")  # another team's: not in the campaign's queue
    await session.flush()
    live = await make_call(session, case=held, agent_id=agent.id, at=now - dt.timedelta(seconds=10),
                           state=CallState.BRIDGED)
    done = await make_call(session, case=free, agent_id=agent.id, at=now - dt.timedelta(minutes=5))
    live.outcome, live.campaign_id, done.campaign_id = None, ours.id, ours.id
    supervisor = await make_user(session, role=Role.SUPERVISOR, team="team-a")
    await session.commit()

    answer = await api.get("/v1/board/campaigns", headers=bearer(app, supervisor))

    assert answer.status_code == 200, answer.text
    rows = {c["name"]: c for c in answer.json()}
    assert set(rows) == {"甲组", "全体"}
    assert {k: rows["甲组"][k] for k in ("status", "mode", "client_code", "queue", "set_aside", "dials_last_minute",
                                        "live_calls")} == {
        "status": "running", "mode": "progressive", "client_code": "BANKX", "queue": 1, "set_aside": 1,
        "dials_last_minute": 1, "live_calls": 1}
    assert rows["全体"]["queue"] == 2  # every team's open cases of the client: team-a's free one and team-b's


async def test_given_an_agent_then_refused(api, headers):
    assert (await api.get("/v1/board/campaigns", headers=headers["agent"])).status_code == 403
