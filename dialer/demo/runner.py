"""Running the demo: seed, start the emulator and the service, work a shift, report."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import uvicorn
from pydantic import SecretStr

from dialer.app import create_app
from dialer.demo import table
from dialer.demo.agents import Shift, work_shift
from dialer.demo.portfolio import PASSWORD, Seeded, seed
from dialer.kit.db import create_engine, session_factory
from dialer.kit.migrations import upgrade_to_head
from dialer.kit.zones import AGENCY_ZONE
from dialer.settings import Settings
from twilio_emulator import Scenario
from twilio_emulator.app import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN
from twilio_emulator.clock import SimClock
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


def shift_start(now: dt.datetime) -> dt.datetime:
    """The simulated clock's start: now, when it is working hours on a weekday in Shanghai, else the
    next weekday at 10:00 there (so the policy's calling hours do not empty the demo)."""
    local = now.astimezone(SHANGHAI)
    if local.weekday() < 5 and 9 <= local.hour < 19:
        return now
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
                         "talk_seconds": rng.uniform(40, 240)}
    for i in range(len(seeded.agents)):  # softphones at dedicated seats pick up at once and stay
        numbers[f"seat-a{i + 1:02d}"] = {"behaviour": "answer", "ring_seconds": 1, "hangup_first": "caller"}
    return Scenario.model_validate({"speed": speed, "cps": 20, "numbers": numbers, "say_seconds_per_char": 0.15})


async def run_demo(opts: DemoOptions) -> table.Figures:
    out = opts.out
    if opts.data_dir.exists():
        shutil.rmtree(opts.data_dir)
    opts.data_dir.mkdir(parents=True)
    clock = SimClock(opts.speed, start=shift_start(dt.datetime.now(dt.UTC)))
    url = f"sqlite+aiosqlite:///{(opts.data_dir / 'demo.db').resolve()}"
    settings = Settings(
        _env_file=None, database_url=url, data_dir=opts.data_dir, public_base_url=f"http://{opts.host}:{opts.port}",
        twilio_account_sid=DEFAULT_ACCOUNT_SID, twilio_auth_token=SecretStr(DEFAULT_AUTH_TOKEN),
        twilio_caller_id=AGENCY_NUMBER, twilio_calls_per_second=20.0, run_scheduler=True,
        recording_capture_every_s=3.0, auto_migrate=True,
    )
    engine = create_engine(url)
    try:
        await upgrade_to_head(engine, settings.migrations_dir)
        async with session_factory(engine)() as session:
            seeded = await seed(session, now=clock.now(), cases=opts.cases, agents=opts.agents, seed=opts.seed)
            await session.commit()
        out(f"seeded: {seeded.cases} cases, {seeded.parties} parties, {len(seeded.numbers)} numbers, "
            f"{seeded.stops} stop-contact entries, {seeded.near_cap} histories near their caps; "
            f"clients 招商银行 (cn-cba-2026) and 平安银行 (agency-default)")
        emulator = EmulatorServer(scenario_for(seeded, speed=opts.speed, seed=opts.seed))
        emulator.emulator.clock = clock  # one simulated clock for the carrier and the service
        emulator.start()
        settings.twilio_api_base_url = emulator.url
        server = uvicorn.Server(uvicorn.Config(create_app(settings, clock=clock.now), host=opts.host, port=opts.port,
                                               log_level="warning"))
        serving = asyncio.create_task(server.serve())
        try:
            while not server.started:
                if serving.done():
                    raise RuntimeError(f"the service could not start on {opts.host}:{opts.port}")
                await asyncio.sleep(0.05)
            out(f"service at {settings.public_base_url} (SQLite {opts.data_dir / 'demo.db'}), "
                f"Twilio emulator at {emulator.url}; simulated clock starts "
                f"{clock.now().astimezone(SHANGHAI):%Y-%m-%d %H:%M} {AGENCY_ZONE}, x{opts.speed:g}")
            figures = await _shift(opts, settings.public_base_url, seeded, engine, clock)
            out(table.summary(figures))
            out(f"\nagent desktop  {settings.public_base_url}/desktop   (demo-agent-1 … demo-agent-{opts.agents}, "
                f"demo-supervisor; password {PASSWORD})")
            out(f"API docs       {settings.public_base_url}/docs")
            if opts.keep_serving:
                out("serving until Ctrl+C …")
                await serving
            return figures
        finally:
            server.should_exit = True
            await asyncio.wait([serving], timeout=10)
            emulator.stop()
    finally:
        await engine.dispose()


async def _shift(opts: DemoOptions, base: str, seeded: Seeded, engine, clock: SimClock) -> table.Figures:
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
        workers = [asyncio.create_task(work_shift(base, name, PASSWORD, seat_id, stop=stop, shift=shift,
                                                  seed=opts.seed + i, today=today))
                   for i, (name, seat_id) in enumerate(seeded.agents)]
        started = time.monotonic()
        while (elapsed := time.monotonic() - started) < opts.seconds:
            await asyncio.sleep(2.0)
            async with sessions() as session:
                opts.out(table.render(await table.figures(session), elapsed_s=elapsed, total_s=opts.seconds))
            for worker in workers:
                if worker.done() and (failure := worker.exception()) is not None:
                    raise failure
        opts.out("stopping the campaigns; agents finish their calls and notes …")
        for campaign_id in campaigns:
            await http.post(f"/v1/campaigns/{campaign_id}/status", json={"status": "stopped"})
        stop.set()
        await asyncio.wait(workers, timeout=30)
        deadline = time.monotonic() + 12  # the capture job (every 3 s) fetches the last recordings
        while time.monotonic() < deadline:
            async with sessions() as session:
                figures = await table.figures(session)
            if figures.recordings_pending == 0:
                break
            await asyncio.sleep(1.0)
        for error in shift.errors[:5]:
            opts.out(f"note error: {error}")
        return figures
