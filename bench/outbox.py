"""Benchmark: the webhook delivery worker draining a backlog into a local receiver.

Seeds ``--events`` outbox events (default 30,000: an hour of a 1,000-agent floor with the archive
down, ~15 calls an agent an hour, each call told as ``call.completed`` and an answered one also as
``call.wrapped_up`` and ``recording.stored``; the payloads built in ``dialer.outbox.payloads``'
shapes) on a fresh database, then runs the real ``DeliveryWorker`` the way the service does
(``start``: fan-out, a lane per endpoint, its default HTTP client) until every delivery is answered
2xx, and prints how long the fan-out and the drain took and the deliveries per second.

The receiver is a process of its own: an aiohttp server that checks every request with the
``standardwebhooks`` package and answers 204 (``--no-verify``: answers without checking, to see
whether verifying is what caps the rate). It reports what it verified and how many webhook-ids it
saw more than once.

The service's other work, beside the drain: a probe writes one audit row per transaction (insert +
commit, the size of a wrap-up or an admin change), ``--probe-rate`` a second in all, half in the
worker's own event loop and engine (``dialer serve`` running the worker in-process) and half in a
process of its own (``dialer serve`` beside a ``dialer worker``, or another replica). Latency counts
from the instant a write fell due (a busy event loop counts too); its p50/p99 during the drain are
printed beside the same probes run alone just before it.

CPU per delivery: this process (the worker and the in-loop probe; on SQLite the database's work
too, in aiosqlite's threads), the receiver, and PostgreSQL's processes for this database. Every
process shares this machine's cores (the load average is printed first).

    .venv/bin/python bench/outbox.py                          # both backends, 30,000 events, 1 endpoint
    .venv/bin/python bench/outbox.py --backend postgres --endpoints 4 --max-in-flight 16
    .venv/bin/python bench/outbox.py --client httpx           # the worker on httpx.AsyncClient instead
    .venv/bin/python bench/outbox.py --no-verify              # the receiver answers without verifying
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402
from standardwebhooks import Webhook  # noqa: E402
from standardwebhooks.webhooks import WebhookVerificationError  # noqa: E402

from dialer.kit.ports import LOOPBACK  # noqa: E402

warnings.filterwarnings("ignore", message="Skipped unsupported reflection")  # alembic's, on SQLite

DATABASE = "dialer_bench_outbox"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --- the receiver (its own process: bench/outbox.py --receiver PORT SECRETS) ---------------------
async def receive(port: int, secrets: list[str], verify: bool) -> None:
    hooks = [Webhook(secret) for secret in secrets]
    seen: set[tuple[str, str]] = set()  # (endpoint, webhook-id): a second one is a duplicate
    counts = {"received": 0, "verified": 0, "refused": 0, "again": 0}

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        counts["received"] += 1
        if verify:
            try:
                hooks[int(request.match_info["n"])].verify(body, request.headers)  # type: ignore[arg-type]
            except WebhookVerificationError:
                counts["refused"] += 1
                return web.Response(status=401)
            counts["verified"] += 1
        key = (request.match_info["n"], request.headers["webhook-id"])
        counts["again"] += key in seen
        seen.add(key)
        return web.Response(status=204)

    async def stats(request: web.Request) -> web.Response:
        return web.json_response(counts)

    app = web.Application()
    app.router.add_post("/hooks/{n}", hook)
    app.router.add_get("/stats", stats)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, LOOPBACK, port, backlog=1024).start()
    await asyncio.Event().wait()


def serve_receiver(port: int, secrets_file: str, verify: bool) -> None:
    secrets = json.loads(Path(secrets_file).read_text())
    try:
        import uvloop
    except ImportError:
        asyncio.run(receive(port, secrets, verify))
    else:
        uvloop.run(receive(port, secrets, verify))


def start_receiver(secrets: list[str], verify: bool, folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    """The receiver in a process of its own; (process, base URL) once it listens."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        port = probe.getsockname()[1]
    (folder / "secrets.json").write_text(json.dumps(secrets))
    process = subprocess.Popen([sys.executable, __file__, "--receiver", str(port), str(folder / "secrets.json"),
                                *([] if verify else ["--no-verify"])])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection((LOOPBACK, port), timeout=0.2).close()
            return process, f"http://{LOOPBACK}:{port}"
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"the receiver did not start on port {port}")


