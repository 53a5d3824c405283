"""Running the demo: seed, start the emulator and the service, work a shift on a simulated clock,
report, then (unless told to exit) keep the service up in real time for the desktop and the API.

With ``carrier="sip"`` the same shift runs over the SIP path instead of the Twilio emulator
(``dialer.demo.sip``: Kamailio, a media process, a sipp trunk, baresip softphones), in real time:
SIP media cannot run faster, so the simulated clock runs at speed 1 from a start inside the calling
window, and the trunk's calls are short."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import shlex
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import httpx
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr

from dialer.app import create_app
from dialer.container import ForwardingClock
from dialer.demo import table
from dialer.demo.agents import Shift, work_shift
from dialer.demo.portfolio import PASSWORD, Seeded, seed
from dialer.kit.clock import system_clock
from dialer.kit.db import create_engine, session_factory
from dialer.kit.migrations import upgrade_to_head
from dialer.kit.zones import AGENCY_ZONE
from dialer.settings import Settings
from twilio_emulator import Scenario
from twilio_emulator.app import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN
from twilio_emulator.clock import SimClock
from twilio_emulator.pacing import CpsPacer
from twilio_emulator.server import EmulatorServer

SHANGHAI = ZoneInfo(AGENCY_ZONE)
AGENCY_NUMBER = "+862161230000"
# How the called numbers behave: roughly what a collections floor sees.
MIX = (("answer", 0.42), ("no_answer", 0.30), ("busy", 0.10), ("reject", 0.06), ("voicemail", 0.07), ("fail", 0.05))


@dataclass
class DemoOptions:
    seconds: float = 60.0
    agents: int = 6
    cases: int = 300
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path(".dialer-demo")
    speed: float = 20.0  # simulated seconds per real second: a one-minute demo is twenty minutes of a shift
    keep_serving: bool = True
    seed: int = 7
    out: Callable[[str], None] = field(default=print)
    serve_until: asyncio.Event | None = None  # with keep_serving: stop serving once set (default: Ctrl+C)
    carrier: Literal["twilio", "sip"] = "twilio"  # sip: over the SIP path, in real time (speed 1)
    start: dt.datetime | None = None  # the simulated clock's start (None: shift_start, from now)


def shift_start(now: dt.datetime, *, lead: dt.timedelta = dt.timedelta(0)) -> dt.datetime:
    """The simulated clock's start. In working hours on a weekday in Shanghai: ``lead`` before now
    (the simulated clock runs ahead, so a shift started that much earlier ends about now), but not
    before 09:00. Otherwise the next weekday at 10:00 there (so the policy's calling hours do not
    empty the demo)."""
    local = now.astimezone(SHANGHAI)
    if local.weekday() < 5 and 9 <= local.hour < 19:
        return max(now - lead, dt.datetime.combine(local.date(), dt.time(9, 0), tzinfo=SHANGHAI).astimezone(dt.UTC))
    day = local.date() + dt.timedelta(days=0 if local.hour < 9 else 1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(10, 0), tzinfo=SHANGHAI).astimezone(dt.UTC)


def scenario_for(seeded: Seeded, *, speed: float, seed: int) -> Scenario:
    rng = random.Random(seed)
    behaviours, weights = zip(*MIX)
    numbers: dict[str, dict] = {}
    for e164 in seeded.numbers:
        behaviour = rng.choices(behaviours, weights)[0]
        numbers[e164] = {"behaviour": behaviour, "ring_seconds": rng.uniform(3, 15),
                         # a voicemail: the greeting and the beep, then it hangs up
                         "talk_seconds": rng.uniform(20, 40) if behaviour == "voicemail" else rng.uniform(40, 240)}
    for i in range(len(seeded.agents)):  # softphones at dedicated seats pick up at once and stay
        numbers[f"seat-a{i + 1:02d}"] = {"behaviour": "answer", "ring_seconds": 1, "hangup_first": "caller"}
    return Scenario.model_validate({"speed": speed, "cps": 20, "numbers": numbers, "say_seconds_per_char": 0.15})


async def real_time(service_clock: ForwardingClock, app: FastAPI, emulator: EmulatorServer | None) -> None:
    """From now on the service and the emulator run in real time: the service's clock is the
    system clock (everything the service built holds it), and the emulator's clock restarts at the
    real time at real speed, with a fresh calls-per-second pacer (the old one counted simulated time).
    Without an emulator (the SIP demo) only the service's clock changes."""
    service_clock.source = system_clock
    app.state.container.clock = system_clock
    if emulator is None:
        return

    async def on_the_emulators_loop() -> None:
        em = emulator.emulator
        em.scenario = em.scenario.model_copy(update={"speed": 1.0})
        em.clock = SimClock(1.0)
        em.pacer = CpsPacer(lambda: em.scenario.cps)

    await asyncio.to_thread(emulator.run, on_the_emulators_loop())


def users_lines(seeded: Seeded) -> list[str]:
    """Every demo user with their role, seat and password."""
    lines = [f"demo users (password {PASSWORD} for every one):"]
    lines += [f"  {name:<18} agent        team demo, seat {code}"
              for (name, _), code in zip(seeded.agents, seeded.seat_codes)]
    lines += [f"  {seeded.supervisor:<18} supervisor   team demo",
              f"  {seeded.admin:<18} admin"]
    return lines


