"""The delivery worker: fans events out to deliveries and sends them, one lane per active endpoint
(the lanes, the running service, are ``dialer.outbox.lanes``; requests go out through
``dialer.outbox.http``).

A lane claims its endpoint's due deliveries by leasing them (committed before any request goes
out; ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so replicas never take the same one), sends them
with at most ``max_in_flight`` requests out, and records every outcome in one transaction: an
attempt row per request and the delivery's new state (``dialer.outbox.retry.decide``). Lanes are
independent tasks, so a slow endpoint holds up only itself. At-least-once: a worker that dies
mid-batch leaves leases that expire, and the same ``webhook-id`` is sent again.

Logs carry ids, status and latency, never a secret, a body or a URL."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, cast

import httpx
from sqlalchemy import bindparam, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialer.kit.clock import Clock
from dialer.kit.db import begin_write, rowcount, table_of
from dialer.outbox.events import envelope
from dialer.outbox.fanout import fan_out
from dialer.outbox.http import AiohttpPoster, Answer, Poster
from dialer.outbox.lanes import Figures, Lanes, Target
from dialer.outbox.models import Delivery, DeliveryAttempt, DeliveryStatus, WebhookEndpoint, WebhookEvent
from dialer.outbox.retry import Random, Verdict, decide, parse_retry_after
from dialer.outbox.signing import Signer

log = logging.getLogger(__name__)

MediaLink = Callable[[int, dt.datetime], str]
"""A recording's id and the time of sending → an absolute, signed, expiring download URL."""

__all__ = ["USER_AGENT", "Answer", "DeliveryWorker", "Figures", "MediaLink", "Poster", "Target"]

USER_AGENT = "collections-dialer-webhooks/1"
_DELIVERIES = table_of(Delivery)


@dataclass(frozen=True, slots=True)
class _Claimed:
    id: int
    attempts: int
    next_attempt_at: dt.datetime
    event: WebhookEvent


@dataclass(frozen=True, slots=True)
class _Sent:
    claimed: _Claimed
    at: dt.datetime
    status_code: int | None
    latency_ms: int
    error: str | None
    retry_after: str | None