# --- CPU (/proc) ----------------------------------------------------------------------------------
def cpu_of(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def postgres_cpu(database: str) -> float:
    """CPU seconds of PostgreSQL's backends for ``database`` and its shared background processes."""
    total = 0.0
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and Path(f"/proc/{entry}/comm").read_text().startswith("postgres"):
                title = Path(f"/proc/{entry}/cmdline").read_bytes().decode(errors="replace")
                if f" {database} " in title or not ("(" in title or "[local]" in title):
                    total += cpu_of(int(entry))
        except OSError:
            continue
    return total


def machine_busy() -> float:
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / CLOCK_TICKS


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values) or [0.0]
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


# --- the databases --------------------------------------------------------------------------------
@asynccontextmanager
async def database(backend: str, pg_admin: str) -> AsyncIterator[str]:
    """A fresh database migrated to head (SQLite: a temp file; PostgreSQL: its own, dropped after)."""
    from dialer.kit.migrations import upgrade_database
    from dialer.settings import REPO_ROOT

    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite+aiosqlite:///{folder}/outbox.db"
            await upgrade_database(url, REPO_ROOT / "alembic")
            yield url
        return
    import asyncpg

    admin = await asyncpg.connect(pg_admin)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {DATABASE}")
        url = pg_admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{DATABASE}"
        await upgrade_database(url, REPO_ROOT / "alembic")
        yield url
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        await admin.close()


# --- the backlog ----------------------------------------------------------------------------------
def backlog(count: int, now: dt.datetime, rand: random.Random) -> list[dict[str, Any]]:
    """``count`` event rows over the last hour, oldest first: per call a ``call.completed``, and for
    an answered one (half) a ``call.wrapped_up`` and a ``recording.stored`` too."""
    from dialer.calls.models import Call, CallOutcome, CallState, Direction, Recording, RecordingStatus
    from dialer.notes.models import Disposition, WrapUpNote
    from dialer.outbox.events import VERSION, new_event_id
    from dialer.outbox.payloads import recording_data, wrap_up_data

    rows: list[dict[str, Any]] = []
    for n in range(1, count + 1):
        if len(rows) >= count:
            break
        at = now - dt.timedelta(seconds=3600 * (1 - len(rows) / count))
        client, case, party, agent = (rand.randint(1, 12), rand.randint(1, 200_000), rand.randint(1, 400_000),
                                      rand.randint(1, 1000))
        talk = rand.randint(30, 600) if rand.random() < 0.5 else None
        began = at - dt.timedelta(seconds=(talk or 0) + 24)
        call = Call(id=n, direction=Direction.OUTBOUND, carrier="twilio", carrier_call_id=f"CA{rand.getrandbits(128):032x}",
                    state=CallState.COMPLETED if talk else CallState.NO_ANSWER, client_id=client, case_id=case,
                    party_id=party, agent_id=agent, seat_id=agent, campaign_id=rand.randint(1, 40),
                    outcome=CallOutcome.ANSWERED if talk else CallOutcome.NO_ANSWER, requested_at=began,
                    dialing_at=began, answered_at=at - dt.timedelta(seconds=talk) if talk else None, ended_at=at,
                    talk_s=talk, hangup_by="party" if talk else None)
        completed: dict[str, Any] = {  # dialer.outbox.payloads.call_data's shape (it reads the names with a query)
            "call": {"id": n, "carrier": "twilio", "carrier_call_id": call.carrier_call_id, "direction": "outbound",
                     "state": call.state.value, "outcome": call.outcome.value if call.outcome else None,
                     "placed": True, "requested_at": began.isoformat(), "started_at": began.isoformat(),
                     "answered_at": call.answered_at.isoformat() if call.answered_at else None,
                     "ended_at": at.isoformat(), "duration_s": (talk or 0) + 24, "talk_s": talk,
                     "hangup_by": call.hangup_by, "error_code": None, "campaign_id": call.campaign_id},
            "client": {"id": client, "code": f"BANK{client:02d}"},
            "case": {"id": case, "reference": f"LN-2026-{case:08d}"},
            "party": {"id": party, "role": "debtor", "relation": "self"},
            "agent": {"id": agent, "username": f"agent{agent:04d}"}, "seat": {"id": agent, "code": f"S-{agent:04d}"},
            "disposition": None}
        told: list[tuple[str, dict[str, Any], int | None]] = [("call.completed", completed, None)]
        if talk:
            disposition = rand.choice(list(Disposition))
            completed["disposition"] = disposition.value
            note = WrapUpNote(id=n, call_id=n, case_id=case, party_id=party, agent_id=agent, disposition=disposition,
                              created_at=at + dt.timedelta(seconds=40),
                              next_follow_up_date=(at + dt.timedelta(days=3)).date())
            recording = Recording(id=n, call_id=n, carrier="twilio", carrier_recording_id=f"RE{n:032x}",
                                  status=RecordingStatus.STORED, content_type="audio/wav", channels=2,
                                  duration_s=talk, size_bytes=talk * 16_000, sha256=f"{rand.getrandbits(256):064x}",
                                  partial=False, stored_at=at + dt.timedelta(seconds=30), legal_hold=False,
                                  retain_until=(at + dt.timedelta(days=7 * 365)).date())
            told += [("call.wrapped_up", wrap_up_data(note, call), None),
                     ("recording.stored", recording_data(recording, call), recording.id)]
        rows += [{"event_id": new_event_id(), "type": type, "version": VERSION, "occurred_at": at,
                  "client_id": client, "call_id": n, "recording_id": recording_id, "payload": data, "created_at": at}
                 for type, data, recording_id in told]
    return rows[:count]


