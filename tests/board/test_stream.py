"""Whose events a board stream passes on, and how it tells a board to read the floor afresh."""

from __future__ import annotations

import datetime as dt

import pytest

from dialer.board.stream import Members, board_stream
from dialer.live.bus import Bus, Event

pytestmark = pytest.mark.timeout(30)
AT = dt.datetime(2026, 12, 5, 9, 0, tzinfo=dt.UTC)


async def test_given_a_team_then_its_agents_pass_and_a_newcomer_is_found_by_one_read_per_reload_time():
    now = [0.0]
    team = {1, 2}
    reads = 0

    async def load():
        nonlocal reads
        reads += 1
        return set(team)

    members = Members(load, reload_s=10, clock=lambda: now[0])
    await members.start()
    assert await members.admits(1) and not await members.admits(None)
    assert not await members.admits(3) and reads == 1  # read at start, under ten seconds ago
    team.add(3)
    now[0] = 11
    assert await members.admits(3) and reads == 2
    assert not await members.admits(4) and reads == 2  # just read: not again


async def test_given_nobody_then_none_pass_and_given_everyone_then_all_do():
    async def nobody():
        return set()

    async def everyone():
        return None

    lone, admin = Members(nobody, reload_s=0), Members(everyone)
    await lone.start()
    await admin.start()
    assert not await lone.admits(1)
    assert await admin.admits(1) and await admin.admits(None)


async def test_given_a_stream_that_fell_behind_then_the_board_is_told_to_resync(monkeypatch):
    from dialer.live import bus as bus_module

    async def no_backlog(after, limit):
        return []

    async def everyone():
        return None

    monkeypatch.setattr(bus_module, "QUEUE_LIMIT", 3)
    bus = Bus(backlog=no_backlog)
    members = Members(everyone)
    await members.start()
    with await bus.subscribe() as subscription:
        for n in range(1, 5):  # the fourth finds the queue full: emptied, and told to read afresh
            bus.deliver(Event(n, AT, "agent", {"agent_id": 1}))
        bus.deliver(Event(5, AT, "no_such_topic", {"agent_id": 1}))  # not the board's: skipped
        bus.deliver(Event(6, AT, "call", {"agent_id": 1, "state": "ringing"}))
        stream = board_stream(subscription, members)
        ready = await anext(stream)
        told = [await anext(stream), await anext(stream)]
        await stream.aclose()

    assert (ready.event, ready.data, ready.retry) == ("ready", '{"last_event_id": 6}', 2000)
    assert [(e.event, e.id) for e in told] == [("resync", None), ("call", "6")]
    assert '"state":"ringing"' in told[1].data and '"at":"2026-12-05T09:00:00+00:00"' in told[1].data


async def test_given_the_board_pages_then_each_is_served_and_nothing_outside_its_directory(api):
    page = await api.get("/board")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert (await api.get("/board/board.js")).headers["content-type"].startswith("text/javascript")
    assert (await api.get("/board/board.css")).headers["content-type"].startswith("text/css")
    for name in ("index.html", "secret.txt", "..%2Fpages.py", ".hidden.js", "nothing.js"):
        missing = await api.get(f"/board/{name}")
        assert missing.status_code == 404 and missing.json()["error"] == "not_found", name
