"""The desktop's event stream (GET /v1/agent/events) and the page's files."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator

import pytest

from dialer.desktop.events import desk_stream
from dialer.live.bus import Bus, Event
from tests.e2e.conftest import seat_agent_with_case

pytestmark = pytest.mark.timeout(60)


def _bus() -> Bus:
    async def no_backlog(after: int, limit: int) -> list[Event]:
        return []

    return Bus(backlog=no_backlog)


def _event(n: int, agent_id: int = 7) -> Event:
    return Event(n, dt.datetime(2026, 12, 5, tzinfo=dt.UTC), "agent", {"agent_id": agent_id})


async def test_given_events_about_the_agent_then_the_desk_is_read_once_per_burst_and_sent_when_it_changed():
    bus = _bus()
    desks = iter([{"state": "ready"}, {"state": "ready"}, {"state": "on_call"}])
    reads = 0

    async def load():
        nonlocal reads
        reads += 1
        return next(desks)

    with await bus.subscribe(agent_id=7) as subscription:
        stream = desk_stream(load, subscription, resync_s=60)
        first = await anext(stream)
        bus.deliver(_event(1))  # nothing on the desk changed: read, not sent
        bus.deliver(_event(2, agent_id=8))  # another agent's: not even read
        pending = asyncio.ensure_future(anext(stream))
        await asyncio.sleep(0.05)
        assert reads == 2 and not pending.done()
        for n in (3, 4, 5):  # a burst: one read
            bus.deliver(_event(n))
        second = await asyncio.wait_for(pending, 5)
        await stream.aclose()

    assert (first.event, first.data, first.id, first.retry) == ("desk", '{"state":"ready"}', "0", 2000)
    assert (second.event, second.data, second.id) == ("desk", '{"state":"on_call"}', "5")
    assert reads == 3


async def test_given_no_event_for_the_resync_time_then_the_desk_is_read_again():
    bus = _bus()
    reads = 0

    async def load():
        nonlocal reads
        reads += 1
        return {"reads": reads}

    with await bus.subscribe(agent_id=7) as subscription:
        stream = desk_stream(load, subscription, resync_s=0.01)
        assert json.loads((await anext(stream)).data) == {"reads": 1}
        assert json.loads((await asyncio.wait_for(anext(stream), 5)).data) == {"reads": 2}
        await stream.aclose()
    assert bus.subscribers == 0


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
