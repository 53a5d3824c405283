"""Benchmark: the progressive engine — from "agent ready" to "call created at the carrier".

Seeds a PostgreSQL database of its own (``dialer_bench_dialer``, dropped and created; ``--reuse``
keeps it and only clears what earlier runs dialed) with one client (preset agency-default, calling
window 00:00–24:00 every day so the time of day does not matter), CASES open cases of one team
(a debtor with 1–2 numbers and 0–2 third parties with one each; buckets and amounts spread as a
real portfolio; ~2 % not yet callable, some follow-ups and promises due today, a few stop-contacts
and invalid numbers, two weeks of attempts with their calls and notes), AGENTS agents at seats in
progressive mode and one running progressive campaign. Then, with the real ``ProgressiveEngine`` (woken by
``wake(agent_id)`` after each ready, as the agent API does) and ``FakeCarrier`` subclassed to
timestamp each ``place_call``:

* ``latency``    — one agent at a time: ready committed (t0) → ``place_call`` reached (t1), with the
  split of t1 - t0 into sweep (t0 → dial_next starts), hand-out transaction (→ its commit) and the
  seat's leg (→ ``place_call``), and SQL statements per dial;
* ``saturation`` — every agent cycles with no talk time (closed loop): as soon as the engine has
  dialed for an agent (its seat's leg recorded), the bench "ends the call and saves the note" in the
  database (call ended no-answer, attempt settled, a wrap-up note, agent ready: one statement on a
  connection of its own) and wakes the engine. Events/s here is the engine's ceiling; latency under
  it is queueing (Little's law: AGENTS / rate), not the engine's cost per event;
* ``paced``      — agents made ready at a fixed RATE (the idle agent waiting longest first): the
  latency the issue's target is about, at the target's rate. Starved ticks mean no agent was idle
  (the engine fell behind);
* ``--processes N`` — N engine processes (like N replicas) against the same database, closed loop;
  the combined rate. An agent is reset by the process that dialed for it, which wakes its own
  engine; the others find it at their 0.5 s sweep, and lose its row lock (``not_ready``).

Events that are not dials (queue_empty, no_campaign) are counted; their agent stays
ready and the engine comes back to it after its idle back-off, so that latency lands in the next
dial's figure. CPU is per process (engine + the bench's reset, whose own cost is measured apart)
and the bench database's PostgreSQL backends.

    .venv/bin/python bench/dialer.py                                # full size: 100,000 cases, 50 agents
    .venv/bin/python bench/dialer.py --reuse --processes 2          # skip seeding; add 2 replicas
    .venv/bin/python bench/dialer.py --cases 10000 --duration 10 --rate 100
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import datetime as dt
import logging
import math
import multiprocessing
import os
import random
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg  # noqa: E402
from sqlalchemy import event, insert, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from dialer import models as _every_model  # noqa: E402,F401  (every table mapped, for the foreign keys)
from dialer.agents.models import AgentSession  # noqa: E402
from dialer.auth.models import Role, User  # noqa: E402
from dialer.campaigns.models import Campaign  # noqa: E402
from dialer.cases.models import Bucket, Case, Party, PhoneNumber  # noqa: E402
from dialer.clients.models import Client, PolicyVersion  # noqa: E402
from dialer.compliance.models import Attempt, StopContact  # noqa: E402
from dialer.container import Container, build_container  # noqa: E402
from dialer.dialing.engine import Dialed, ProgressiveEngine  # noqa: E402
from dialer.dialing.urls import address_of  # noqa: E402
from dialer.kit.clock import system_clock  # noqa: E402
from dialer.kit.db import create_engine  # noqa: E402
from dialer.kit.migrations import upgrade_to_head  # noqa: E402
from dialer.notes.models import PromiseToPay  # noqa: E402
from dialer.policy.presets import build_policy  # noqa: E402
from dialer.seats.models import Seat  # noqa: E402
from dialer.settings import REPO_ROOT, Settings  # noqa: E402
from dialer.telephony.carrier import PlaceCall, PlacedCall  # noqa: E402
from dialer.telephony.fake import FakeCarrier  # noqa: E402

UTC = dt.timezone.utc
ZONE = "Asia/Shanghai"
TEAM = "floor"
BATCH = 20_000
DATABASE = "dialer_bench_dialer"
ALL_DAY = {"calling_window": {"weekdays": {day: [{"start": "00:00", "end": "24:00"}]
                                           for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}}

# --- the portfolio ---------------------------------------------------------------------------------


def _case_row(i: int, rng: random.Random, now: dt.datetime, agents: int) -> dict[str, Any]:
    roll = rng.random()
    days = (rng.randint(1, 7) if roll < 0.02 else rng.randint(8, 30) if roll < 0.40
            else rng.randint(31, 60) if roll < 0.70 else rng.randint(61, 720))  # < 8: not callable yet
    owed = round(min(500_000.0, max(200.0, rng.lognormvariate(9.0, 1.1))), 2)
    follow = rng.random()
    return {
        "id": i, "client_id": 1, "account_ref": f"A{i:07d}", "product": rng.choice(("card", "loan", "lease")),
        "principal": round(owed * 0.85, 2), "interest_fees": round(owed - round(owed * 0.85, 2), 2),
        "total_owed": owed, "overdue_days": days, "overdue_as_of": now.date(), "bucket": Bucket.for_days(days).value,
        "status": "open", "contactability": rng.choices(("reachable", "partly_lost", "lost"), (96, 3, 1))[0],
        "assigned_agent_id": rng.randint(1, agents) if rng.random() < 0.10 else None, "team": TEAM,
        "next_follow_up_at": (now - dt.timedelta(minutes=rng.randint(1, 2880)) if follow < 0.05
                              else now + dt.timedelta(minutes=rng.randint(60, 4320)) if follow < 0.15 else None),
        "created_at": now, "updated_at": now,
    }


async def seed(url: str, *, cases: int, agents: int) -> dict[str, int]:
    """The floor and the portfolio, in Core bulk inserts of BATCH rows."""
    engine = create_engine(url)
    await upgrade_to_head(engine, REPO_ROOT / "alembic")
    rng = random.Random(7)
    now = dt.datetime.now(UTC)
    today = now.astimezone(ZoneInfo(ZONE)).date()
    document = build_policy("agency-default", ALL_DAY).model_dump(mode="json")
    counts: collections.Counter[str] = collections.Counter()
    async with engine.begin() as conn:
        await conn.execute(insert(Client), [{"id": 1, "code": "BENCH", "name": "Bench Bank", "policy_version": 1,
                                             "created_at": now}])
        await conn.execute(insert(PolicyVersion), [{"client_id": 1, "version": 1, "preset": "agency-default",
                                                    "overrides": ALL_DAY, "document": document, "created_at": now}])
        await conn.execute(insert(User), [{"id": a, "username": f"agent{a}", "display_name": f"Agent {a}",
                                           "role": Role.AGENT, "team": TEAM, "active": True, "created_at": now}
                                          for a in range(1, agents + 1)])
        await conn.execute(insert(Seat), [{"id": a, "code": f"S{a}", "softphone_identity": f"client:seat{a}",
                                           "team": TEAM, "created_at": now} for a in range(1, agents + 1)])
        await conn.execute(insert(AgentSession), [{"agent_id": a, "seat_id": a, "state": "not_ready",
                                                   "mode": "progressive", "state_since": now, "started_at": now}
                                                  for a in range(1, agents + 1)])
        await conn.execute(insert(Campaign), [{"id": 1, "client_id": 1, "name": "Bench progressive",
                                               "mode": "progressive", "status": "running", "team": TEAM,
                                               "created_at": now}])
        party_id = number_id = 0
        for start in range(1, cases + 1, BATCH):
            ids = range(start, min(start + BATCH, cases + 1))
            parties, numbers, promises, stops, attempts = [], [], [], [], []
            case_rows = [_case_row(i, rng, now, agents) for i in ids]
            for case in case_rows:
                roll = rng.random()
                if roll < 0.01:
                    promises.append({"case_id": case["id"], "amount": round(case["total_owed"] / 4, 2),
                                     "due_date": today, "status": "pending", "created_at": now})
                elif roll < 0.02:
                    promises.append({"case_id": case["id"], "amount": round(case["total_owed"] / 4, 2),
                                     "due_date": today + dt.timedelta(days=rng.randint(1, 14)), "status": "pending",
                                     "created_at": now})
                third = rng.choices((0, 1, 2), (40, 40, 20))[0]
                for k in range(1 + third):
                    party_id += 1
                    debtor = k == 0
                    parties.append({"id": party_id, "case_id": case["id"], "role": "debtor" if debtor else "third_party",
                                    "relation": "self" if debtor else rng.choice(("spouse", "parent", "sibling",
                                                                                  "colleague", "friend")),
                                    "name": f"P{party_id}", "debt_related": False, "created_at": now})
                    if rng.random() < (0.003 if debtor else 0.01):
                        stops.append({"client_id": 1, "case_id": case["id"], "party_id": party_id,
                                      "source": "client_list" if debtor else "party_request", "reason": "bench",
                                      "created_at": now})
                    for position in range(2 if debtor and rng.random() < 0.3 else 1):
                        number_id += 1
                        numbers.append({"id": number_id, "party_id": party_id, "e164": f"+86138{number_id:08d}",
                                        "kind": "mobile", "region": "CN", "time_zone": ZONE,
                                        "valid": rng.random() >= 0.02, "position": position, "created_at": now})
                        for _ in range(rng.choices((0, 1, 2, 3), (50, 25, 15, 10))[0]):
                            attempts.append({"client_id": 1, "case_id": case["id"], "party_id": party_id,
                                             "number_id": number_id, "source": "import", "direction": "outbound",
                                             "started_at": now - dt.timedelta(minutes=rng.randint(30, 14 * 1440)),
                                             "outcome": rng.choice(("no_answer", "busy", "answered", "rejected")),
                                             "conversation": False, "created_at": now})
            for model, rows in ((Case, case_rows), (Party, parties), (PhoneNumber, numbers), (PromiseToPay, promises),
                                (StopContact, stops), (Attempt, attempts)):
                if rows:
                    await conn.execute(insert(model), rows)
                counts[model.__tablename__] += len(rows)
        for statement in _HISTORY:
            await conn.execute(text(statement), {"agents": agents})
        counts["calls"] = counts["wrap_up_notes"] = counts["attempts"]
        for table in ("clients", "users", "seats", "campaigns", "cases", "parties", "phone_numbers", "calls",
                      "wrap_up_notes", "attempts"):
            await conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                    f"(SELECT max(id) FROM {table}))"))
    async with engine.connect() as conn:  # the planner sees the tables as they are (autovacuum would, soon)
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE"))
    await engine.dispose()
    return dict(counts)


_HISTORY = (
    # Every attempt of the seeded history was dialed by this system, in preview (no campaign) by
    # one of the agents: its call (same id) and the note its agent saved. A floor that has run for
    # two weeks has these, and the engine's reads (the agent's last call and its note) are planned
    # on tables of that size, not on the empty ones a first run would otherwise start from.
    """INSERT INTO calls (id, direction, carrier, state, outcome, client_id, case_id, party_id, number_id,
                           agent_id, seat_id, carrier_call_id, from_e164, to_e164, conversation, recording_missing,
                           requested_at, answered_at, ended_at, duration_s, updated_at)
       SELECT a.id, 'outbound', 'twilio',
              CASE a.outcome WHEN 'answered' THEN 'completed' ELSE a.outcome END,
              a.outcome, a.client_id, a.case_id, a.party_id, a.number_id,
              a.id % :agents + 1, a.id % :agents + 1, 'CA-history-' || a.id, '+861080000000', n.e164, false, false,
              a.started_at, CASE a.outcome WHEN 'answered' THEN a.started_at + interval '20 s' END,
              a.started_at + interval '45 s', 45, a.started_at + interval '45 s'
       FROM attempts a JOIN phone_numbers n ON n.id = a.number_id""",
    "UPDATE attempts SET call_id = id, source = 'dialer'",
    """INSERT INTO wrap_up_notes (id, call_id, case_id, party_id, agent_id, disposition, result, created_at)
       SELECT id, id, case_id, party_id, agent_id,
              CASE outcome WHEN 'answered' THEN 'refused' ELSE 'no_contact' END, 'history', ended_at
       FROM calls""",
)


async def forget_runs(url: str) -> None:
    """On a reused database: bring its schema to the head revision (a database seeded by an older
    checkout) and undo what earlier runs dialed (the append-only ledger keeps its rows)."""
    engine = create_engine(url)
    await upgrade_to_head(engine, REPO_ROOT / "alembic")
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE agent_sessions SET state = 'not_ready', current_call_id = NULL"))
        run = "SELECT id FROM calls WHERE campaign_id IS NOT NULL"  # the seeded history has none
        await conn.execute(text(f"DELETE FROM wrap_up_notes WHERE call_id IN ({run})"))
        await conn.execute(text(f"DELETE FROM attempts WHERE call_id IN ({run})"))
        await conn.execute(text("DELETE FROM calls WHERE campaign_id IS NOT NULL"))
        await conn.execute(text("UPDATE cases SET held_by_agent_id = NULL, held_until = NULL, next_allowed_at = NULL,"
                                " blocked_rules = NULL WHERE held_until IS NOT NULL OR next_allowed_at IS NOT NULL"))
    # The undo leaves thousands of dead rows at once, which autovacuum would clear within the minute
    # on a live database; without this the next run measures the bloat (about 15 % fewer dials/s).
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE"))
    await engine.dispose()


# --- the floor: engine, stamping carrier, simulated agents ------------------------------------------

_END_AND_READY = """
WITH ended AS (
    UPDATE calls SET state = 'no_answer', outcome = 'no_answer', ended_at = now(), updated_at = now(),
                     carrier_call_id = 'CA-bench-' || id
    WHERE id = $2 RETURNING id, case_id, party_id, agent_id),
