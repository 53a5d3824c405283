"""The progressive engine: one call per ready agent, placed the moment the agent is ready.

An agent in progressive mode who is ready is *reserved* the next case the policy allows now (the
work queue's hand-out, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL) and its best allowed number is
dialed at once through the same dial service as preview: reservation → call row → the agent's seat
rings → whisper → the party. Because the party is rung only after the agent's leg is up, no
answered call ever waits for an agent: no abandonment by construction.

The hand-out reads the case's parties locked, with the agent's context, and the attempt is
reserved on that very read: one read of the agent (with seat, teams and running campaigns), one of
the case, one write for the ledger entry, the call and the attempt. A case the policy refuses is
set aside by the hand-out (with its next allowed time) and the next one is asked. Stop the
campaign and the engine stops dialing. Several engines (replicas) run side by side: the
agent's row is locked ``SKIP LOCKED`` for the whole hand-out, so exactly one of them dials for a
given ready agent.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialer.agents import state as agents
from dialer.agents.models import AgentSession, AgentState
from dialer.calls.models import Call
from dialer.campaigns.models import DialMode
from dialer.cases.holds import WORKED_REST
from dialer.dialing import service
from dialer.dialing.carrier_actions import CarrierActions
from dialer.dialing.floor import Floor, Running, floor_of
from dialer.dialing.service import Outbound
from dialer.kit.clock import Clock
from dialer.kit.db import begin_write
from dialer.worklist import queue

log = logging.getLogger("dialer.engine")

IDLE_BACKOFF_S = 2.0
"""An agent with nothing to dial (no running campaign, empty queue) is looked at again after this,
or at once when woken."""
MAX_DIALS_IN_FLIGHT = 8
"""Dials one engine runs at once; the other ready agents wait their turn. Each dial holds a pooled
connection for its transaction: past a few at once they only queue for the CPU, and a burst of
ready agents larger than the pool would have it open and close overflow connections (a new
PostgreSQL backend each, and every statement prepared again on it) — far dearer than the wait."""


@dataclass(frozen=True, slots=True)
class Dialer:
    """What dialing for an agent needs, built once by the composition root: sessions (reads, and
    writers whose transactions begin as such), the clock, what outbound calls are written with,
    and the after-commit side that rings the seat."""

    sessions: async_sessionmaker[AsyncSession]
    write_sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    outbound: Outbound
    actions: CarrierActions


@dataclass(frozen=True, slots=True)
class Dialed:
    outcome: str  # dialed | not_ready | no_campaign | queue_empty
    call_id: int | None = None


async def dial_next(dialer: Dialer, agent_id: int) -> Dialed:
    """Serve one ready progressive agent: reserve the next case and dial it, or say why not.

    The hand-out asks the policy about each candidate, sets aside (parks) those it refuses and
    holds the first with a number this agent may dial now; the attempt is reserved on that very
    decision, so the reservation cannot refuse what the hand-out allowed."""
    now = dialer.clock()
    async with dialer.write_sessions() as session:
        await begin_write(session)
        floor = await floor_of(session, agent_id=agent_id)
        agent = floor.agent if floor is not None else None
        if floor is None or agent is None or agent.state is not AgentState.READY \
                or agent.mode != DialMode.PROGRESSIVE.value:
            return Dialed("not_ready")
        if not floor.campaigns:
            return Dialed("no_campaign")
        found = await _hand_out(session, floor, now=now)
        if found is None:
            await session.commit()  # the cases set aside stay set aside
            return Dialed("queue_empty")
        campaign, claim, best = found
        await agents.transition(session, agent, AgentState.RESERVED, now=now, reason=f"case {claim.case_id}")
        call = await service.dial_reserved(session, outbound=dialer.outbound, agent=agent, dialable=best, now=now,
                                           campaign_id=campaign.id)
        await session.commit()  # expire_on_commit is off: call and seat stay readable
    await dialer.actions.ring_seat(call.id, call=call, softphone=floor.softphone)
    return Dialed("dialed", call.id)


async def _hand_out(
    session: AsyncSession, floor: Floor, *, now: dt.datetime,
) -> tuple[Running, queue.Claim, queue.Dialable] | None:
    """The campaigns take turns (by agent and second); the first that hands out a case with a
    number this agent may dial now wins. Progressive holds a case for one dial: the one the agent
    worked last is given back by the first hand-out, resting before anyone gets it again."""
    agent, running = floor.agent, floor.campaigns
    start = (agent.agent_id + int(now.timestamp())) % len(running)
    for turn, campaign in enumerate(running[start:] + running[:start]):
        scope = queue.Scope.of(agent_id=agent.agent_id, teams=floor.teams, client_id=campaign.client_id,
                               zone=campaign.zone, now=now)
        claim = await queue.hand_out(session, agent_session=agent, scope=scope, now=now,
                                     rest_until=now + WORKED_REST if turn == 0 else None)
        if claim is not None:
            assert claim.best is not None  # hand_out gives back a case this agent may not dial
            return campaign, claim, claim.best
    return None


class ProgressiveEngine:
    """Watches for ready progressive agents and dials for each (woken at once by ``wake``, and
    sweeping every ``interval_s`` as a safety net)."""

    def __init__(self, dialer: Dialer, *, interval_s: float = 0.5, batch: int = 50,
                 in_flight: int = MAX_DIALS_IN_FLIGHT) -> None:
        self.dialer = dialer
        self.interval_s = interval_s
        self.batch = batch
        self._slots = asyncio.Semaphore(in_flight)
        self._wake = asyncio.Event()
        self._busy: set[int] = set()
        self._idle_until: dict[int, float] = {}
        self._pending: set[int] = set()  # agents this replica was told are ready: served at once
        self._sweep_now = True
        self._tasks: set[asyncio.Task[Dialed]] = set()
        self.dialed = 0

    def wake(self, agent_id: int | None = None) -> None:
        """An agent became ready (serve that one now), or a campaign started (look at everyone).
        Other ready agents wait for the next sweep, so replicas do not all chase every agent."""
        if agent_id is None:
            self._idle_until.clear()
            self._sweep_now = True
        else:
            self._idle_until.pop(agent_id, None)
            self._pending.add(agent_id)
        self._wake.set()

    def _start(self, agent_id: int) -> None:
        self._busy.add(agent_id)
        task = asyncio.create_task(self._serve(agent_id), name=f"dial-next-{agent_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def ready_agents(self) -> list[int]:
        async with self.dialer.sessions() as session:
            rows = await session.execute(
                select(AgentSession.agent_id)
                .where(AgentSession.ended_at.is_(None), AgentSession.state == AgentState.READY,
                       AgentSession.mode == DialMode.PROGRESSIVE.value)
                .order_by(AgentSession.state_since).limit(self.batch)
            )
            now = time.monotonic()
            return [agent_id for (agent_id,) in rows
                    if agent_id not in self._busy and self._idle_until.get(agent_id, 0.0) <= now]

    async def sweep(self) -> int:
        """Start a dial for every ready agent not already being served; returns how many."""
        agents = await self.ready_agents()
        for agent_id in agents:
            self._start(agent_id)
        return len(agents)

    async def _serve(self, agent_id: int) -> Dialed:
        try:
            async with self._slots:
                result = await dial_next(self.dialer, agent_id)
            if result.outcome == "dialed":
                self.dialed += 1
            elif result.outcome != "not_ready":
                self._idle_until[agent_id] = time.monotonic() + IDLE_BACKOFF_S
            return result
        except Exception:
            log.exception("progressive dial for agent %s failed", agent_id)
            return Dialed("error")
        finally:
            self._busy.discard(agent_id)

    async def _carrier_down(self) -> bool:
        """While the carrier does not answer, nobody is dialed (agents stay ready, waiting); it is
        probed with back-off, and the first answer lets every ready agent be served at once."""
        health = self.dialer.actions.health
        if health.up:
            return False
        carrier = self.dialer.actions.carrier
        if carrier is not None and health.probe_due() and await health.probe(carrier):
            self._idle_until.clear()
            self._sweep_now = True
            return False
        return True

    async def run(self, stop: asyncio.Event) -> None:
        last_sweep = 0.0
        while not stop.is_set():
            if await self._carrier_down():
                stopping = asyncio.ensure_future(stop.wait())
                await asyncio.wait({stopping}, timeout=self.interval_s)
                stopping.cancel()
                continue
            pending, self._pending = self._pending, set()
            for agent_id in pending - self._busy:
                self._start(agent_id)
            if self._sweep_now or time.monotonic() - last_sweep >= self.interval_s:
                self._sweep_now, last_sweep = False, time.monotonic()
                try:
                    await self.sweep()
                except Exception:
                    log.exception("engine sweep failed; next sweep in %.1fs", self.interval_s)
            self._wake.clear()
            waits = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
            await asyncio.wait(waits, timeout=self.interval_s, return_when=asyncio.FIRST_COMPLETED)
            for w in waits:
                w.cancel()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=10)


__all__ = ["Call", "Dialed", "ProgressiveEngine", "dial_next"]
