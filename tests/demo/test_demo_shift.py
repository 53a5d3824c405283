"""``dialer demo``'s shift from start to end, run once (a few seconds of it): the caps refuse the
parties seeded at them, the summary's figures add up, the agents log out at the end of the shift,
each recording has its own audio, every demo user and the line pointing the CLI at the demo's data
are printed, and afterwards the service runs in real time."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import socket
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from dialer.agents.models import AgentSession
from dialer.calls.models import Recording, RecordingStatus
from dialer.demo.portfolio import PASSWORD
from dialer.demo.runner import DemoOptions, run_demo
from dialer.demo.table import Figures
from dialer.kit.db import create_engine, session_factory
from dialer.notes.models import WrapUpNote

pytestmark = pytest.mark.timeout(240)


@dataclass
class Ran:
    figures: Figures
    lines: list[str]
    data_dir: Path
    service_time: dt.datetime  # what the service's clock said after the summary, asked through the API
    real_time: dt.datetime  # the real time then


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> Ran:
    """A six-second demo that stays up after its summary until the service's clock was asked."""
    data_dir = tmp_path_factory.mktemp("demo") / "demo"
    port, lines = _free_port(), list[str]()

    async def main() -> Ran:
        until = asyncio.Event()
        options = DemoOptions(seconds=6, agents=3, cases=40, port=port, data_dir=data_dir, keep_serving=True,
                              serve_until=until, out=lines.append)
        demo = asyncio.create_task(run_demo(options))
        try:
            while not any(line.startswith("serving until") for line in lines):
                assert not demo.done(), "the demo ended before serving"
                await asyncio.sleep(0.1)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
                login = await http.post("/v1/auth/token", json={"username": "demo-supervisor", "password": PASSWORD})
                http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
                checked = await http.post("/v1/compliance/check", json={"party_id": 1})
                real = dt.datetime.now(dt.UTC)
        finally:
            until.set()
        figures = await demo
        return Ran(figures, lines, data_dir, dt.datetime.fromisoformat(checked.json()["at"]), real)

    return asyncio.run(main())


def _read(data_dir: Path, query):
    async def go():
        engine = create_engine(f"sqlite+aiosqlite:///{data_dir / 'demo.db'}")
        try:
            async with session_factory(engine)() as session:
                return (await session.execute(query)).all()
        finally:
            await engine.dispose()

    return asyncio.run(go())


def _summary_rows(lines: list[str]) -> list[tuple[int, str, int]]:
    """The summary table's rows: (depth, label, count)."""
    text = "\n".join(lines)
    table = text[text.index("Summary of the simulated shift"):text.index("agent desktop")]
    rows = []
    for line in table.splitlines():
        if match := re.match(r"^ {0,5}(\d+)  ( *)(\S.*?)(?: {3,}.*)?$", line):
            rows.append((len(match[2]) // 2, match[3].strip(), int(match[1])))
    return rows


def _adds_up(rows: list[tuple[int, str, int]]) -> list[str]:
    """Every row with rows one deeper under it counts their sum; the rows that do not."""
    wrong = []
    for i, (depth, label, count) in enumerate(rows):
        parts = []
        for deeper, _, n in rows[i + 1:]:
            if deeper <= depth:
                break
            if deeper == depth + 1:
                parts.append(n)
        if parts and sum(parts) != count:
            wrong.append(f"{label}: {count} != {' + '.join(map(str, parts))}")
    return wrong


def test_given_the_demo_ended_then_no_agent_session_is_open(ran):
    [(open_sessions,)] = _read(ran.data_dir, select(func.count()).select_from(AgentSession)
                               .where(AgentSession.ended_at.is_(None)))
    [(sessions,)] = _read(ran.data_dir, select(func.count()).select_from(AgentSession))

    assert sessions == 3 and open_sessions == 0
    assert ran.figures.sessions_open == 0
    assert ("0", "agent sessions open") in [(str(n), label) for _, label, n in _summary_rows(ran.lines)]


def test_given_the_demo_summary_then_its_refusals_add_up(ran):
    rows = _summary_rows(ran.lines)
    labels = [label for _, label, _ in rows]
    top = labels.index("refused by the policy (cases and dials)")
    block = [rows[top]]
    for row in rows[top + 1:]:
        if row[0] == 0:
            break
        block.append(row)
    f = ran.figures

    assert _adds_up(block) == [] and _adds_up(rows) == []
    assert [label for depth, label, _ in block if depth == 1] == ["cases set aside before dialing",
                                                                 "dials refused at reservation"]
    assert rows[top][2] == f.parked + f.refused_dials and f.parked == sum(f.set_aside.values()) > 0
    assert sum(f.outcomes.values()) + f.live == f.placed


def test_given_parties_seeded_at_their_caps_then_the_demo_shows_a_cap_rule_among_its_refusals(ran):
    capped = [rules for rules in ran.figures.set_aside if re.search(r"_cap\b", rules)]

    assert capped, ran.figures.set_aside
    assert re.search(r"^ +\d+ +\S*_cap\b", "\n".join(ran.lines), re.MULTILINE)  # in the printed table too


def test_given_the_shift_recordings_then_each_has_its_own_audio(ran):
    stored = _read(ran.data_dir, select(Recording.sha256, Recording.duration_s)
                   .where(Recording.status == RecordingStatus.STORED))

    assert stored and len({sha for sha, _ in stored}) == len(stored)
    assert ran.figures.audio_files == ran.figures.recordings_stored == len(stored)


def test_given_voicemails_answered_then_the_agents_noted_voicemail(ran):
    [(noted,)] = _read(ran.data_dir, select(func.count()).select_from(WrapUpNote)
                       .where(WrapUpNote.contact_status == "voicemail"))

    assert noted == ran.figures.far_ends.get("answered", {}).get("voicemail", 0)


def test_given_the_summary_then_every_demo_user_and_the_cli_line_are_printed(ran):
    text = "\n".join(ran.lines)
    url = f"sqlite+aiosqlite:///{(ran.data_dir / 'demo.db').resolve()}"

    for user, role in [("demo-agent-1", "agent"), ("demo-agent-3", "agent"), ("demo-supervisor", "supervisor"),
                       ("demo-admin", "admin")]:
        assert re.search(rf"^  {user} +{role}\b", text, re.MULTILINE), user
    assert f"password {PASSWORD}" in text
    assert f"export DIALER_DATABASE_URL={url} DIALER_DATA_DIR={ran.data_dir.resolve()}" in text


def test_given_the_service_stays_up_then_it_runs_in_real_time_and_says_so(ran):
    assert abs((ran.service_time - ran.real_time).total_seconds()) < 10
    assert any(line.startswith("From now on the service, the desktop and the Twilio emulator run in real time")
               for line in ran.lines)