def cli_line(opts: DemoOptions, url: str) -> str:
    """The one line that points the ``dialer`` commands at the demo's database and data directory."""
    return (f"export DIALER_DATABASE_URL={shlex.quote(url)} "
            f"DIALER_DATA_DIR={shlex.quote(str(opts.data_dir.resolve()))}")


async def run_demo(opts: DemoOptions) -> table.Figures:
    out = opts.out
    sip = opts.carrier == "sip"
    if sip:
        from dialer.demo import sip as sip_path

        sip_path.check_tools()  # before anything is wiped or started
        if opts.speed != 1:
            raise ValueError(f"the SIP demo runs in real time (speed 1, not {opts.speed:g}): SIP media cannot be sped up")
    if opts.data_dir.exists():
        shutil.rmtree(opts.data_dir)
    opts.data_dir.mkdir(parents=True)
    lead = dt.timedelta(seconds=opts.seconds * max(0.0, opts.speed - 1))
    clock = SimClock(opts.speed, start=opts.start or shift_start(dt.datetime.now(dt.UTC), lead=lead))
    service_clock = ForwardingClock(clock.now)  # swapped for the system clock after the shift
    url = f"sqlite+aiosqlite:///{(opts.data_dir / 'demo.db').resolve()}"
    carrier: dict[str, Any] = (
        {**sip_path.sip_settings(), "sip_caller_id": AGENCY_NUMBER, "run_scheduler": True} if sip else
        {"twilio_account_sid": DEFAULT_ACCOUNT_SID, "twilio_auth_token": SecretStr(DEFAULT_AUTH_TOKEN),
         "twilio_caller_id": AGENCY_NUMBER, "twilio_calls_per_second": 20.0, "run_scheduler": True})
    settings = Settings(
        _env_file=None, database_url=url, data_dir=opts.data_dir, public_base_url=f"http://{opts.host}:{opts.port}",
        recording_capture_every_s=3.0, auto_migrate=True, **carrier,
    )
    engine = create_engine(url)
    floor = None
    try:
        await upgrade_to_head(engine, settings.migrations_dir)
        async with session_factory(engine)() as session:
            seeded = await seed(session, now=clock.now(), cases=opts.cases, agents=opts.agents, seed=opts.seed,
                                sip_domain=sip_path.DOMAIN if sip else None,
                                policy_overrides={"whisper": sip_path.WHISPER} if sip else None)
            await session.commit()
        out(f"seeded: {seeded.cases} cases, {seeded.parties} parties, {len(seeded.numbers)} numbers, "
            f"{seeded.stops} stop-contact entries; {seeded.promises_due} promises due today, on cases with "
            f"{len(seeded.at_cap)} parties at a cap and {len(seeded.near_cap)} one attempt from it; "
            f"clients 招商银行 (cn-cba-2026) and 平安银行 (agency-default)")
        emulator: EmulatorServer | None = None
        if sip:
            scripted = {e164: sip_path.trunk_behaviour(e164) for e164 in seeded.numbers}
            floor = sip_path.SipFloor(settings, opts.data_dir / "sip-floor")
            await floor.start(seeded.sip_passwords)
            peers = (f"SIP edge (Kamailio) at udp:{settings.sip_edge_host}:{settings.sip_edge_port}, trunk (sipp) at "
                     f"udp:{settings.sip_trunk_host}:{settings.sip_trunk_port}, {len(seeded.sip_passwords)} "
                     f"softphones (baresip) registered, a media process")
        else:
            scenario = scenario_for(seeded, speed=opts.speed, seed=opts.seed)
            emulator = EmulatorServer(scenario)
            emulator.emulator.clock = clock  # one simulated clock for the carrier and the service
            emulator.start()
            settings.twilio_api_base_url = emulator.url
            scripted = {e164: script.behaviour.value for e164, script in scenario.numbers.items()}
            peers = f"Twilio emulator at {emulator.url}"
        app = create_app(settings, clock=service_clock)
        server = uvicorn.Server(uvicorn.Config(app, host=opts.host, port=opts.port, log_level="warning"))
        serving = asyncio.create_task(server.serve())
        try:
            while not server.started:
                if serving.done():
                    raise RuntimeError(f"the service could not start on {opts.host}:{opts.port}")
                await asyncio.sleep(0.05)
            began = clock.now()
            out(f"service at {settings.public_base_url} (SQLite {opts.data_dir / 'demo.db'}), "
                f"{peers}; simulated clock starts "
                f"{began.astimezone(SHANGHAI):%Y-%m-%d %H:%M} {AGENCY_ZONE}, x{opts.speed:g}")
            figures = await _shift(opts, settings.public_base_url, seeded, engine, clock, scripted)
            ended = clock.now()
            clock_format = "%H:%M:%S" if sip else "%H:%M"  # a real-time shift lasts about a minute
            out(table.summary(figures, heading=(
                f"Summary of the simulated shift, {began.astimezone(SHANGHAI):%Y-%m-%d} "
                f"{began.astimezone(SHANGHAI):{clock_format}}–{ended.astimezone(SHANGHAI):{clock_format}} "
                f"{AGENCY_ZONE} (x{opts.speed:g})"),
                note=table.SIP_NOTE if sip else table.CARRIER_NOTE))
            if sip:
                out(sip_path.recordings_line(settings))
            out("")
            out(f"agent desktop  {settings.public_base_url}/desktop")
            out(f"API docs       {settings.public_base_url}/docs")
            for line in users_lines(seeded):
                out(line)
            out(f"the dialer commands on the demo's data (its database, recordings and secret key in "
                f"{opts.data_dir}), in this shell:")
            out(f"  {cli_line(opts, url)}")
            out(f"  dialer report daily --day {began.astimezone(SHANGHAI):%Y-%m-%d}   (the simulated shift's day)")
            if opts.keep_serving:
                await real_time(service_clock, app, emulator)
                now = dt.datetime.now(dt.UTC).astimezone(SHANGHAI)
                out(f"From now on the service, the desktop and the {'SIP path' if sip else 'Twilio emulator'} run in "
                    f"real time (it is "
                    f"{now:%Y-%m-%d %H:%M} {AGENCY_ZONE}): a call lasts as long as it lasts and new records "
                    f"carry real times; the shift's records keep their simulated times. The campaigns are "
                    f"stopped, and the clients' calling window (08:00–22:00 in the called party's zone) now "
                    f"applies to the real time.")
                out("serving until Ctrl+C …")
                if opts.serve_until is None:
                    await serving
                else:
                    told = asyncio.ensure_future(opts.serve_until.wait())
                    await asyncio.wait([serving, told], return_when=asyncio.FIRST_COMPLETED)
                    told.cancel()
            return figures
        finally:
            server.should_exit = True
            await asyncio.wait([serving], timeout=10)
            if emulator is not None:
                emulator.stop()
    finally:
        if floor is not None:
            await floor.stop()
        await engine.dispose()