settled AS (UPDATE attempts SET outcome = 'no_answer' WHERE call_id = $2),
noted AS (
    INSERT INTO wrap_up_notes (call_id, case_id, party_id, agent_id, disposition, result, created_at)
    SELECT id, case_id, party_id, agent_id, 'no_contact', 'bench', now() FROM ended)
UPDATE agent_sessions SET state = 'ready', state_reason = 'notes_saved', state_since = now(), current_call_id = NULL
WHERE agent_id = $1 AND ended_at IS NULL
"""
"""The call (its party's leg placed) ended unanswered, its attempt settled, the note saved, the agent
ready: what the agent's wrap-up request leaves behind, in one statement so the bench's own cost
stays small."""


class _StampingCarrier(FakeCarrier):
    """The in-memory carrier, noting the instant each call reaches it."""

    def __init__(self, on_place) -> None:
        super().__init__()
        self._on_place = on_place

    async def place_call(self, request: PlaceCall) -> PlacedCall:
        self._on_place(request, time.monotonic())
        placed = await super().place_call(request)
        self.requests.clear()  # nothing reads them here; keep memory flat over a long run
        return placed


class _CountingEngine(ProgressiveEngine):
    """The real engine; the bench is told when an agent's dial starts and how it ended."""

    def __init__(self, container: Container, floor: _Floor) -> None:
        super().__init__(container.dialer)
        self.floor = floor

    async def _serve(self, agent_id: int) -> Dialed:
        self.floor.served_at = time.monotonic()
        result = await super()._serve(agent_id)
        self.floor.served(agent_id, result)
        return result


class _Floor:
    """One process's engine and the agents it serves; ``ready_at`` (per agent, monotonic seconds) may
    be shared with other processes."""

    def __init__(self, url: str, agents: int, ready_at) -> None:
        engine = create_engine(url)  # the service's own engine settings (pool, pre-ping when idle)
        settings = Settings(database_url=url, twilio_caller_id="+862161230000",
                            public_base_url="https://dialer.example.com")
        self.carrier = _StampingCarrier(self._placed)
        self.container = build_container(settings, clock=system_clock, engine=engine, carrier=self.carrier,
                                         sign_tokens=False)
        self.engine = _CountingEngine(self.container, self)
        self.container.dialer_engine = self.engine
        self.dsn = url.replace("postgresql+asyncpg://", "postgresql://")
        self.seat_agent = {address_of(f"client:seat{a}"): a for a in range(1, agents + 1)}
        self.ready_at = ready_at
        self.last_call: dict[int, int | None] = {}
        self.window = (math.inf, math.inf)  # placements counted between these monotonic instants
        self.latencies: list[tuple[float, float]] = []  # (placed at, ms)
        self.outcomes: collections.Counter[str] = collections.Counter()
        self.on_dialed = None  # what to do with an agent the engine has dialed for
        self.statements = 0
        self.served_at = self.committed_at = self.placed_at = 0.0
        self.placed_event = asyncio.Event()
        self.pool: asyncpg.Pool | None = None
        event.listen(engine.sync_engine, "before_cursor_execute", self._statement)
        event.listen(engine.sync_engine, "commit", self._commit)

    def _statement(self, *_args: Any) -> None:
        self.statements += 1

    def _commit(self, *_args: Any) -> None:
        self.committed_at = time.monotonic()

    def _placed(self, request: PlaceCall, at: float) -> None:
        agent = self.seat_agent[request.to_e164]
        self.placed_at = at
        if self.window[0] <= at < self.window[1]:
            self.latencies.append((at, (at - self.ready_at[agent]) * 1000))
        self.placed_event.set()

    def served(self, agent_id: int, result: Dialed) -> None:
        self.outcomes[result.outcome] += 1
        if result.outcome == "dialed":
            self.last_call[agent_id] = result.call_id
            if self.on_dialed is not None:
                self.on_dialed(agent_id)

    async def start(self) -> None:
        self.pool = await asyncpg.create_pool(self.dsn, min_size=2, max_size=4)
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(self.engine.run(self.stop))

    async def close(self) -> None:
        self.stop.set()
        await self.task
        assert self.pool is not None
        await self.pool.close()
        await self.container.engine.dispose()

    async def ready(self, agent_id: int) -> None:
        """The call ended and the note is saved: the agent is ready (t0 is taken when that is
        committed, with a provisional value just before, in case another process is quicker)."""
        assert self.pool is not None
        self.ready_at[agent_id] = time.monotonic()
        await self.pool.execute(_END_AND_READY, agent_id, self.last_call.pop(agent_id, None))
        self.ready_at[agent_id] = time.monotonic()
        self.engine.wake(agent_id)


async def _all(dsn: str, state: str, agents: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("UPDATE agent_sessions SET state = $1, state_since = now(), current_call_id = NULL "
                           "WHERE agent_id <= $2 AND ended_at IS NULL", state, agents)
        await conn.execute("UPDATE agent_sessions SET state = 'not_ready' WHERE agent_id > $1", agents)
    finally:
        await conn.close()


# --- the runs --------------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else math.nan


def _summary(ms: list[float]) -> str:
    if not ms:
        return "no dials"
    return (f"p50 {statistics.median(ms):6.1f} ms  p99 {pct(ms, 0.99):6.1f} ms  max {max(ms):6.1f} ms"
            f"  ({len(ms)} dials)")


def _outcomes(floor: _Floor) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(floor.outcomes.items()))


async def _backend_pids(dsn: str) -> list[int]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                "AND pid <> pg_backend_pid()")
        return [r["pid"] for r in rows]
    finally:
        await conn.close()


