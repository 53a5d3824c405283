"""Issue #18 end to end, with a real ``kill -9``: the service (``dialer serve``) and the Twilio
emulator (``dialer twilio-emulator``) run as processes of their own, and the emulator outlives the
service. Agents are on calls when the service is killed; while it is down the carrier goes on
(parties hang up, parties answer into a TwiML URL that no longer answers, seats answer legs whose
ids were never written down) and every callback about it is lost. The service is started again on
the same port. Within a minute no call is open and no agent is held in reserved, dialing or on-call;
no leg is left up at the carrier; and every recording the carrier made is stored — those whose
callbacks were lost through the recovery (``recordings.capture.recover_unreported``), once their
calls ended two minutes ago. Each run prints how long the restarted service took to a clean floor."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from dialer.agents.models import AgentSession, AgentState
from dialer.agents.states import LIVE
from dialer.calls.lifecycle import ENDS
from dialer.calls.models import Call, CallState, Recording, RecordingStatus
from dialer.kit.db import is_postgres, session_factory, writer_engine
from tests.conftest import TEST_SECRET
from tests.e2e.conftest import (AGENCY, DIALER, Desk, Process, api_client, environment, eventually, log_in,
                                quiet_port, seat_agent_with_case, seat_of, start_process)
from twilio_emulator.app import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN

pytestmark = pytest.mark.timeout(300)

CLEAN_WITHIN_S = 60.0
REST = f"/2010-04-01/Accounts/{DEFAULT_ACCOUNT_SID}"
TERMINAL_LEG = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})
STAYS = {"behaviour": "answer", "ring_seconds": 0.3, "hangup_first": "caller"}  # on the line until ended
GROUPS: dict[str, dict[str, Any]] = {
    "ends_while_down": STAYS,  # bridged at the kill; the party hangs up (at the carrier) while we are down
    "talks_through": STAYS,  # bridged at the kill; still talking after the restart, until the agent hangs up
    # ringing at the kill; answers while we are down: its TwiML cannot be fetched, so it drops, and the
    # agent's leg waits alone in the conference, where only the service can hang it up
    "answers_while_down": {"behaviour": "answer", "ring_seconds": 12, "talk_seconds": 30},
}


@dataclass
class Agent:
    desk: Desk
    group: str
    number: str
    token: str = ""

    @property
    def id(self) -> int:
        return self.desk.agent_id


@dataclass
class Site:
    """The emulator's process, and how the service's is started (always on the same port: the
    carrier calls back the URLs it was given)."""

    emulator: Process
    url: str
    env: dict[str, str]
    work: Path
    starts: int = 0

    def serve(self, processes: list[Process]) -> Process:
        self.starts += 1
        service = start_process([str(DIALER), "serve", "--no-access-log"], env=self.env, cwd=self.work, url=self.url,
                                ready_path="/readyz", log=self.work / f"service-{self.starts}.log")
        processes.append(service)
        return service

    def carrier(self, method: str, path: str, **kwargs: Any) -> Any:
        """The emulator's REST API, as Twilio's."""
        answer = httpx.request(method, f"{self.emulator.url}{REST}{path}", timeout=10,
                               auth=(DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN), **kwargs)
        answer.raise_for_status()
        return answer.json()

    def legs(self) -> dict[str, str]:
        """Every leg at the carrier, and its status."""
        calls = self.carrier("GET", "/Calls.json", params={"PageSize": 1000})["calls"]
        return {leg["sid"]: leg["status"] for leg in calls}

    def recordings(self) -> list[dict[str, Any]]:
        return list(self.carrier("GET", "/Recordings.json", params={"PageSize": 1000})["recordings"])

    def scenario(self, **changes: Any) -> None:
        """Change how the carrier behaves from now on."""
        scenario = json.loads((self.work / "scenario.json").read_text()) | changes
        httpx.put(f"{self.emulator.url}/_emulator/scenario", json=scenario, timeout=10).raise_for_status()

    def deliveries(self) -> list[dict[str, Any]]:
        """Every callback the emulator sent or tried to send, with the answer or the error."""
        answer = httpx.get(f"{self.emulator.url}/_emulator/deliveries", timeout=10)
        answer.raise_for_status()
        return list(answer.json())


def open_site(processes: list[Process], *, db_url: str, work: Path, agents: list[Agent],
              groups: dict[str, dict[str, Any]] = GROUPS, **carrier: Any) -> Site:
    """The emulator started (every seat answering at once, each agent's party as their group says,
    ``carrier``'s settings), and the settings of a service pointed at it."""
    numbers: dict[str, Any] = {}
    for agent in agents:
        numbers[seat_of(agent.desk.seat_identity)] = STAYS
        numbers[agent.number] = groups[agent.group]
    scenario = work / "scenario.json"
    scenario.write_text(json.dumps({"speed": 1, "cps": 50, "say_seconds_per_char": 0.01, "numbers": numbers,
                                    **carrier}))
    emulator_port, port = quiet_port(), quiet_port()
    emulator_url, url = f"http://127.0.0.1:{emulator_port}", f"http://127.0.0.1:{port}"
    emulator = start_process([str(DIALER), "twilio-emulator", "--port", str(emulator_port), "--scenario", str(scenario)],
                             env=environment(), cwd=work, url=emulator_url, ready_path="/_emulator/health",
                             log=work / "emulator.log")
    processes.append(emulator)
    env = environment(
        DIALER_DATABASE_URL=db_url, DIALER_DATA_DIR=str(work / "data"), DIALER_SECRET_KEY=TEST_SECRET,
        DIALER_HOST="127.0.0.1", DIALER_PORT=str(port), DIALER_PUBLIC_BASE_URL=url,
        DIALER_TWILIO_ACCOUNT_SID=DEFAULT_ACCOUNT_SID, DIALER_TWILIO_AUTH_TOKEN=DEFAULT_AUTH_TOKEN,
        DIALER_TWILIO_API_BASE_URL=emulator_url, DIALER_TWILIO_CALLER_ID=AGENCY, DIALER_TWILIO_CALLS_PER_SECOND="50",
        DIALER_RECORDING_CAPTURE_EVERY_S="1", DIALER_LOG_LEVEL="WARNING",
    )
    return Site(emulator, url, env, work)


async def seat_agents(session: AsyncSession, groups: dict[str, int], *, first_number: int) -> list[Agent]:
    """``groups[name]`` agents in each group, each at a seat of their own with a case (its own
    number) to dial."""
    agents = []
    for n, group in enumerate(name for name, count in groups.items() for _ in range(count)):
        number = f"+86139{first_number + n:08d}"
        agents.append(Agent(await seat_agent_with_case(session, numbers=(number,)), group, number))
    return agents


async def dial(site: Site, agents: list[Agent]) -> list[int]:
    """Every agent logged in and dialing their case (preview): the calls' ids."""
    dialed = []
    for agent in agents:
        agent.token = await log_in(site.url, agent.desk.username)
        async with api_client(site.url, agent.token) as http:
            answer = await http.post("/v1/calls", json={"number_id": agent.desk.number_id})
        assert answer.status_code == 201, answer.text
        dialed.append(int(answer.json()["id"]))
    return dialed


async def calls_by_agent(sessions: async_sessionmaker[AsyncSession]) -> dict[int, Call]:
    async with sessions() as s:
        return {c.agent_id: c for c in (await s.execute(select(Call))).scalars() if c.agent_id is not None}


async def floor_clean(sessions: async_sessionmaker[AsyncSession],
                      ) -> tuple[dict[int, Call], dict[int, AgentSession]] | None:
    """The calls and the agents on duty, once no call is open and no agent is held by one."""
    calls = await calls_by_agent(sessions)
    async with sessions() as s:
        rows = (await s.execute(select(AgentSession).where(AgentSession.ended_at.is_(None)))).scalars()
        on = {a.agent_id: a for a in rows}
    if any(c.state not in ENDS for c in calls.values()) or any(a.state in LIVE for a in on.values()):
        return None
    return calls, on


@dataclass
class Restarted:
    site: Site
    agents: list[Agent]
    calls: dict[int, Call]
    down: list[str]  # the parties' legs that ended while the service was down
    lost: set[str]  # the recordings whose callbacks found the service down
    restarted_at: float
    clean_s: float


async def crash_and_restart(*, db_url: str, session: AsyncSession, engine: AsyncEngine, work: Path,
                            processes: list[Process]) -> Restarted:
    """Six agents on calls, ``kill -9``, the carrier going on, the restart; asserts that within
    ``CLEAN_WITHIN_S`` of the restart the floor is clean and no leg is left up at the carrier."""
    agents = await seat_agents(session, dict.fromkeys(GROUPS, 2), first_number=10000)
    site = open_site(processes, db_url=db_url, work=work, agents=agents)
    sessions = session_factory(engine)
    group = {name: [a for a in agents if a.group == name] for name in GROUPS}
    service = site.serve(processes)
    await dial(site, agents)

    async def four_talking_two_ringing() -> dict[int, Call] | None:
        calls = await calls_by_agent(sessions)
        talking = all(a.id in calls and calls[a.id].state is CallState.BRIDGED
                      for a in group["ends_while_down"] + group["talks_through"])
        if not (talking and all(a.id in calls and calls[a.id].carrier_call_id for a in group["answers_while_down"])):
            return None
        legs = site.legs()
        return calls if all(legs[str(calls[a.id].carrier_call_id)] == "ringing"
                            for a in group["answers_while_down"]) else None

    calls = await eventually(four_talking_two_ringing, timeout=30, what="four calls bridged, two parties ringing")
    party = {a.id: str(calls[a.id].carrier_call_id) for a in agents}

    # kill -9; meanwhile two parties hang up and two answer (into a dead TwiML URL)
    service.kill()
    killed_at = time.monotonic()
    for agent in group["ends_while_down"]:
        site.carrier("POST", f"/Calls/{party[agent.id]}.json", data={"Status": "completed"})
    down = [party[a.id] for a in group["ends_while_down"] + group["answers_while_down"]]
    await eventually(lambda: all(site.legs()[sid] in TERMINAL_LEG for sid in down), timeout=30,
                     what="those parties' legs to end at the carrier")
    told = [d for d in site.deliveries() if d["kind"] == "status" and d["resource_sid"] in down
            and d["params"].get("CallStatus") == "completed"]
    assert len(told) == len(down) and all(d["error"] for d in told), "the carrier told their ends to a service that was down"

    restarted_at = time.monotonic()
    site.serve(processes)
    serving_s = time.monotonic() - restarted_at

    # the calls the carrier ended meanwhile are settled against it; the live ones carry on
    ended = [a.id for a in group["ends_while_down"] + group["answers_while_down"]]

    async def settled() -> dict[int, Call] | None:
        calls = await calls_by_agent(sessions)
        return calls if all(calls[a].state in ENDS for a in ended) else None

    calls = await eventually(settled, timeout=CLEAN_WITHIN_S, what="the calls ended while down to be settled")
    settled_s = time.monotonic() - restarted_at
    assert {(calls[a].state, "settled by the reconciler" in (calls[a].error_detail or "")) for a in ended} == \
        {(CallState.COMPLETED, True)}
    assert {calls[a.id].state for a in group["talks_through"]} == {CallState.BRIDGED}

    for agent in group["talks_through"]:  # the agents end their calls, as on any day
        async with api_client(site.url, agent.token) as http:
            assert (await http.post(f"/v1/calls/{calls[agent.id].id}/hang-up")).status_code == 200

    calls, on = await eventually(lambda: floor_clean(sessions), timeout=CLEAN_WITHIN_S - (time.monotonic() - restarted_at),
                                 what="no call open and no agent held")
    clean_s = time.monotonic() - restarted_at
    assert {on[a.id].state for a in agents} == {AgentState.WRAP_UP}  # every call was placed: a note is due
    assert len(calls) == len(agents)  # and nothing new was dialed meanwhile

    # no leg left up: the agents' legs left alone in their conferences were hung up by the service
    # (nothing else would end them), and it heard of their end
    def every_leg_ended_and_told() -> list[dict[str, Any]] | None:
        if not all(status in TERMINAL_LEG for status in site.legs().values()):
            return None
        deliveries = site.deliveries()
        return deliveries if all(d["error"] or d["status_code"] for d in deliveries) else None

    deliveries = await eventually(every_leg_ended_and_told, timeout=10, what="every leg ended at the carrier")
    alone = {calls[a.id].agent_leg_call_id for a in group["answers_while_down"]}
    hung_up = [d for d in deliveries if d["kind"] == "status" and d["resource_sid"] in alone
               and d["params"].get("CallStatus") == "completed"]
    assert len(hung_up) == len(alone) and all(d["status_code"] < 300 for d in hung_up), "hung up once the service was back"
    refused = [(d["kind"], d["url"], d["status_code"]) for d in deliveries if not d["error"] and d["status_code"] >= 300]
    assert not refused, "the service took every callback that reached it"
    lost = {d["resource_sid"] for d in deliveries if d["kind"] == "recording" and d["error"]}
    print(f"\n[crash-restart {db_url.split('+')[0]}] down {restarted_at - killed_at:.1f} s; after the restart: "
          f"serving {serving_s:.1f} s, the calls ended while down settled {settled_s:.1f} s, clean floor "
          f"{clean_s:.1f} s (the live calls hung up by their agents)")
    return Restarted(site, agents, calls, down, lost, restarted_at, clean_s)


async def test_given_agents_on_calls_when_the_service_is_killed_and_restarted_then_the_floor_is_clean_within_a_minute(
        db_url, session, engine, tmp_path, processes):
    restarted = await crash_and_restart(db_url=db_url, session=session, engine=engine, work=tmp_path,
                                        processes=processes)

    assert restarted.clean_s < CLEAN_WITHIN_S
    # every recording the carrier made is stored within the minute too: those of the calls that ended
    # after the restart came by callback; those of the calls that ended while down (their callbacks
    # lost, only the carrier knows them) were asked of the carrier at the start
    made = restarted.site.recordings()
    assert len(made) == len(restarted.agents)  # one per party that answered
    assert {r["call_sid"] for r in made if r["sid"] in restarted.lost} == set(restarted.down)
    stored = await eventually(lambda: _stored(session_factory(engine), {r["sid"] for r in made}),
                              timeout=CLEAN_WITHIN_S - (time.monotonic() - restarted.restarted_at),
                              what="every recording stored")
    stored_s = time.monotonic() - restarted.restarted_at
    by_id = {c.id: c for c in restarted.calls.values()}
    assert {by_id[stored[r["sid"]].call_id].carrier_call_id for r in made} == {r["call_sid"] for r in made}
    assert all(row.sha256 and row.size_bytes for row in stored.values())
    print(f"[crash-restart] every recording stored {stored_s:.1f} s after the restart "
          f"({len(restarted.lost)} recovered from the carrier, {len(made) - len(restarted.lost)} told by callback)")


async def test_given_the_service_killed_before_it_wrote_the_seats_leg_ids_then_the_legs_are_found_and_settled(
        db_url, session, engine, tmp_path, processes):
    """The service is killed after the carrier created the seats' legs and before it wrote their
    ids down (the test holds the calls' rows meanwhile, so the service waits to write them). The
    seats answer and ask for their TwiML from a service that is gone; the legs drop. The restarted
    service finds the legs at the carrier (the seat's address since the dial), and since they are
    over there, ends the calls here: the party never rung, the agents ready again."""
    agents = await seat_agents(session, {"placed_unknown": 2}, first_number=20000)
    site = open_site(processes, db_url=db_url, work=tmp_path, agents=agents, groups={"placed_unknown": STAYS},
                     rest_latency_seconds=3.0)  # time enough to take the rows before the legs' ids come back
    sessions = session_factory(engine)
    service = site.serve(processes)
    dialed = await dial(site, agents)
    async with writer_engine(engine).connect() as held:  # SQLite: the write lock; PostgreSQL: the rows
        await held.begin()
        await held.execute(select(Call.id).where(Call.id.in_(dialed)).with_for_update())
        await eventually(lambda: len(site.legs()) == len(agents), timeout=15, what="the seats' legs created")
        if is_postgres(engine):
            await eventually(lambda: _waiting_on_locks(held, at_least=len(agents)), timeout=15,
                             what="the service waiting to write the legs' ids")
        service.kill()
        if is_postgres(engine):  # what it had sent dies with it (PostgreSQL would go on and apply it)
            await held.execute(text(f"SELECT pg_terminate_backend(pid) FROM ({WAITING}) AS waiting"))
        await held.rollback()
    calls = await calls_by_agent(sessions)
    assert {(c.state, c.agent_leg_call_id) for c in calls.values()} == {(CallState.REQUESTED, None)}
    await eventually(lambda: set(site.legs().values()) <= TERMINAL_LEG, timeout=30,
                     what="the seats' legs to drop at the carrier (no TwiML)")
    site.scenario(rest_latency_seconds=0.0)

    restarted_at = time.monotonic()
    site.serve(processes)
    calls, on = await eventually(lambda: floor_clean(sessions), timeout=CLEAN_WITHIN_S,
                                 what="no call open and no agent held")
    clean_s = time.monotonic() - restarted_at

    assert {c.agent_leg_call_id for c in calls.values()} == set(site.legs())  # found at the carrier
    assert {c.state for c in calls.values()} == {CallState.CANCELED}  # the party was never rung
    assert {on[a.id].state for a in agents} == {AgentState.READY}
    print(f"\n[crash-restart {db_url.split('+')[0]}] killed before the legs' ids were written: clean floor "
          f"{clean_s:.1f} s after the restart")


WAITING = ("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
           " AND pid <> pg_backend_pid()")


async def _waiting_on_locks(connection: AsyncConnection, *, at_least: int) -> bool:
    return len((await connection.execute(text(WAITING))).all()) >= at_least


async def _stored(sessions: async_sessionmaker[AsyncSession], sids: set[str]) -> dict[str, Recording] | None:
    """The stored recordings by carrier id, once every one of ``sids`` is."""
    async with sessions() as s:
        rows = (await s.execute(select(Recording).where(Recording.carrier_recording_id.in_(sids)))).scalars().all()
    stored = {r.carrier_recording_id: r for r in rows if r.status is RecordingStatus.STORED}
    return stored if set(stored) == sids else None
