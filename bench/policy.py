"""Benchmark: compliance decisions and reservations on a large history.

Seeds a database with PARTIES parties (half debtors, half third parties), ATTEMPTS historical
attempts spread over the last 60 days and a stop list (PARTIES/2 numbers, 1 party in 100), then
measures

* ``check``   — a recorded dry-run decision for a random party, and
* ``reserve`` — check + record an attempt atomically for a random number,

each as sequential latency (p50/p99) in one process, as throughput of CONCURRENCY concurrent
workers in that one process, and with ``--processes N`` as the COMBINED throughput of N worker
processes (each with CONCURRENCY workers and its own pool, like N uvicorn replicas) on the same
database.

    .venv/bin/python bench/policy.py                       # both databases, full size
    .venv/bin/python bench/policy.py --backends postgres --processes 2
    .venv/bin/python bench/policy.py --backends postgres --parties 10000 --attempts 200000
    .venv/bin/python bench/policy.py --backends postgres --reuse   # skip seeding (same sizes)

The decision cost must not grow with the history: the look-back is bounded and indexed.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg  # noqa: E402
from sqlalchemy import delete, insert, text  # noqa: E402

from dialer.agents.models import AgentSession  # noqa: E402
from dialer.auth.models import Role, User  # noqa: E402
from dialer.cases.models import Case, Party, PhoneNumber  # noqa: E402
from dialer.clients.models import Client, PolicyVersion  # noqa: E402
from dialer.compliance import service  # noqa: E402
from dialer.compliance.models import Attempt, StopContact  # noqa: E402
from dialer.kit.db import create_engine, session_factory  # noqa: E402
from dialer.kit.errors import PolicyBlocked  # noqa: E402
from dialer.kit.migrations import upgrade_to_head  # noqa: E402
from dialer.policy.presets import build_policy  # noqa: E402
from dialer.seats.models import Seat  # noqa: E402
from dialer.settings import REPO_ROOT  # noqa: E402

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 11, 24, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai: inside the window
BATCH = 20_000


async def seed(url: str, parties: int, attempts: int) -> tuple[int, int, int]:
    engine = create_engine(url)
    await upgrade_to_head(engine, REPO_ROOT / "alembic")
    rng = random.Random(7)
    doc = build_policy("agency-default", {"caps": {"third_party_hourly_cap": None}}).model_dump(mode="json")
    async with engine.begin() as conn:
        await conn.execute(insert(Client), [{"id": 1, "code": "BENCH", "name": "Bench Bank", "policy_version": 1,
                                             "created_at": NOW}])
        await conn.execute(insert(PolicyVersion), [{"client_id": 1, "version": 1, "preset": "agency-default",
                                                    "overrides": {}, "document": doc, "created_at": NOW}])
        await conn.execute(insert(User), [{"id": 1, "username": "bench", "display_name": "b", "role": Role.AGENT,
                                           "active": True, "created_at": NOW}])
        await conn.execute(insert(Seat), [{"id": 1, "code": "B1", "softphone_identity": "client:b1", "created_at": NOW}])
        await conn.execute(insert(AgentSession), [{"agent_id": 1, "seat_id": 1, "state_since": NOW, "started_at": NOW}])
        cases = parties // 2
        for start in range(0, cases, BATCH):
            await conn.execute(insert(Case), [
                {"id": i + 1, "client_id": 1, "account_ref": f"B{i}", "total_owed": 1000, "principal": 1000,
                 "interest_fees": 0, "overdue_days": 40, "overdue_as_of": NOW.date(), "bucket": "M2",
                 "created_at": NOW, "updated_at": NOW}
                for i in range(start, min(start + BATCH, cases))])
        for start in range(0, parties, BATCH):
            rows = range(start, min(start + BATCH, parties))
            await conn.execute(insert(Party), [
                {"id": i + 1, "case_id": i // 2 + 1, "role": "debtor" if i % 2 == 0 else "third_party",
                 "relation": "self" if i % 2 == 0 else "friend", "name": f"P{i}", "debt_related": False,
                 "created_at": NOW} for i in rows])
            await conn.execute(insert(PhoneNumber), [
                {"id": i + 1, "party_id": i + 1, "e164": f"+86138{i:08d}", "kind": "mobile", "region": "CN",
                 "time_zone": "Asia/Shanghai", "valid": True, "position": 0, "created_at": NOW} for i in rows])
        # The client's stop list: mostly numbers that are none of these parties', and 1 party in 100
        # (so the stop-contact lookups run against a populated table, and ~1% of decisions refuse).
        stops = [{"client_id": 1, "party_id": None, "e164": f"+86137{i:08d}", "source": "client_list",
                  "reason": "bench", "created_at": NOW} for i in range(parties // 2)]
        stops += [{"client_id": 1, "party_id": p, "e164": None, "source": "party_request", "reason": "bench",
                   "created_at": NOW} for p in range(1, parties + 1, 100)]
        for start in range(0, len(stops), BATCH):
            await conn.execute(insert(StopContact), stops[start:start + BATCH])
        outcomes = ("no_answer", "busy", "answered", "rejected", "voicemail")
        for start in range(0, attempts, BATCH):
            batch = []
            for _ in range(min(BATCH, attempts - start)):
                p = rng.randrange(parties) + 1
                batch.append({"client_id": 1, "case_id": (p - 1) // 2 + 1, "party_id": p, "number_id": p,
                              "started_at": NOW - dt.timedelta(seconds=rng.randrange(60 * 86400) + 7200),
                              "outcome": rng.choice(outcomes), "conversation": False, "direction": "outbound",
                              "source": "import", "created_at": NOW})
            await conn.execute(insert(Attempt), batch)
    await engine.dispose()
    return parties, attempts, 1


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _engine(url: str, concurrency: int):
    # The service's own engine settings (kit.db.create_engine: pre-ping on), a pool for the workers.
    return create_engine(url, **({} if url.startswith("sqlite") else {"pool_size": concurrency + 2}))


class _Ops:
    """One process's client: ``check`` and ``reserve`` for random parties, each in its own session
    (one pooled connection, one transaction), as one API request would."""

    def __init__(self, url: str, parties: int, concurrency: int, seed: int) -> None:
        self.engine = _engine(url, concurrency)
        self.sessions = session_factory(self.engine)
        self.rng = random.Random(seed)
        self.parties = parties
        self.blocked = 0

    async def check(self) -> None:
        async with self.sessions() as s:
            await service.check(s, at=NOW, party_id=self.rng.randrange(self.parties) + 1)
            await s.commit()

    async def reserve(self) -> None:
        async with self.sessions() as s:
            try:
                await service.reserve(s, number_id=self.rng.randrange(self.parties) + 1, at=NOW, agent_id=1, seat_id=1,
                                      mode="preview")
            except PolicyBlocked:
                self.blocked += 1  # the refusal is recorded; committed like an allowed reservation
            await s.commit()


async def _run_for(op, concurrency: int, start: float, stop: float) -> tuple[int, list[float]]:
    """Run ``op`` from ``concurrency`` workers between two wall-clock instants: count and latencies."""
    latencies: list[float] = []
    await asyncio.sleep(max(0.0, start - time.time()))

    async def worker() -> None:
        while time.time() < stop:
            t0 = time.perf_counter()
            await op()
            latencies.append((time.perf_counter() - t0) * 1000)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(latencies), latencies


def _process_main(url: str, name: str, parties: int, concurrency: int, seed: int, start: float, stop: float,
                  loop: str, results) -> None:
    """A worker process (like one uvicorn replica): its own engine and pool, the same database."""

    async def go() -> tuple[int, list[float], int]:
        ops = _Ops(url, parties, concurrency, seed)
        op = getattr(ops, name)
        for _ in range(20):
            await op()
        done, latencies = await _run_for(op, concurrency, start, stop)
        await ops.engine.dispose()
        return done, latencies, ops.blocked

    results.put(_run_loop(go(), loop))


def _run_loop(coro, loop: str):
    if loop == "uvloop":
        import uvloop

        return uvloop.run(coro)
    return asyncio.run(coro)


def _summary(latencies: list[float]) -> str:
    return f"p50 {statistics.median(latencies):6.2f} ms  p99 {pct(latencies, 0.99):6.2f} ms"


async def measure(url: str, parties: int, n: int, concurrency: int, processes: int, duration: float, loop: str,
                  names: list[str]) -> None:
    ops = _Ops(url, parties, concurrency, seed=11)
    for name in names:
        op = getattr(ops, name)
        for _ in range(20):  # warm up caches and the pool
            await op()
        ops.blocked = 0
        latencies = []
        cpu = time.process_time()
        for _ in range(n):
            t0 = time.perf_counter()
            await op()
            latencies.append((time.perf_counter() - t0) * 1000)
        cpu = (time.process_time() - cpu) * 1000 / n
        print(f"  {name:8s} 1 process, sequential      : {_summary(latencies)}  (client CPU {cpu:.2f} ms/op)"
              + (f"  ({ops.blocked} refused)" if name == "reserve" else ""))
        ops.blocked = 0
        start = time.time() + 0.2
        done, latencies = await _run_for(op, concurrency, start, start + duration)
        print(f"  {name:8s} 1 process, {concurrency:2d} concurrent   : {done / duration:7.0f} /s"
              f"   (latency under load {_summary(latencies)})"
              + (f"  ({ops.blocked} refused)" if name == "reserve" else ""))
        if processes > 1:
            await _multi(url, name, parties, concurrency, processes, duration, loop)
    await ops.engine.dispose()


async def _multi(url: str, name: str, parties: int, concurrency: int, processes: int, duration: float, loop: str) -> None:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    start = time.time() + 5.0  # time for every process to start, connect and warm up
    children = [
        context.Process(target=_process_main, args=(url, name, parties, concurrency, 1000 + i, start,
                                                     start + duration, loop, results))
        for i in range(processes)
    ]
    for child in children:
        child.start()
    outcomes = [await asyncio.to_thread(results.get) for _ in children]
    for child in children:
        child.join()
    total = sum(done for done, _, _ in outcomes)
    latencies = [v for _, values, _ in outcomes for v in values]
    refused = sum(b for _, _, b in outcomes)
    per = ", ".join(f"{done / duration:.0f}" for done, _, _ in outcomes)
    print(f"  {name:8s} {processes} processes x {concurrency:2d} conc.: {total / duration:7.0f} /s COMBINED"
          f" (per process {per})   (latency under load {_summary(latencies)})"
          + (f"  ({refused} refused)" if name == "reserve" else ""))


async def _database(backend: str, args: argparse.Namespace) -> tuple[str, bool]:
    """The database URL, and whether it must be seeded."""
    if backend == "sqlite":
        path = Path(args.sqlite_path) if args.sqlite_path else Path(tempfile.mkdtemp()) / "bench.db"
        reuse = args.reuse and path.exists()
        if path.exists() and not reuse:
            path.unlink()
        return f"sqlite+aiosqlite:///{path}", not reuse
    conn = await asyncpg.connect(args.pg_admin)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = 'dialer_bench'")
        reuse = bool(args.reuse and exists)
        if not reuse:
            await conn.execute("DROP DATABASE IF EXISTS dialer_bench WITH (FORCE)")
            await conn.execute("CREATE DATABASE dialer_bench")
    finally:
        await conn.close()
    return args.pg_admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + "/dialer_bench", not reuse


async def _forget_reservations(url: str) -> None:
    """On a reused database: drop the attempts earlier runs reserved, so caps do not fill up
    (the ledger is append-only and keeps its rows)."""
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(delete(Attempt).where(Attempt.source == "dialer"))
    await engine.dispose()


async def _checkpoints(url: str) -> int:
    """Checkpoints the PostgreSQL server has made (other databases' CREATE/DROP DATABASE make some)."""
    if url.startswith("sqlite"):
        return 0
    engine = create_engine(url)
    async with engine.connect() as conn:
        done = (await conn.execute(text("SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter"))).scalar_one()
    await engine.dispose()
    return done


async def main(args: argparse.Namespace) -> None:
    print(f"event loop: {args.loop}; sequential: {args.samples} samples; throughput: {args.duration:.0f} s per figure;"
          f" {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} (other work on the machine skews the figures)")
    for backend in args.backends.split(","):
        url, fresh = await _database(backend, args)
        t0 = time.perf_counter()
        if fresh:
            await seed(url, args.parties, args.attempts)
            if backend == "postgres":  # as autovacuum would have left it (and this server may run none)
                engine = create_engine(url, isolation_level="AUTOCOMMIT")
                async with engine.connect() as conn:
                    await conn.execute(text("VACUUM ANALYZE"))
                await engine.dispose()
            print(f"{backend}: {args.parties:,} parties, {args.attempts:,} attempts seeded in {time.perf_counter() - t0:.0f} s")
        else:
            await _forget_reservations(url)
            print(f"{backend}: reusing the seeded database ({args.parties:,} parties assumed)")
        checkpoints = await _checkpoints(url)
        await measure(url, args.parties, args.samples, args.concurrency, args.processes, args.duration, args.loop,
                      args.ops.split(","))
        print(f"  (load average now {os.getloadavg()[0]:.2f}"
              + (f"; {await _checkpoints(url) - checkpoints} checkpoints during the run: after each one, the first"
                 f" change to every page writes the whole page to the WAL, so frequent ones slow each commit"
                 if backend == "postgres" else "") + ")")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--ops", default="check,reserve", help="operations to measure")
    parser.add_argument("--parties", type=int, default=100_000)
    parser.add_argument("--attempts", type=int, default=2_000_000)
    parser.add_argument("--samples", type=int, default=1000, help="sequential calls measured per operation")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent workers per process")
    parser.add_argument("--processes", type=int, default=1,
                        help="also measure N worker processes (like N uvicorn replicas) on the same database")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per throughput figure")
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio",
                        help="event loop (uvicorn[standard] serves on uvloop)")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse an already seeded database (same sizes) instead of seeding again")
    parser.add_argument("--sqlite-path", help="SQLite file (default: a new temporary directory)")
    parser.add_argument("--pg-admin", default="postgresql://postgres@127.0.0.1:5432/postgres")
    arguments = parser.parse_args()
    _run_loop(main(arguments), arguments.loop)