def _cpu_of(pids: list[int]) -> dict[int, float]:
    """Seconds of CPU (user + system) each live process has used."""
    used = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return used


def _cpu_between(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU used in between by the processes alive at both ends (a pool's overflow connections that
    closed in between are left out: the figure is a lower bound)."""
    return sum(after[pid] - before[pid] for pid in before.keys() & after.keys())


class _Cpu:
    """This process's CPU (user, system seconds) since it was made."""

    def __init__(self) -> None:
        self.user, self.system = self._now()

    @staticmethod
    def _now() -> tuple[float, float]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime, usage.ru_stime

    def spent(self) -> tuple[float, float]:
        user, system = self._now()
        return user - self.user, system - self.system


def _per(cpu: tuple[float, float], n: int) -> str:
    user, system = (1000 * v / max(1, n) for v in cpu)
    return f"{user + system:.1f} ms (user {user:.1f} + sys {system:.1f})"


async def reset_cost(url: str, agents: int, n: int = 300) -> float:
    """The bench's own CPU per ready event (the reset statement on its pool), in ms."""
    floor = _Floor(url, agents, [0.0] * (agents + 1))
    floor.pool = await asyncpg.create_pool(floor.dsn, min_size=1, max_size=1)
    cpu = _Cpu()
    for i in range(n):
        await floor.ready(1 + i % agents)
    used = sum(cpu.spent()) * 1000 / n
    await floor.pool.close()
    await floor.container.engine.dispose()
    await _all(floor.dsn, "not_ready", agents)
    return used


STALL_S = 30.0
"""A sequential dial that has not reached the carrier after this long is a broken engine: stop."""


async def _dialed_within(floor: _Floor, seconds: float) -> None:
    try:
        await asyncio.wait_for(floor.placed_event.wait(), seconds)
    except TimeoutError:
        raise SystemExit(f"no call reached the carrier {seconds:.0f} s after a ready event (outcomes so far: "
                         f"{_outcomes(floor)}; the engine's errors are logged above)") from None


async def sequential(url: str, agents: int, samples: int) -> None:
    """One agent, one event at a time: the latency with nothing else going on, and its split."""
    floor = _Floor(url, agents, [0.0] * (agents + 1))
    await _all(floor.dsn, "not_ready", agents)
    await floor.start()
    done = asyncio.Event()
    floor.on_dialed = lambda _agent: done.set()
    floor.window = (0.0, math.inf)
    parts: list[tuple[float, float, float]] = []
    statements: list[int] = []
    cpu = _Cpu()
    for i in range(samples + 20):
        done.clear()
        floor.placed_event.clear()
        before = floor.statements
        await floor.ready(1)
        await _dialed_within(floor, STALL_S)
        t0 = floor.ready_at[1]
        parts.append(((floor.served_at - t0) * 1000, (floor.committed_at - floor.served_at) * 1000,
                      (floor.placed_at - floor.committed_at) * 1000))
        await done.wait()
        statements.append(floor.statements - before)
        if i == 19:  # warmed up: caches, the pool, prepared statements
            floor.latencies.clear()
            parts.clear()
            statements.clear()
            floor.outcomes.clear()
            cpu = _Cpu()
    spent = cpu.spent()
    await floor.close()
    ms = [m for _, m in floor.latencies]
    print(f"  latency, 1 agent, sequential       : {_summary(ms)}")
    print(f"    split (p50): sweep {statistics.median(p[0] for p in parts):.1f} ms → hand-out transaction "
          f"{statistics.median(p[1] for p in parts):.1f} ms → seat leg read {statistics.median(p[2] for p in parts):.1f}"
          f" ms; {statistics.median(statements):.0f} SQL statements per cycle (incl. sweep, placement record,"
          f" excl. the bench's reset); engine-process CPU {_per(spent, samples)} per event")
    print(f"    outcomes: {_outcomes(floor)}")


async def _closed_loop(floor: _Floor, agents: int, warmup: float, duration: float,
                       start: float) -> tuple[tuple[float, float], float]:
    """Every agent cycles at once; returns this process's CPU (user, system) in the measured window
    and that of its database backends (seconds)."""
    floor.on_dialed = lambda agent: asyncio.get_running_loop().create_task(floor.ready(agent))
    await asyncio.sleep(max(0.0, start - time.monotonic()))
    floor.window = (start + warmup, start + warmup + duration)
    floor.engine.wake()
    await asyncio.sleep(warmup)
    pids = await _backend_pids(floor.dsn)  # this process's pool (and the other processes')
    pg, cpu = _cpu_of(pids), _Cpu()
    await asyncio.sleep(duration)
    spent, pg = cpu.spent(), _cpu_between(pg, _cpu_of(pids))
    floor.on_dialed = None
    return spent, pg


def _drift(floor: _Floor, start: float, duration: float, slices: int = 4) -> str:
    step = duration / slices
    out = []
    for k in range(slices):
        ms = [m for at, m in floor.latencies if start + k * step <= at < start + (k + 1) * step]
        out.append(f"{len(ms) / step:.0f}/s p50 {pct(ms, 0.5):.0f} p99 {pct(ms, 0.99):.0f}")
    return " | ".join(out)


async def saturation(url: str, agents: int, warmup: float, duration: float) -> None:
    floor = _Floor(url, agents, [0.0] * (agents + 1))
    await _all(floor.dsn, "ready", agents)
    now = time.monotonic()
    for a in range(1, agents + 1):
        floor.ready_at[a] = now
    await floor.start()
    start = time.monotonic() + 0.2
    cpu, pg = await _closed_loop(floor, agents, warmup, duration, start)
    await floor.close()
    ms = [m for _, m in floor.latencies]
    n = max(1, len(ms))
    print(f"  saturation, {agents} agents, 1 process : {len(ms) / duration:6.1f} ready events/s dialed   "
          f"(latency under it {_summary(ms)})")
    print(f"    CPU per dial: engine process {_per(cpu, n)}, PostgreSQL backends ≥{pg * 1000 / n:.1f} ms;"
          f" the engine process got {100 * sum(cpu) / duration:.0f} % of a core (the rest: runnable, not running,"
          f" on a shared machine, or waiting)")
    print(f"    → at this CPU cost, one process with a core of its own would dial ≈{n / sum(cpu):.0f}/s; the"
          f" whole 2-core machine (engine + PostgreSQL) ≈{2 * n / (sum(cpu) + pg):.0f}/s")
    print(f"    by quarter of the run: {_drift(floor, start + warmup, duration)}")
    print(f"    outcomes (whole run, warm-up included): {_outcomes(floor)}")


async def paced(url: str, agents: int, rate: float, warmup: float, duration: float) -> None:
    """Ready events at ``rate`` per second, taken from the agents that are idle (longest first)."""
    floor = _Floor(url, agents, [0.0] * (agents + 1))
    await _all(floor.dsn, "not_ready", agents)
    await floor.start()
    idle = collections.deque(range(1, agents + 1))
    floor.on_dialed = idle.append
    loop = asyncio.get_running_loop()
    start = time.monotonic() + 0.2
    floor.window = (start + warmup, start + warmup + duration)
    starved = ticks = issued = 0
    tasks = set()
    end = start + warmup + duration

    async def window_cpu() -> tuple[float, float]:
        await asyncio.sleep(max(0.0, start + warmup - time.monotonic()))
        cpu = _Cpu()
        await asyncio.sleep(max(0.0, end - time.monotonic()))
        return cpu.spent()

    cpu_task = loop.create_task(window_cpu())
    while (now := time.monotonic()) < end:
        due = int((now - start) * rate) + 1 - issued  # ticks due by now (several when the loop was busy)
        if due <= 0:
            await asyncio.sleep(start + issued / rate - now)
            continue
        for _ in range(due):
            measured = start + issued / rate >= start + warmup
            issued += 1
            ticks += measured
            if idle:
                task = loop.create_task(floor.ready(idle.popleft()))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            else:
                starved += measured
        await asyncio.sleep(0)
    spent = await cpu_task
    await asyncio.sleep(0.5)
    await floor.close()
    ms = [m for _, m in floor.latencies]
    print(f"  paced at {rate:.0f}/s, {agents} agents      : {len(ms) / duration:6.1f} dials/s   {_summary(ms)}"
          f"   ({starved} of {ticks} ready ticks found no idle agent)")
    print(f"    engine process CPU {_per(spent, len(ms))} per dial (busy {100 * sum(spent) / duration:.0f} %);"
          f" by quarter: {_drift(floor, start + warmup, duration)}")
    print(f"    outcomes (whole run): {_outcomes(floor)}")


def _process_main(url: str, agents: int, warmup: float, duration: float, start: float, ready_at, loop: str,
                  results) -> None:
    async def go() -> tuple[list[float], dict[str, int], tuple[float, float]]:
        floor = _Floor(url, agents, ready_at)
        await floor.start()
        cpu, _ = await _closed_loop(floor, agents, warmup, duration, start)
        await floor.close()
        return [m for _, m in floor.latencies], dict(floor.outcomes), cpu

    results.put(_run_loop(go(), loop))


async def replicas(url: str, agents: int, processes: int, warmup: float, duration: float, loop: str) -> None:
    context = multiprocessing.get_context("spawn")
    ready_at = context.Array("d", agents + 1, lock=False)
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    await _all(dsn, "ready", agents)
    start = time.monotonic() + 5.0  # every process started, connected and its engine running
    for a in range(1, agents + 1):
        ready_at[a] = start
    results = context.Queue()
    children = [context.Process(target=_process_main, args=(url, agents, warmup, duration, start, ready_at, loop,
                                                             results)) for _ in range(processes)]
    for child in children:
        child.start()
    await asyncio.sleep(max(0.0, start + warmup - time.monotonic()))
    pids = await _backend_pids(dsn)
    pg = _cpu_of(pids)
    await asyncio.sleep(max(0.0, start + warmup + duration - time.monotonic()))
    pg = _cpu_between(pg, _cpu_of(pids))
    outcomes = [await asyncio.to_thread(results.get) for _ in children]
    for child in children:
        child.join()
    ms = [m for values, *_ in outcomes for m in values]
    counts: collections.Counter[str] = collections.Counter()
    for _, c, _ in outcomes:
        counts.update(c)
    per = ", ".join(f"{len(values) / duration:.0f}" for values, *_ in outcomes)
    cpu = (sum(c[0] for *_, c in outcomes), sum(c[1] for *_, c in outcomes))
    print(f"  saturation, {agents} agents, {processes} processes: {len(ms) / duration:6.1f} ready events/s dialed"
          f" COMBINED (per process {per})   (latency under it {_summary(ms)})")
    print(f"    CPU per dial: engine processes {_per(cpu, len(ms))}, PostgreSQL backends"
          f" ≥{pg * 1000 / max(1, len(ms)):.1f} ms")
    print(f"    outcomes (whole run): {', '.join(f'{k} {v}' for k, v in sorted(counts.items()))}")


# --- main ------------------------------------------------------------------------------------------


async def _database(args: argparse.Namespace) -> tuple[str, bool]:
    """The database URL, and whether it must be seeded."""
    conn = await asyncpg.connect(args.pg_admin)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE)
        reuse = bool(args.reuse and exists)
        if not reuse:
            await conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
            await conn.execute(f"CREATE DATABASE {DATABASE}")
    finally:
        await conn.close()
    url = make_url(args.pg_admin).set(drivername="postgresql+asyncpg", database=DATABASE)
    return url.render_as_string(hide_password=False), not reuse