async def _shift(opts: DemoOptions, base: str, seeded: Seeded, engine, clock: SimClock,
                 scripted: dict[str, str]) -> table.Figures:
    sessions = session_factory(engine)
    async with httpx.AsyncClient(base_url=base, timeout=15.0) as http:
        token = (await http.post("/v1/auth/token", json={"username": seeded.supervisor, "password": PASSWORD})).json()
        http.headers["Authorization"] = f"Bearer {token['access_token']}"
        campaigns = []
        for code, client_id in seeded.clients.items():
            answer = await http.post("/v1/campaigns", json={"client_id": client_id, "name": f"{code} 逾期催收",
                                                            "mode": "progressive", "team": "demo"})
            if answer.status_code != 201:
                raise RuntimeError(f"creating the demo campaign failed: {answer.status_code} {answer.text}")
            made = answer.json()
            await http.post(f"/v1/campaigns/{made['id']}/status", json={"status": "running"})
            campaigns.append(made["id"])
        stop, shift = asyncio.Event(), Shift()
        today = clock.now().astimezone(SHANGHAI).date()
        machines = frozenset(e164 for e164, behaviour in scripted.items() if behaviour == "voicemail")
        workers = [asyncio.create_task(work_shift(base, name, PASSWORD, seat_id, stop=stop, shift=shift,
                                                  seed=opts.seed + i, today=today, machines=machines))
                   for i, (name, seat_id) in enumerate(seeded.agents)]
        started = time.monotonic()
        while (elapsed := time.monotonic() - started) < opts.seconds:
            await asyncio.sleep(min(2.0, max(0.0, opts.seconds - elapsed)))
            async with sessions() as session:
                opts.out(table.render(await table.figures(session), elapsed_s=time.monotonic() - started,
                                      total_s=opts.seconds))
            for worker in workers:
                if worker.done() and (failure := worker.exception()) is not None:
                    raise failure
        opts.out("end of the shift: the campaigns stop; the agents finish their calls and notes and log out …")
        for campaign_id in campaigns:
            await http.post(f"/v1/campaigns/{campaign_id}/status", json={"status": "stopped"})
        stop.set()
        _, late = await asyncio.wait(workers, timeout=30)
        for worker in late:
            worker.cancel()
        for worker in workers:
            if worker.done() and not worker.cancelled() and (failure := worker.exception()) is not None:
                raise failure
        if late:  # never leave a session open: the supervisor logs out whoever is still logged in
            board = (await http.get("/v1/agents", params={"limit": 500})).json()
            for row in board.get("items", []):
                await http.post(f"/v1/agents/{row['agent_id']}/logout", json={"reason": "end of the demo's shift"})
                opts.out(f"{row.get('username', row['agent_id'])} did not finish in time: logged out by the supervisor")
        deadline = time.monotonic() + 12  # the capture job (every 3 s) fetches the last recordings
        while time.monotonic() < deadline:
            async with sessions() as session:
                figures = await table.figures(session, scripted=scripted)
            if figures.recordings_pending == 0:
                break
            await asyncio.sleep(1.0)
        for error in shift.errors[:5]:
            opts.out(f"note error: {error}")
        return figures
