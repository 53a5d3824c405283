"""``dialer demo`` works the whole loop: seeded portfolio, progressive agents, notes, recordings."""

from __future__ import annotations

import datetime as dt
import socket

import pytest
from sqlalchemy import func, select

from dialer.agents.models import AgentSession
from dialer.calls.models import Call
from dialer.demo.runner import DemoOptions, run_demo, shift_start
from dialer.kit.db import create_engine, session_factory
from dialer.notes.models import WrapUpNote

pytestmark = pytest.mark.timeout(240)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_given_a_fresh_directory_then_the_demo_places_calls_notes_them_and_stores_recordings(tmp_path):
    """``dialer demo --exit``: the shift, its summary, and no agent session left open."""
    lines: list[str] = []
    options = DemoOptions(seconds=10, agents=3, cases=40, port=_free_port(), data_dir=tmp_path / "demo",
                          keep_serving=False, out=lines.append)
    figures = await run_demo(options)

    assert figures.placed >= 3 and figures.live == 0
    assert sum(figures.outcomes.values()) == figures.placed
    assert figures.recordings_stored == figures.outcomes["answered"] and figures.recordings_pending == 0
    assert figures.refusals["stop_contact"] >= 1  # the seeded stopped accounts were set aside, with their rule
    assert any(line.startswith("[") and "calls" in line for line in lines)  # the live table
    assert "Summary" in "\n".join(lines) and any("/desktop" in line for line in lines)
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'demo' / 'demo.db'}")
    try:
        async with session_factory(engine)() as s:
            calls = (await s.execute(select(func.count()).select_from(Call))).scalar_one()
            notes = (await s.execute(select(func.count()).select_from(WrapUpNote))).scalar_one()
            still_in = (await s.execute(select(func.count()).select_from(AgentSession)
                                        .where(AgentSession.ended_at.is_(None)))).scalar_one()
    finally:
        await engine.dispose()
    assert notes == calls  # every call was noted before the agent's next one
    assert still_in == 0 and figures.sessions_open == 0  # every agent logged out at the end of the shift


@pytest.mark.parametrize(("utc", "expected_local"), [
    ("2026-11-24T03:00:00+00:00", "2026-11-24T11:00"),  # Tuesday 11:00 in Shanghai: now
    ("2026-11-24T14:00:00+00:00", "2026-11-25T10:00"),  # 22:00: the next morning
    ("2026-11-27T13:00:00+00:00", "2026-11-30T10:00"),  # Friday 21:00: Monday morning
    ("2026-11-23T23:30:00+00:00", "2026-11-24T10:00"),  # 07:30: this morning at ten
])
def test_given_the_time_of_day_then_the_simulated_shift_starts_in_working_hours(utc, expected_local):
    start = shift_start(dt.datetime.fromisoformat(utc))
    assert start.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%dT%H:%M") == expected_local