async def seed(sessions: Any, rows: list[dict[str, Any]], *, endpoints: int, base: str, secrets: list[str],
               max_in_flight: int, now: dt.datetime) -> None:
    from sqlalchemy import insert

    from dialer.kit.db import table_of
    from dialer.outbox.models import EventType, WebhookEndpoint, WebhookEvent

    async with sessions() as session:
        await session.execute(insert(table_of(WebhookEndpoint)), [
            {"url": f"{base}/hooks/{n}", "description": f"archive {n}", "secret": secret,
             "event_types": [t.value for t in EventType], "client_ids": None, "active": True,
             "max_in_flight": max_in_flight, "created_at": now, "updated_at": now}
            for n, secret in enumerate(secrets[:endpoints])])
        for first in range(0, len(rows), 2000):
            await session.execute(insert(table_of(WebhookEvent)), rows[first:first + 2000])
        await session.commit()


# --- the probe: the service's other writes --------------------------------------------------------
Samples = tuple[list[float], list[float]]


async def probe(sessions: Any, rate: float, stop: asyncio.Event) -> Samples:
    """One audit row per transaction (insert + commit) every 1/``rate`` s until ``stop``: each
    one's latency in ms counted from the instant it fell due (so a busy event loop counts too),
    and of that the lag before it began (the loop's share)."""
    from dialer.audit.models import AuditEntry
    from dialer.kit.db import begin_write

    latencies: list[float] = []
    lags: list[float] = []

    async def write(due: float, n: int) -> None:
        lags.append((time.perf_counter() - due) * 1000)
        async with sessions() as session:
            await begin_write(session)
            session.add(AuditEntry(action="bench.probe", entity="probe", entity_id=str(n), detail={"n": n}))
            await session.commit()
        latencies.append((time.perf_counter() - due) * 1000)

    tasks: list[asyncio.Task[None]] = []
    start = time.perf_counter()
    for n in itertools.count():
        due = start + n / rate
        if stop.is_set():
            break
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        tasks.append(asyncio.create_task(write(due, n)))
    await asyncio.gather(*tasks)
    return latencies, lags


async def probe_process_main(url: str, rate: float) -> None:
    """``--probe URL RATE``: the probe in a process of its own (another replica, or ``dialer serve``
    beside a ``dialer worker``), until its stdin closes; then its samples as JSON on stdout."""
    import dialer.models  # noqa: F401  (every table known: the audit row's foreign keys)
    from dialer.kit.db import create_engine, session_factory, writer_engine

    engine = create_engine(url)
    sessions = session_factory(writer_engine(engine))
    await probe(sessions, 1.0, _set(asyncio.Event()))  # connected and warm
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.run_in_executor(None, sys.stdin.read).add_done_callback(lambda _: loop.call_soon_threadsafe(stop.set))
    print("ready", flush=True)
    samples = await probe(sessions, rate, stop)
    await engine.dispose()
    print(json.dumps(samples), flush=True)


def _set(event: asyncio.Event) -> asyncio.Event:
    event.set()
    return event


