"""The delivery worker as a service: fan out every ``poll_s`` (at once when woken), and one lane per
active endpoint, each an independent task delivering its endpoint's due deliveries pass after pass,
so a slow endpoint holds up only itself. What a pass does is the worker's
(``dialer.outbox.worker.DeliveryWorker``); this module only keeps the passes coming."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Protocol

from sqlalchemy import case, func, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialer.kit.clock import Clock
from dialer.kit.db import table_of
from dialer.kit.types import UTCDateTime
from dialer.outbox.models import Delivery, DeliveryStatus
from dialer.outbox.signing import Signer

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Target:
    """An active endpoint as its lane sees it (re-read every ``refresh_s``)."""

    id: int
    url: str
    max_in_flight: int
    signer: Signer


@dataclass(slots=True)
class Figures:
    """What passes did: events fanned out, deliveries claimed, requests sent and their outcomes."""

    fanned: int = 0
    claimed: int = 0
    sent: int = 0
    delivered: int = 0
    retried: int = 0
    dead: int = 0
    disabled: int = 0

    def add(self, other: Figures) -> Figures:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)
        return self


class Passes(Protocol):
    """What the lanes run (the worker): its steps, and where its figures add up."""

    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    poll_s: float
    refresh_s: float
    totals: Figures

    async def fan_out(self) -> int: ...
    async def targets(self) -> list[Target]: ...
    async def deliver(self, target: Target) -> Figures: ...
    def claim_limit(self, target: Target) -> int: ...


@dataclass(eq=False)
class _Lane:
    target: Target
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    stop: bool = False
    task: asyncio.Task[None] | None = None


class Lanes:
    """Runs a worker's passes as a service: ``start``/``stop`` (a task of its own) or ``run``."""

    def __init__(self, worker: Passes) -> None:
        self.worker = worker
        self._wake = asyncio.Event()
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> asyncio.Task[None]:
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(self.run(self._stop), name="webhook-delivery")
        return self._task

    async def stop(self) -> None:
        if self._stop is not None and self._task is not None:
            self._stop.set()
            await self._task
        self._stop = self._task = None

    async def run(self, stop: asyncio.Event) -> None:
        """Fan out every ``poll_s`` (or at once when woken) and keep a lane running per active
        endpoint (re-read every ``refresh_s``) until ``stop``; lanes finish their batch first."""
        worker = self.worker
        lanes: dict[int, _Lane] = {}
        retired: list[_Lane] = []  # stopping: their batch is finished and recorded before run returns
        refreshed = float("-inf")
        try:
            while not stop.is_set():
                self._wake.clear()
                try:
                    fanned = await worker.fan_out()
                    worker.totals.fanned += fanned
                    if time.monotonic() - refreshed >= worker.refresh_s:
                        retired = [lane for lane in retired if lane.task is not None and not lane.task.done()]
                        retired += self._steer(lanes, await worker.targets(), stop)
                        refreshed = time.monotonic()
                    for lane in lanes.values():
                        if fanned:
                            lane.wake.set()
                except Exception:
                    log.exception("webhook fan-out failed; again in %.1f s", worker.poll_s)
                await _wait(self._wake, stop, timeout=worker.poll_s)
        finally:
            for lane in [*lanes.values(), *retired]:
                lane.stop = True
                lane.wake.set()
            await asyncio.gather(*(lane.task for lane in [*lanes.values(), *retired] if lane.task),
                                 return_exceptions=True)

    def _steer(self, lanes: dict[int, _Lane], targets: list[Target], stop: asyncio.Event) -> list[_Lane]:
        """Start a lane per new endpoint, hand running ones the endpoint as it is now, stop the
        others (returned: still finishing their batch)."""
        current = {t.id: t for t in targets}
        stopping = [lanes.pop(i) for i, lane in list(lanes.items())
                    if i not in current or (lane.task is not None and lane.task.done())]
        for lane in stopping:
            lane.stop = True
            lane.wake.set()
        for target in targets:
            if target.id in lanes:
                lanes[target.id].target = target
            else:
                lane = lanes[target.id] = _Lane(target)
                lane.task = asyncio.create_task(self._lane(lane, stop), name=f"webhook-lane-{target.id}")
        return [lane for lane in stopping if lane.task is not None and not lane.task.done()]

    async def _lane(self, lane: _Lane, stop: asyncio.Event) -> None:
        worker = self.worker
        while not (lane.stop or stop.is_set()):
            lane.wake.clear()
            wait = worker.refresh_s
            try:
                figures = await worker.deliver(lane.target)
                worker.totals.add(figures)
                if figures.disabled:
                    return
                if figures.claimed >= worker.claim_limit(lane.target):
                    continue
                wait = await next_due_in(worker.sessions, worker.clock, lane.target.id, at_most=worker.refresh_s)
            except Exception:
                log.exception("webhook lane for endpoint %s failed; again in %.1f s", lane.target.id, wait)
            await _wait(lane.wake, None, timeout=wait)


_DELIVERIES = table_of(Delivery)


async def next_due_in(sessions: async_sessionmaker[AsyncSession], clock: Clock, endpoint_id: int, *,
                      at_most: float) -> float:
    """Seconds until this endpoint's next delivery may be claimed (at most ``at_most``)."""
    d = _DELIVERIES.c
    ready = case((d.leased_until > d.next_attempt_at, d.leased_until), else_=d.next_attempt_at)
    async with sessions() as session:
        due = (await session.execute(select(type_coerce(func.min(ready), UTCDateTime())).where(
            d.endpoint_id == endpoint_id, d.status == DeliveryStatus.PENDING))).scalar_one_or_none()
    if due is None:
        return at_most
    return min(at_most, max(0.05, (due - clock()).total_seconds()))


async def _wait(wake: asyncio.Event, stop: asyncio.Event | None, *, timeout: float) -> None:
    waits = [asyncio.ensure_future(wake.wait())] + ([asyncio.ensure_future(stop.wait())] if stop else [])
    try:
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waits:
            waiter.cancel()
