"""``dialer demo --carrier sip``: the shift over the SIP path with real peers on loopback (Kamailio,
the service's B2BUA, a media process, sipp as the trunk, baresip as the agents' softphones)."""

from __future__ import annotations

import datetime as dt
import os
import socket
import wave
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from dialer.audit.models import AuditEntry
from dialer.calls.models import Call
from dialer.cli import app
from dialer.demo import table
from dialer.demo.runner import DemoOptions, run_demo, shift_start
from dialer.demo.sip import MissingTools, check_tools, trunk_behaviour
from dialer.kit.db import create_engine, session_factory
from tests.sip.tones import AGENT_HZ, PARTY_HZ, segments_with

pytestmark = pytest.mark.timeout(300)

OUTCOME_OF = {"answer": "answered", "no_answer": "no_answer", "busy": "busy"}
SEED = 3
"""A portfolio whose first three dialed numbers are scripted no answer, busy and answer (the work
queue's order is the seed's, on a shift starting at 10:00 on a weekday, :func:`_ten_oclock`): a
20-second shift of two agents meets every outcome. If the seeding or the queue's order changes,
pick a seed that does again (the test's outcome check says so)."""


def _ten_oclock() -> dt.datetime:
    """10:00 in Shanghai on a coming weekday: the same hour whenever the test runs, so the same order."""
    return shift_start(dt.datetime.now(dt.UTC).replace(hour=16, minute=0))  # 00:00 there: that morning at ten


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _processes_under(directory: Path) -> dict[int, str]:
    """The processes whose command line or working directory is inside ``directory``: pid → name."""
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if str(directory) in command or cwd.startswith(str(directory)):
            found[int(entry.name)] = Path(command.split(" ", 1)[0]).name
    return found


def _adds_up(rows: list[table.Row]) -> list[str]:
    """The rows whose count is not the sum of the rows one deeper right under them."""
    wrong = []
    for i, (depth, label, count, _) in enumerate(rows):
        children = []
        for deeper, _, n, _ in rows[i + 1:]:
            if deeper <= depth:
                break
            if deeper == depth + 1:
                children.append(n)
        if children and sum(children) != count:
            wrong.append(f"{label}: {count} != {' + '.join(map(str, children))}")
    return wrong


async def test_given_the_sip_path_then_the_demo_shift_dials_records_in_two_channels_and_leaves_nothing_running(
        tmp_path: Path) -> None:
    data = tmp_path / "demo"
    lines: list[str] = []
    during: dict[int, str] = {}

    def out(line: str) -> None:
        lines.append(line)
        if line.startswith("[") and not during:  # the live table: the floor is up
            during.update(_processes_under(tmp_path))

    figures = await run_demo(DemoOptions(seconds=20, agents=2, cases=30, port=_free_port(), data_dir=data,
                                         keep_serving=False, carrier="sip", speed=1.0, seed=SEED,
                                         start=_ten_oclock(), out=out))

    # the floor ran as separate processes, and none of them is left
    assert {"kamailio", "sipp", "baresip"} <= set(during.values()), during
    assert any("python" in name for name in during.values()), during  # the media process
    assert _processes_under(tmp_path) == {}

    # every call went over SIP and ended the way the trunk's script says for its number
    engine = create_engine(f"sqlite+aiosqlite:///{data / 'demo.db'}")
    try:
        async with session_factory(engine)() as s:
            calls = list((await s.execute(select(Call).order_by(Call.id))).scalars())
            alarms = list((await s.execute(select(AuditEntry.detail).where(AuditEntry.action == "audit.chain_broken"))
                           ).scalars())
    finally:
        await engine.dispose()
    assert calls and {c.carrier for c in calls} == {"sip"}
    assert alarms == []  # the hash chains verified clean on the simulated clock (sealed on the wall clock)
    assert all(c.ended_at is not None for c in calls)
    assert [(c.to_e164, c.outcome) for c in calls] == [
        (c.to_e164, OUTCOME_OF[trunk_behaviour(c.to_e164 or "")]) for c in calls]
    assert {c.outcome for c in calls} == {"answered", "no_answer", "busy"}, f"seed {SEED} no longer meets every outcome"

    # the recordings: one two-channel 8 kHz WAV per answered call, the agent's tone in channel 1,
    # the party's in channel 2
    wavs = sorted((data / "sip-recordings").glob("*.wav"))
    assert len(wavs) == figures.outcomes["answered"] == figures.recordings_stored
    for path in wavs:
        with wave.open(str(path)) as wav:
            assert (wav.getnchannels(), wav.getframerate(), wav.getsampwidth()) == (2, 8000, 2), path.name
        assert sum(e - s for s, e in segments_with(path, AGENT_HZ, channel=0)) > 2.0, path.name
        assert sum(e - s for s, e in segments_with(path, PARTY_HZ, channel=1)) > 2.0, path.name
        assert not segments_with(path, PARTY_HZ, channel=0) and not segments_with(path, AGENT_HZ, channel=1)

    # the summary adds up, says what the far end was and where the recordings are
    assert figures.live == 0 and figures.placed == len(calls) == sum(figures.outcomes.values())
    assert sum(figures.notes.values()) == figures.placed  # every call noted
    assert _adds_up(table.summary_rows(figures)) == []
    assert all(sum(far.values()) == figures.outcomes[outcome] for outcome, far in figures.far_ends.items())
    text = "\n".join(lines)
    assert "Summary of the simulated shift" in text and "(x1)" in text and "sipp" in text
    assert f"recordings: {len(wavs)} two-channel WAVs" in text and str((data / "sip-recordings").resolve()) in text
    assert figures.sessions_open == 0  # every agent logged out


def test_given_missing_tools_then_the_sip_demo_names_the_apt_get_line() -> None:
    with pytest.raises(MissingTools) as raised:
        check_tools(present=lambda tool: tool not in ("sipp", "baresip", "db_sqlite.so"))
    assert "sudo apt-get install -y baresip-core kamailio-sqlite-modules sip-tester" in str(raised.value)


def test_given_this_machine_then_every_tool_the_sip_demo_needs_is_found() -> None:
    check_tools()  # scripts/ensure-sip-tools.sh installs them; no test is skipped for a missing tool


def test_given_the_sip_carrier_and_a_speed_then_the_demo_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--carrier", "sip", "--speed", "20", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2 and "real time" in result.output
    assert not tmp_path.joinpath("demo.db").exists()