class Probes:
    """The probe twice at once, each at half the rate: in this process's loop beside the worker, and
    in a process of its own."""

    def __init__(self, sessions: Any, url: str, rate: float) -> None:
        self.sessions, self.url, self.rate = sessions, url, rate

    async def __aenter__(self) -> Probes:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--probe", self.url, str(self.rate / 2),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        assert self.process.stdout is not None
        if (await self.process.stdout.readline()).strip() != b"ready":
            raise RuntimeError("the probe process did not start")
        self.stop = asyncio.Event()
        self.here = asyncio.create_task(probe(self.sessions, self.rate / 2, self.stop))
        return self

    async def __aexit__(self, *_: object) -> None:
        self.stop.set()
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.close()
        self.in_loop = await self.here
        latencies, lags = json.loads(await self.process.stdout.read())
        self.elsewhere: Samples = (latencies, lags)
        await self.process.wait()


# --- one backend ----------------------------------------------------------------------------------
def media_links(secret: str) -> Callable[[int, dt.datetime], str]:
    """The container's recording links (``Container.media_link``): signed, expiring in a day."""
    from dialer.kit.signed_links import LinkSigner

    signer = LinkSigner(secret, purpose="recordings")
    return lambda recording_id, now: "https://dialer.example.com" + signer.sign(
        f"/v1/recordings/{recording_id}/media", expires_at=now + dt.timedelta(days=1))


async def run(backend: str, args: argparse.Namespace, base: str, secrets: list[str], receiver_pid: int,
              ) -> dict[str, Any]:
    import httpx

    from dialer.kit.clock import system_clock
    from dialer.kit.db import create_engine, session_factory, writer_engine
    from dialer.outbox.worker import DeliveryWorker

    async with database(backend, args.pg_admin) as url:
        engine = create_engine(url)
        sessions = session_factory(writer_engine(engine))
        now = system_clock()
        rows = backlog(args.events, now, random.Random(15))
        if args.pad_bytes:
            for row in rows:
                row["payload"]["pad"] = "x" * args.pad_bytes
        body_bytes = statistics.mean(len(json.dumps(
            {"id": r["event_id"], "type": r["type"], "version": 1, "timestamp": r["occurred_at"].isoformat(),
             "data": r["payload"]}, separators=(",", ":"))) for r in rows[:3000])
        started = time.perf_counter()
        await seed(sessions, rows, endpoints=args.endpoints, base=base, secrets=secrets,
                   max_in_flight=args.max_in_flight, now=now)
        seeded_s = time.perf_counter() - started
        async with Probes(sessions, url, args.probe_rate) as alone:
            await asyncio.sleep(args.probe_s)

        http = httpx.AsyncClient(timeout=10.0, follow_redirects=False, limits=httpx.Limits(
            max_connections=500, max_keepalive_connections=200)) if args.client == "httpx" else None
        worker = DeliveryWorker(sessions=sessions, clock=system_clock, http=http, media_link=media_links("bench"),
                                timeout_s=10.0)
        expected = args.events * args.endpoints
        async with Probes(sessions, url, args.probe_rate) as during:
            cpu = (time.process_time(), cpu_of(receiver_pid), postgres_cpu(DATABASE), machine_busy())
            started = time.perf_counter()
            fanned_s = None
            worker.start()
            while worker.totals.delivered < expected and time.perf_counter() - started < args.give_up_s:
                await asyncio.sleep(0.02)
                if fanned_s is None and worker.totals.fanned >= args.events:
                    fanned_s = time.perf_counter() - started
            drained_s = time.perf_counter() - started
            used = [time.process_time() - cpu[0], cpu_of(receiver_pid) - cpu[1], postgres_cpu(DATABASE) - cpu[2],
                    machine_busy() - cpu[3]]
        await worker.aclose()
        if http is not None:
            await http.aclose()
        totals = worker.totals
        await engine.dispose()
    delivered = max(1, totals.delivered)
    return {
        "backend": backend, "events": args.events, "deliveries": expected, "delivered": totals.delivered,
        "retried": totals.retried, "seeded_s": seeded_s, "body_bytes": body_bytes, "fanned_s": fanned_s or drained_s, "drained_s": drained_s,
        "rate": totals.delivered / drained_s,
        "delivery_rate": totals.delivered / max(1e-9, drained_s - (fanned_s or 0.0)),
        "cpu_ms": [1000 * u / delivered for u in used[:3]], "machine_cores": used[3] / drained_s,
        "probes": {"in the worker's loop": (alone.in_loop, during.in_loop),
                   "in another process": (alone.elsewhere, during.elsewhere)},
    }


