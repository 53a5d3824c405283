"""Benchmark: compliance decisions and reservations on a large history.

Seeds a database with PARTIES parties (half debtors, half third parties) and ATTEMPTS
historical attempts spread over the last 60 days, then measures

* ``check``   — a recorded dry-run decision for a random party, and
* ``reserve`` — check + record an attempt atomically for a random number,

each as sequential latency (p50/p99) and as throughput with CONCURRENCY concurrent workers.

    .venv/bin/python bench/policy.py                       # both databases, full size
    .venv/bin/python bench/policy.py --backends postgres --parties 10000 --attempts 200000

The decision cost must not grow with the history: the look-back is bounded and indexed.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402

from dialer.auth.models import Role, User  # noqa: E402
from dialer.cases.models import Case, Party, PhoneNumber  # noqa: E402
from dialer.clients.models import Client, PolicyVersion  # noqa: E402
from dialer.compliance import service  # noqa: E402
from dialer.compliance.models import Attempt  # noqa: E402
from dialer.kit.db import create_engine, session_factory  # noqa: E402
from dialer.kit.errors import PolicyBlocked  # noqa: E402
from dialer.kit.migrations import upgrade_to_head  # noqa: E402
from dialer.policy.presets import build_policy  # noqa: E402
from dialer.seats.models import AgentSession, Seat  # noqa: E402
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


async def measure(url: str, parties: int, n: int, concurrency: int) -> None:
    engine = create_engine(url, **({} if url.startswith("sqlite") else {"pool_size": concurrency + 2}))
    sessions = session_factory(engine)
    rng = random.Random(11)

    async def one_check() -> None:
        async with sessions() as s:
            await service.check(s, at=NOW, party_id=rng.randrange(parties) + 1)
            await s.commit()

    async def one_reserve() -> None:
        async with sessions() as s:
            try:
                await service.reserve(s, number_id=rng.randrange(parties) + 1, at=NOW, agent_id=1, seat_id=1,
                                      mode="preview")
            except PolicyBlocked:
                pass
            await s.commit()

    for name, op in (("check", one_check), ("reserve", one_reserve)):
        for _ in range(20):  # warm up caches and the pool
            await op()
        latencies = []
        for _ in range(n):
            t0 = time.perf_counter()
            await op()
            latencies.append((time.perf_counter() - t0) * 1000)
        done = 0
        deadline = time.perf_counter() + max(3.0, n / 500)

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                await op()
                done += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
        print(f"  {name:8s} sequential p50 {statistics.median(latencies):6.2f} ms  p99 {pct(latencies, 0.99):6.2f} ms"
              f"  |  {concurrency} concurrent: {done / elapsed:7.0f} /s")
    await engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--parties", type=int, default=100_000)
    parser.add_argument("--attempts", type=int, default=2_000_000)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--pg-admin", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    for backend in args.backends.split(","):
        if backend == "sqlite":
            tmp = tempfile.mkdtemp()
            url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        else:
            conn = await asyncpg.connect(args.pg_admin)
            await conn.execute("DROP DATABASE IF EXISTS dialer_bench WITH (FORCE)")
            await conn.execute("CREATE DATABASE dialer_bench")
            await conn.close()
            url = args.pg_admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + "/dialer_bench"
        t0 = time.perf_counter()
        await seed(url, args.parties, args.attempts)
        if backend == "postgres":
            engine = create_engine(url)
            async with engine.connect() as conn:
                await conn.execute(text("ANALYZE"))
            await engine.dispose()
        print(f"{backend}: {args.parties:,} parties, {args.attempts:,} attempts seeded in {time.perf_counter() - t0:.0f} s")
        await measure(url, args.parties, args.samples, args.concurrency)


if __name__ == "__main__":
    asyncio.run(main())
