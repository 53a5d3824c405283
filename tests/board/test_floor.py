"""``GET /v1/board/floor`` and ``GET /v1/board/events``: a supervisor sees their team's agents and
only their events, live (through the bus, on both databases), resumable with Last-Event-ID; an
admin sees every team; an agent is refused."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from dialer.auth.models import Role
from tests.e2e.conftest import seat_agent_with_case
from tests.factories import make_user

pytestmark = pytest.mark.timeout(90)


async def _sse(response) -> AsyncIterator[tuple[str, str | None, dict]]:
    """``(event, id, data)`` for each event of an SSE response (comments skipped)."""
    block: list[str] = []
    async for line in response.aiter_lines():
        if line:
            block.append(line)
            continue
        fields = dict(part.split(": ", 1) for part in block if not part.startswith(":") and ": " in part)
        block = []
        if "event" in fields:
            yield fields["event"], fields.get("id"), json.loads(fields.get("data") or "{}")


async def _next_agent_event(events: AsyncIterator, agent_id: int) -> tuple[str | None, dict]:
    while True:
        name, event_id, data = await asyncio.wait_for(anext(events), 15)
        if name == "agent" and data.get("agent_id") == agent_id:
            return event_id, data


async def test_given_two_teams_then_a_supervisor_sees_their_own_floor_live_and_resumes_after_an_id(
        live_factory, session):
    mine = await seat_agent_with_case(session, ready=False, team="team-a")
    theirs = await seat_agent_with_case(session, ready=False, team="team-b")
    await make_user(session, username="sup-a", role=Role.SUPERVISOR, team="team-a")
    await make_user(session, username="admin-x", role=Role.ADMIN, team=None)
    await session.commit()
    live = live_factory()
    sup, admin = await live.login("sup-a"), await live.login("admin-x")
    agent_a, agent_b = await live.login(mine.username), await live.login(theirs.username)

    async with live.client(sup) as board, live.client(agent_a) as desk_a, live.client(agent_b) as desk_b:
        floor = (await board.get("/v1/board/floor")).json()
        assert [a["agent_id"] for a in floor["agents"]] == [mine.agent_id]
        assert floor["agents"][0]["state"] == "not_ready" and floor["agents"][0]["call"] is None
        assert floor["thresholds"] == {"long_call_s": 900, "long_wrap_up_s": 180, "long_not_ready_s": 900,
                                       "long_idle_s": 120}

        async with board.stream("GET", "/v1/board/events") as response:
            assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
            events = _sse(response)
            assert (await desk_b.post("/v1/agent/state", json={"state": "ready"})).status_code == 200  # not shown
            assert (await desk_a.post("/v1/agent/state", json={"state": "ready"})).status_code == 200
            ready_id, ready = await _next_agent_event(events, mine.agent_id)
            assert (ready["from"], ready["to"], ready["seat_id"]) == ("not_ready", "ready", mine.seat_id)
            assert int(ready_id) > floor["last_event_id"]

        # the board was closed: two changes meanwhile, one of another team
        assert (await desk_a.post("/v1/agent/state", json={"state": "not_ready", "reason": "break"})).status_code == 200
        assert (await desk_b.post("/v1/agent/state", json={"state": "not_ready", "reason": "break"})).status_code == 200
        async with board.stream("GET", "/v1/board/events", headers={"Last-Event-ID": ready_id}) as response:
            events = _sse(response)
            assert (await asyncio.wait_for(anext(events), 15))[0] == "ready"
            name, _, missed = await asyncio.wait_for(anext(events), 15)  # the first one after the id: mine
            assert (name, missed["agent_id"], missed["to"], missed["reason"]) == (
                "agent", mine.agent_id, "not_ready", "break")

    async with live.client(admin) as everyone:
        agents = (await everyone.get("/v1/board/floor")).json()["agents"]
        assert {a["agent_id"] for a in agents} == {mine.agent_id, theirs.agent_id}
        only_b = (await everyone.get("/v1/board/floor", params={"team": "team-b"})).json()["agents"]
        assert [a["agent_id"] for a in only_b] == [theirs.agent_id]


async def test_given_an_agent_then_the_board_is_refused(api, headers):
    for path in ("/v1/board/floor", "/v1/board/events"):
        answer = await api.get(path, headers=headers["agent"])
        assert answer.status_code == 403 and answer.json()["error"] == "forbidden", path


async def test_given_a_supervisor_of_no_team_then_the_floor_shows_nobody(api, app, session):
    await seat_agent_with_case(session, ready=True, team="team-a")
    lone = await make_user(session, role=Role.SUPERVISOR, team=None)
    await session.commit()
    container = app.state.container
    token, _ = container.tokens.issue(user_id=lone.id, role=lone.role, now=container.clock())

    answer = await api.get("/v1/board/floor", headers={"Authorization": f"Bearer {token}"})

    assert answer.status_code == 200 and answer.json()["agents"] == []


async def test_given_two_replicas_then_a_change_made_on_one_reaches_a_board_following_the_other(live_factory, session):
    """Two services on one database (replicas behind a balancer): the agent's request lands on the
    first, the supervisor's board follows the second — the bus carries the change across."""
    mine = await seat_agent_with_case(session, ready=False, team="team-a")
    await make_user(session, username="sup-r", role=Role.SUPERVISOR, team="team-a")
    await session.commit()
    first, second = live_factory(), live_factory()
    agent = await first.login(mine.username)
    sup = await second.login("sup-r")

    async with second.client(sup) as board, first.client(agent) as desk:
        async with board.stream("GET", "/v1/board/events") as response:
            events = _sse(response)
            assert (await asyncio.wait_for(anext(events), 15))[0] == "ready"
            assert (await desk.post("/v1/agent/state", json={"state": "ready"})).status_code == 200
            _, told = await _next_agent_event(events, mine.agent_id)
    assert (told["from"], told["to"]) == ("not_ready", "ready")
    async with second.client(sup) as board:
        floor = (await board.get("/v1/board/floor")).json()
    assert [a["state"] for a in floor["agents"]] == ["ready"]