# --- the tables ---------------------------------------------------------------------------------
def table(results: list[dict[str, Any]], receiver: dict[str, int], probe_rate: float) -> None:
    line = "{:<9} {:>11} {:>8} {:>8} {:>9} {:>10} {:>8}  {:>16}"
    print()
    print(line.format("backend", "delivered", "fan-out", "drained", "per s", "deliver/s", "machine",
                      "CPU ms/delivery"))
    print(line.format("", "", "s", "s", "overall", "after fan", "cores", "worker/recv/pg"))
    for r in results:
        worker, received, pg = r["cpu_ms"]
        print(line.format(
            r["backend"], f"{r['delivered']}/{r['deliveries']}", f"{r['fanned_s']:.1f}", f"{r['drained_s']:.1f}",
            f"{r['rate']:.0f}", f"{r['delivery_rate']:.0f}", f"{r['machine_cores']:.2f}",
            f"{worker:.2f}/{received:.2f}/" + (f"{pg:.2f}" if r["backend"] == "postgres" else "-")))
    print(f"receiver: {receiver}")
    print(f"\nprobe: one audit-row write transaction, {probe_rate / 2:g}/s in each place; ms from falling due "
          "to committed (in the loop: of which waiting for the loop)")
    line = "{:<9} {:<21} {:>16} {:>21} {:>18}"
    print(line.format("backend", "where", "alone p50/p99", "beside drain p50/p99", "loop lag p50/p99"))
    for r in results:
        for where, (alone, during) in r["probes"].items():
            print(line.format(r["backend"], where, "{:.1f} / {:.0f}".format(*percentiles(alone[0])),
                              "{:.1f} / {:.0f}".format(*percentiles(during[0])),
                              "{:.1f} / {:.0f}".format(*percentiles(during[1])) if "loop" in where else ""))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=30_000)
    parser.add_argument("--endpoints", type=int, default=1, help="each gets every event (deliveries = events × this)")
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--max-in-flight", type=int, default=4,
                        help="each endpoint's requests out at once (4: an endpoint's default)")
    parser.add_argument("--client", choices=("aiohttp", "httpx"), default="aiohttp",
                        help="aiohttp: the worker's default client; httpx: an httpx.AsyncClient passed in")
    parser.add_argument("--no-verify", dest="verify", action="store_false", help="the receiver does not verify")
    parser.add_argument("--pad-bytes", type=int, default=0, help="add this many bytes to every payload")
    parser.add_argument("--probe-rate", type=float, default=50.0, help="probe writes a second")
    parser.add_argument("--probe-s", type=float, default=5.0, help="how long the probe runs alone first")
    parser.add_argument("--give-up-s", type=float, default=600.0)
    parser.add_argument("--pg-admin", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()

    from dialer.outbox.signing import new_secret

    load = os.getloadavg()
    print(f"{os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} before the bench; "
          f"{args.events} events × {args.endpoints} endpoint(s), max_in_flight {args.max_in_flight}, "
          f"client {args.client}, receiver {'verifying' if args.verify else 'NOT verifying'}")
    secrets = [new_secret() for _ in range(args.endpoints)]
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    results = []
    with tempfile.TemporaryDirectory() as folder:
        receiver, base = start_receiver(secrets, args.verify, Path(folder))
        try:
            for backend in backends:
                results.append(await run(backend, args, base, secrets, receiver.pid))
                r = results[-1]
                print(f"  {backend}: seeded in {r['seeded_s']:.1f} s (bodies {r['body_bytes']:.0f} B on average, "
                      f"a recording's link not counted), drained in {r['drained_s']:.1f} s; {r['retried']} retried",
                      flush=True)
            async with aiohttp.ClientSession() as client, client.get(f"{base}/stats") as answer:
                received = await answer.json()
        finally:
            receiver.terminate()
            receiver.wait()
    table(results, received, args.probe_rate)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--receiver":
        serve_receiver(int(sys.argv[2]), sys.argv[3], verify="--no-verify" not in sys.argv)
    elif len(sys.argv) > 1 and sys.argv[1] == "--probe":
        asyncio.run(probe_process_main(sys.argv[2], float(sys.argv[3])))
    else:
        asyncio.run(main())