async def _drop(args: argparse.Namespace) -> None:
    conn = await asyncpg.connect(args.pg_admin)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    finally:
        await conn.close()


async def main(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")  # the engine's errors
    print(f"event loop: {args.loop}; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} "
          f"(other work on the machine skews the figures)")
    url, fresh = await _database(args)
    t0 = time.perf_counter()
    if fresh:
        counts = await seed(url, cases=args.cases, agents=args.agents)
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:  # as autovacuum would have left it
            await conn.execute(text("VACUUM ANALYZE"))
        await engine.dispose()
        print(f"postgres: seeded in {time.perf_counter() - t0:.0f} s: "
              + ", ".join(f"{v:,} {k}" for k, v in counts.items()) + f", {args.agents} agents at seats")
    else:
        await forget_runs(url)
        print(f"postgres: reusing {DATABASE} (earlier runs' dials undone; {args.cases:,} cases assumed)")
    print(f"  bench's own reset (end call, note, ready): {await reset_cost(url, args.agents):.2f} ms CPU per event,"
          " in the engine process")
    runs = args.runs.split(",")
    if "latency" in runs:
        await sequential(url, args.agents, args.samples)
    if "saturation" in runs:
        await saturation(url, args.agents, args.warmup, args.duration)
    if "paced" in runs:
        await paced(url, args.agents, args.rate, args.warmup, args.duration)
    if args.processes > 1:
        await replicas(url, args.agents, args.processes, args.warmup, args.duration, args.loop)
    print(f"  (load average now {os.getloadavg()[0]:.2f})")
    if not args.reuse and not args.keep:
        await _drop(args)


def _run_loop(coro, loop: str):
    if loop == "uvloop":
        import uvloop

        return uvloop.run(coro)
    return asyncio.run(coro)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--runs", default="latency,saturation,paced", help="which of latency,saturation,paced")
    parser.add_argument("--samples", type=int, default=300, help="sequential ready events measured")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds measured per concurrent run")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds run before measuring")
    parser.add_argument("--rate", type=float, default=200.0, help="ready events per second in the paced run")
    parser.add_argument("--processes", type=int, default=1, help="also run N engine processes (replicas)")
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio",
                        help="event loop (uvicorn[standard] serves on uvloop)")
    parser.add_argument("--reuse", action="store_true", help="reuse the seeded database (same sizes), keep it")
    parser.add_argument("--keep", action="store_true", help="keep the database after the run")
    parser.add_argument("--pg-admin", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="the server (TCP by default, as the service connects; a Unix socket: "
                             "postgresql://postgres@/postgres?host=/var/run/postgresql)")
    arguments = parser.parse_args()
    _run_loop(main(arguments), arguments.loop)
