"""The desktop's event stream (GET /v1/agent/events) and the page's files."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from dialer.desktop.events import desk_stream
from tests.e2e.conftest import seat_agent_with_case

pytestmark = pytest.mark.timeout(60)


async def test_given_a_desk_that_changes_twice_then_two_events_and_a_keep_alive_in_the_quiet_between():
    clock = [0.0]
    seen = [{"state": "ready"}, {"state": "ready"}, {"state": "ready"}, {"state": "on_call"}]
    loads = 0

    async def load():
        nonlocal loads
        clock[0] += 10.0  # each poll, ten seconds pass
        loads += 1
        return seen[loads - 1]

    async def disconnected():
        return loads >= len(seen)

    out = [chunk async for chunk in desk_stream(load, disconnected=disconnected, poll_s=0, keepalive_s=15,
                                                 clock=lambda: clock[0])]

    assert out == [
        "retry: 2000\n\n",
        'id: 1\nevent: desk\ndata: {"state":"ready"}\n\n',
        ": keep-alive\n\n",  # 20 s after the first event, none since
        'id: 2\nevent: desk\ndata: {"state":"on_call"}\n\n',
    ]


async def test_given_a_client_gone_then_the_stream_ends_without_loading():
    async def load():
        raise AssertionError("no poll after the client left")

    async def gone():
        return True

    assert [chunk async for chunk in desk_stream(load, disconnected=gone)] == ["retry: 2000\n\n"]


async def _events(response) -> AsyncIterator[dict]:
    block: list[str] = []
    async for line in response.aiter_lines():
        if line:
            block.append(line)
            continue
        fields = dict(part.split(": ", 1) for part in block if not part.startswith(":") and ": " in part)
        block = []
        if fields.get("event") == "desk":
            yield json.loads(fields["data"])


async def test_given_an_agent_then_the_stream_sends_their_state_and_held_case_as_they_change(live_factory, session):
    desk = await seat_agent_with_case(session, ready=False, held=False)
    live = live_factory()
    token = await live.login(desk.username)
    async with live.client(token) as http, live.client(token) as actions:
        async with http.stream("GET", "/v1/agent/events") as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            events = _events(response)
            first = await asyncio.wait_for(anext(events), 10)
            assert first["session"]["state"] == "not_ready" and first["session"]["seat"]["id"] == desk.seat_id
            assert (first["call"], first["held_case_id"]) == (None, None)

            assert (await actions.post("/v1/agent/state", json={"state": "ready"})).status_code == 200
            assert (await asyncio.wait_for(anext(events), 10))["session"]["state"] == "ready"

            assert (await actions.get("/v1/agent/next")).status_code == 200
            held = await asyncio.wait_for(anext(events), 10)
            assert (held["session"]["state"], held["held_case_id"]) == ("reserved", desk.case_id)

            called = await actions.post("/v1/calls", json={"number_id": desk.number_id})
            assert called.status_code == 201, called.text
            while True:  # then the call, as it moves on (state, whisper text)
                event = await asyncio.wait_for(anext(events), 15)
                if event["call"] is not None:
                    break
            assert event["call"]["id"] == called.json()["id"] and event["session"]["current_call_id"] == event["call"]["id"]


async def test_given_no_token_then_the_stream_is_refused(live_factory):
    live = live_factory()
    async with live.client() as http:
        answer = await http.get("/v1/agent/events")
    assert answer.status_code == 401 and answer.json()["error"] == "unauthenticated"


async def test_given_the_desktop_url_then_the_page_and_its_two_assets_are_served(api):
    page = await api.get("/desktop")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'src="/desktop/desktop.js"' in page.text and 'data-testid="login-form"' in page.text
    script = await api.get("/desktop/desktop.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert (await api.get("/desktop/desktop.css")).headers["content-type"].startswith("text/css")
    missing = await api.get("/desktop/secret.txt")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