class DeliveryWorker:
    """Delivers the outbox. ``run_once`` for a driven clock (tests), ``run``/``start`` as a service.

    ``sessions`` should be the writer factory; the worker begins its writes as writers anyway.
    ``http``: a client (left open) or a factory (the client it makes is closed by ``aclose``); by
    default an :class:`~dialer.outbox.http.AiohttpPoster` (an ``httpx.AsyncClient`` fits too).
    The lease must outlast a claim's requests: a lane claims at most ``max_in_flight`` times as
    many as fit in the lease one ``timeout_s`` after another (and at most ``batch``)."""

    def __init__(
        self, *, sessions: async_sessionmaker[AsyncSession], clock: Clock,
        http: Poster | Callable[[], Poster] | None = None,
        media_link: MediaLink | None = None, timeout_s: float = 10.0, lease: dt.timedelta = dt.timedelta(minutes=2),
        batch: int = 100, fan_out_limit: int = 500, poll_s: float = 1.0, refresh_s: float = 5.0,
        rand: Random = random.random,
    ) -> None:
        self.sessions, self.clock, self.media_link = sessions, clock, media_link
        self.timeout_s, self.lease, self.batch, self.fan_out_limit = timeout_s, lease, batch, fan_out_limit
        self.poll_s, self.refresh_s, self.rand = poll_s, refresh_s, rand
        self._http: Poster | None = None
        self._make_http: Callable[[], Poster] | None = self._default_http
        if hasattr(http, "post"):
            self._http, self._make_http = cast(Poster, http), None  # given: left open
        elif http is not None:
            self._make_http = http
        self.totals = Figures()
        self._lanes = Lanes(self)

    # --- one pass (tests, a driven clock) -------------------------------------------------------

    async def run_once(self) -> dict[str, int]:
        """Fan out, then one claim-send-record pass over every active endpoint, side by side."""
        figures = Figures(fanned=await self.fan_out())
        for lane_figures in await asyncio.gather(*(self.deliver(t) for t in await self.targets())):
            figures.add(lane_figures)
        self.totals.add(figures)
        return asdict(figures)

    async def fan_out(self) -> int:
        """Every event not fanned out yet gets its deliveries. Looks first with a plain read, so an
        idle service takes no write lock every poll (SQLite has one writer at a time)."""
        async with self.sessions() as session:
            waiting = (await session.execute(
                select(WebhookEvent.id).where(WebhookEvent.fanned_out_at.is_(None)).limit(1))).first()
        if waiting is None:
            return 0
        fanned = 0
        while True:
            async with self.sessions() as session:
                await begin_write(session)
                done = await fan_out(session, now=self.clock(), limit=self.fan_out_limit)
                await session.commit()
            fanned += done
            if done < self.fan_out_limit:
                return fanned

    async def targets(self) -> list[Target]:
        async with self.sessions() as session:
            endpoints = (await session.execute(
                select(WebhookEndpoint).where(WebhookEndpoint.active.is_(True)).order_by(WebhookEndpoint.id)
            )).scalars().all()
        return [Target(e.id, e.url, max(1, e.max_in_flight), Signer(
            e.secret, previous=e.previous_secret, previous_until=e.previous_secret_until)) for e in endpoints]

    async def deliver(self, target: Target) -> Figures:
        """One lane's pass: claim what is due, send it, record every outcome."""
        claimed = await self._claim(target, self.clock())
        if not claimed:
            return Figures()
        gate, gone = asyncio.Semaphore(target.max_in_flight), asyncio.Event()
        results = await asyncio.gather(*(self._send(target, c, gate, gone) for c in claimed))
        return await self._record(target, [r for r in results if r is not None],
                                  unsent=[c.id for c, r in zip(claimed, results) if r is None])

    def claim_limit(self, target: Target) -> int:
        rounds = max(1, int(self.lease.total_seconds() // self.timeout_s) - 1)
        return max(1, min(self.batch, target.max_in_flight * rounds))

    async def _claim(self, target: Target, now: dt.datetime) -> list[_Claimed]:
        d = _DELIVERIES.c
        due = (select(d.id).where(d.endpoint_id == target.id, d.status == DeliveryStatus.PENDING,
                                  d.next_attempt_at <= now, or_(d.leased_until.is_(None), d.leased_until <= now))
               .order_by(d.next_attempt_at, d.id).limit(self.claim_limit(target)).with_for_update(skip_locked=True))
        async with self.sessions() as session:
            await begin_write(session)
            rows = (await session.execute(
                update(_DELIVERIES).where(d.id.in_(due.scalar_subquery())).values(leased_until=now + self.lease)
                .returning(d.id, d.attempts, d.next_attempt_at, d.event_pk))).all()
            events = {e.id: e for e in (await session.execute(
                select(WebhookEvent).where(WebhookEvent.id.in_({r.event_pk for r in rows})))).scalars()} if rows else {}
            await session.commit()
        return sorted((_Claimed(r.id, r.attempts, r.next_attempt_at, events[r.event_pk]) for r in rows),
                      key=lambda c: (c.next_attempt_at, c.id))

    # --- sending --------------------------------------------------------------------------------

    def body(self, event: WebhookEvent, at: dt.datetime) -> bytes:
        """The envelope as JSON; a recording event gains its ``media_url`` made now (links expire)."""
        document = envelope(event)
        recording = event.payload.get("recording") if event.type.startswith("recording.") else None
        if self.media_link is not None and isinstance(recording, dict) and isinstance(recording.get("id"), int):
            link = self.media_link(recording["id"], at)
            document["data"] = {**event.payload, "recording": {**recording, "media_url": link}}
        return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()

    async def _send(self, target: Target, claimed: _Claimed, gate: asyncio.Semaphore, gone: asyncio.Event,
                    ) -> _Sent | None:
        async with gate:
            if gone.is_set():
                return None  # the endpoint answered 410 meanwhile: left pending, unsent
            at = self.clock()
            event = claimed.event
            body = self.body(event, at)
            headers = {"content-type": "application/json", "user-agent": USER_AGENT,
                       **target.signer.headers(msg_id=event.event_id, body=body, at=at)}
            status, error, retry_after = None, None, None
            started = time.perf_counter()
            try:
                async with asyncio.timeout(self.timeout_s):
                    response = await self.http.post(target.url, content=body, headers=headers)
                status, retry_after = response.status_code, response.headers.get("retry-after")
            except (TimeoutError, httpx.TimeoutException):
                error = f"timeout after {self.timeout_s:g} s"
            except Exception as failure:  # any failure to get an answer is an outcome, recorded
                error = f"{type(failure).__name__}: {failure}"[:500]
            if status == 410:
                gone.set()
            return _Sent(claimed, at, status, round((time.perf_counter() - started) * 1000), error, retry_after)

    @property
    def http(self) -> Poster:
        if self._http is None:
            assert self._make_http is not None
            self._http = self._make_http()
        return self._http

    def _default_http(self) -> AiohttpPoster:
        return AiohttpPoster(timeout_s=self.timeout_s, limit=500)

    # --- recording ------------------------------------------------------------------------------

    async def _record(self, target: Target, results: list[_Sent], *, unsent: list[int]) -> Figures:
        figures = Figures(claimed=len(results) + len(unsent), sent=len(results))
        attempts: list[dict[str, Any]] = []
        changes: list[dict[str, Any]] = []
        gone_at: dt.datetime | None = None
        for sent in results:
            claimed = sent.claimed
            outcome = decide(sent.status_code, sent.error, claimed.attempts + 1,
                             parse_retry_after(sent.retry_after, now=sent.at), sent.at, rand=self.rand)
            delivered = outcome.verdict is Verdict.DELIVERED
            attempts.append({"delivery_id": claimed.id, "attempted_at": sent.at, "status_code": sent.status_code,
                             "latency_ms": sent.latency_ms, "error": sent.error})
            changes.append({
                "b_id": claimed.id, "b_leased_until": None, "b_last_status_code": sent.status_code,
                "b_status": DeliveryStatus.DELIVERED if delivered else (
                    DeliveryStatus.DEAD if outcome.verdict is Verdict.DEAD else DeliveryStatus.PENDING),
                "b_attempts": claimed.attempts + (1 if outcome.counts_as_attempt else 0),
                "b_next_attempt_at": outcome.retry_at or claimed.next_attempt_at,
                "b_last_error": None if delivered else sent.error or f"HTTP {sent.status_code}",
                "b_delivered_at": sent.at if delivered else None,
            })
            figures.delivered += delivered
            figures.retried += outcome.verdict is Verdict.RETRY
            figures.dead += outcome.verdict is Verdict.DEAD
            if outcome.verdict is Verdict.GONE:
                gone_at = gone_at or sent.at
            _log_attempt(target, sent, outcome.verdict, claimed.attempts + 1)
        async with self.sessions() as session:
            await begin_write(session)
            if attempts:
                await session.execute(insert(table_of(DeliveryAttempt)), attempts)
                await session.execute(_RECORD, changes)
            if unsent:
                await session.execute(update(_DELIVERIES).where(_DELIVERIES.c.id.in_(unsent)).values(leased_until=None))
            if gone_at is not None:
                disabled = await session.execute(
                    update(WebhookEndpoint).where(WebhookEndpoint.id == target.id, WebhookEndpoint.active.is_(True))
                    .values(active=False, disabled_reason=f"410 Gone at {gone_at.isoformat()}")
                    .execution_options(synchronize_session=False))
                figures.disabled = rowcount(disabled)
                log.warning("webhook endpoint %s answered 410 Gone: disabled", target.id)
            await session.commit()
        return figures

    # --- the service (dialer.outbox.lanes) ---------------------------------------------------------

    def wake(self) -> None:
        """New events were committed: fan out now rather than at the next poll."""
        self._lanes.wake()

    def start(self) -> asyncio.Task[None]:
        return self._lanes.start()

    async def stop(self) -> None:
        await self._lanes.stop()

    async def aclose(self) -> None:
        await self.stop()
        if self._make_http is not None and self._http is not None:
            await self._http.aclose()
            self._http = None

    async def run(self, stop: asyncio.Event) -> None:
        """Fan out every ``poll_s`` (or at once when woken) and keep a lane running per active
        endpoint (re-read every ``refresh_s``) until ``stop``; lanes finish their batch first."""
        await self._lanes.run(stop)


_RECORD = (
    update(_DELIVERIES)
    .where(_DELIVERIES.c.id == bindparam("b_id"), _DELIVERIES.c.status == DeliveryStatus.PENDING)
    .values(**{name: bindparam(f"b_{name}") for name in (
        "status", "attempts", "next_attempt_at", "leased_until", "last_status_code", "last_error", "delivered_at")})
)
"""Each delivery's new state, one statement for the batch; a delivery another worker finished
meanwhile (its lease had lapsed) keeps that worker's outcome."""


def _log_attempt(target: Target, sent: _Sent, verdict: Verdict, attempt: int) -> None:
    answer = sent.status_code if sent.status_code is not None else (sent.error or "").split(":")[0]
    level = logging.DEBUG if verdict is Verdict.DELIVERED else logging.INFO
    log.log(level, "webhook %s delivery %s to endpoint %s, attempt %s: %s in %s ms -> %s",
            sent.claimed.event.event_id, sent.claimed.id, target.id, attempt, answer, sent.latency_ms, verdict.value)
