"""The carrier events inbox: a status callback is stored raw and answered at once; the events are
applied afterwards, in arrival order and in batches, each once.

Storing is one ``INSERT … ON CONFLICT DO NOTHING``, so the carrier's request costs the signature
check and that insert whatever the event means. On PostgreSQL the insert goes straight through a
small asyncpg pool of the inbox's own, in autocommit (one round trip): **a departure from "all SQL
through SQLAlchemy"**, for the one statement every callback runs — through SQLAlchemy's engine it
cost twice the client CPU (about 0.4 ms against 0.2 ms), a third of what a callback costs the server. The
processor applies the pending events (``processed_at IS NULL``) in a single transaction per batch:
the per-event handlers of ``call_status``, ``conference_status`` and ``recording_status``, then one
update marking the batch processed with each event's outcome, then — after the commit — the carrier
actions the events called for (hang up a leg left alone, …).

One processor at a time (a PostgreSQL advisory lock; SQLite's single writer) takes its turn over
all replicas' events, so the events of a call are applied in the order they arrived, as before, and
two replicas never lock one call's rows in opposite orders. Each replica's processor is woken by its
own stored events and sweeps every ``SWEEP_S`` for the rest (another replica's, a retry that fell
due). A batch whose handler raises is rolled back and replayed one event per transaction, so the
failing event alone is set aside with its error and retried with back-off; the rest go through.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping

import asyncpg
from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from dialer.calls.effects import Effect
from dialer.calls.models import Call
from dialer.dialing.carrier_actions import CarrierActions
from dialer.kit.clock import Clock
from dialer.kit.db import begin_write, table_of, writer_engine
from dialer.kit.locks import hold_lock
from webhooks import call_status, conference_status, events, recording_status
from webhooks.events import Handled, NotYet, StoredEvent
from webhooks.legs import LOCKED_CALLS
from webhooks.models import CarrierEvent
from webhooks.retry_policy import FAILED, WAITING

log = logging.getLogger("dialer.webhooks")

BATCH = 200
POOL_SIZE = 8  # the store's connections per process (each insert holds one for a round trip)
SWEEP_S = 1.0
BUSY_RETRY_S = 0.02

APPLY: Mapping[str, Callable[[AsyncSession, StoredEvent], Awaitable[Handled]]] = {
    "call_status": call_status.apply,
    "conference_status": conference_status.apply,
    "recording_status": recording_status.apply,
}

_TURN = "webhooks.inbox"  # the processor's advisory lock (dialer.kit.locks)
_table = table_of(CarrierEvent)
_PENDING = (
    select(_table.c.id, _table.c.kind, _table.c.payload, _table.c.call_id, _table.c.leg, _table.c.received_at)
    .where(_table.c.processed_at.is_(None))
    .where((_table.c.retry_at.is_(None)) | (_table.c.retry_at <= bindparam("now")))
    .order_by(_table.c.id).limit(bindparam("limit"))
)
# HOT PATH (bench/webhooks.py): every status callback's one insert; a change here is benchmarked.
_PG_INSERT = (
    f"INSERT INTO carrier_events ({', '.join(events.COLUMNS)}) "
    f"VALUES ({', '.join(f'${n}' + ('::jsonb' if c == 'payload' else '') for n, c in enumerate(events.COLUMNS, 1))}) "
    "ON CONFLICT (carrier, event_key) DO NOTHING RETURNING id"
)
_LOCK_CALLS = (select(Call).where(Call.id.in_(bindparam("ids", expanding=True))).order_by(Call.id)
               .with_for_update())
_MARK = (
    update(_table).where(_table.c.id.in_(bindparam("ids", expanding=True)))
    .values(processed_at=bindparam("now"), outcome=bindparam("outcome"), error=None, retry_at=None)
)


class Inbox:
    """Stores arriving events (:meth:`put`) and applies them (:meth:`run` in the background,
    :meth:`drain` to apply everything pending now)."""

    def __init__(self, *, engine: AsyncEngine, write_sessions: async_sessionmaker[AsyncSession], clock: Clock,
                 actions: CarrierActions) -> None:
        self._engine = engine
        self._sessions = write_sessions
        self.clock = clock
        self.actions = actions  # swapped by the composition root when its carrier changes
        self._dialect = engine.dialect.name
        self._wake = asyncio.Event()
        self._stopping = False
        self._pool: asyncpg.Pool | None = None
        self._pool_ready = asyncio.Lock()
        self._writer = writer_engine(engine)
        self._carrying_out: set[asyncio.Task[None]] = set()

    # --- arrival ------------------------------------------------------------------------------------
    async def put(self, *, kind: str, params: Mapping[str, str], call_id: int | None, leg: str | None,
                  carrier: str = "twilio") -> bool:
        """Store an arriving event; False when the same event was stored before (a redelivery)."""
        values = events.row(carrier=carrier, kind=kind, params=params, call_id=call_id, leg=leg,
                            received_at=self.clock())
        if self._dialect == "postgresql":
            pool = self._pool or await self._open_pool()
            stored = await pool.fetchval(_PG_INSERT, *(values[c] if c != "payload" else json.dumps(values[c])
                                                       for c in events.COLUMNS))
        else:
            async with self._writer.begin() as conn:
                stored = (await conn.execute(events.insert_statement(self._dialect), values)).scalar_one_or_none()
        if stored is not None:
            self._wake.set()
        return stored is not None

    async def _open_pool(self) -> asyncpg.Pool:
        async with self._pool_ready:
            if self._pool is None:
                url = self._engine.url.set(drivername="postgresql")
                self._pool = await asyncpg.create_pool(url.render_as_string(hide_password=False), min_size=1,
                                                       max_size=POOL_SIZE)
        return self._pool

    async def aclose(self) -> None:
        """After :meth:`stop` and its run returned: finish the carrier actions under way, close the pool."""
        if self._carrying_out:
            await asyncio.gather(*self._carrying_out, return_exceptions=True)
        if self._pool is not None:
            await self._pool.close()

    # --- processing ---------------------------------------------------------------------------------
    async def run(self) -> None:
        """Apply events as they arrive, until :meth:`stop`."""
        while not self._stopping:
            try:
                await asyncio.wait_for(self._wake.wait(), SWEEP_S)
            except TimeoutError:
                pass
            self._wake.clear()
            if self._stopping:
                break
            try:
                await self.drain(wait=False)
            except Exception:  # the database went away, say: log it, the next sweep tries again
                log.exception("carrier events inbox: processing failed; retrying at the next sweep")

    def wake(self) -> None:
        """Apply what is due now (an operator asked for a retry, say)."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def drain(self, *, wait: bool = True) -> int:
        """Apply the pending events until none is left (or, with ``wait=False``, until a batch comes
        back short: anything stored after it wakes the processor again); how many were applied.
        Another replica's turn is waited out (``wait``) or retried shortly (so our events are not
        left to the sweep when its last batch was read before they were stored)."""
        applied = 0
        while not self._stopping or wait:
            taken = await self._batch(wait=wait)
            if taken is None:
                await asyncio.sleep(BUSY_RETRY_S)
                continue
            applied += taken
            if taken == 0 or (not wait and taken < BATCH):
                break
        return applied

    async def _batch(self, *, wait: bool) -> int | None:
        """One batch in one transaction; None when another processor has the turn."""
        now = self.clock()
        async with self._sessions() as session:
            if not await _take_turn(session, wait=wait):
                return None
            pending = await _pending(session, now)
            if not pending:
                return 0
            await _lock_calls(session, pending)
            try:
                handled = [await APPLY[event.kind](session, event) for event in pending]
                await _mark(session, pending, handled, now)
                await session.commit()  # inside: a constraint the batch broke shows here
            except Exception:
                await session.rollback()
                log.warning("carrier events inbox: a batch of %d failed; replaying it event by event", len(pending))
                await self._one_by_one(pending)
                return len(pending)
        self._carry_out([effect for result in handled for effect in result.effects])
        return len(pending)

    def _carry_out(self, effects: list[Effect]) -> None:
        """The committed batch's carrier actions, in the background: one task per call (its actions in
        order), so a slow carrier neither holds up the next batch nor one call's action another's
        (the carrier's own semaphore caps the requests in flight)."""
        by_call: dict[int, list[Effect]] = defaultdict(list)
        for effect in effects:
            by_call[effect.call_id].append(effect)
        for call_effects in by_call.values():
            task = asyncio.create_task(self._run_effects(call_effects))
            self._carrying_out.add(task)
            task.add_done_callback(self._carrying_out.discard)

    async def _run_effects(self, effects: list[Effect]) -> None:
        try:
            await self.actions.run(effects)
        except Exception:  # not the carrier's refusal (the actions audit those): a bug or the database
            log.exception("call %s: carrier actions %s failed; the reconciler settles the call", effects[0].call_id,
                          [type(e).__name__ for e in effects])

    async def _one_by_one(self, pending: list[StoredEvent]) -> None:
        for event in pending:
            effects = await self._apply_alone(event)
            if effects:
                self._carry_out(effects)

    async def _apply_alone(self, event: StoredEvent) -> list[Effect] | None:
        """Apply one event in its own transaction; on failure note the error and when to retry."""
        now = self.clock()
        async with self._sessions() as session:
            await _take_turn(session, wait=True)
            still = await session.scalar(select(_table.c.processed_at.is_(None)).where(_table.c.id == event.id))
            if not still:
                return None
            try:
                handled = await APPLY[event.kind](session, event)
                await _mark(session, [event], [handled], now)
                await session.commit()
            except Exception as exc:
                await session.rollback()
                await self._set_aside(event, exc, now)
                return None
        return handled.effects

    async def _set_aside(self, event: StoredEvent, exc: Exception, now: dt.datetime) -> None:
        if isinstance(exc, NotYet):
            log.info("carrier event %s (%s) waits: %s", event.id, event.kind, exc)
        else:
            log.error("carrier event %s (%s) failed and is set aside for a retry", event.id, event.kind, exc_info=exc)
        async with self._sessions() as session:
            await begin_write(session)
            attempts = (await session.scalar(select(_table.c.attempts).where(_table.c.id == event.id))) or 0
            policy = WAITING if isinstance(exc, NotYet) else FAILED
            await session.execute(update(_table).where(_table.c.id == event.id).values(
                attempts=attempts + 1, error=f"{type(exc).__name__}: {exc}"[:2000],  # NotYet: what it waits for
                retry_at=now + policy.delay(attempts)))
            await session.commit()


async def _take_turn(session: AsyncSession, *, wait: bool) -> bool:
    """The processor's turn for the rest of the transaction, waited for or tried."""
    return await hold_lock(session, _TURN, wait=wait)


async def _pending(session: AsyncSession, now: dt.datetime) -> list[StoredEvent]:
    rows = await session.execute(_PENDING, {"now": now, "limit": BATCH})
    return [StoredEvent(id=r.id, kind=r.kind, params=r.payload, call_id=r.call_id, leg=r.leg,
                        received_at=r.received_at) for r in rows]


async def _lock_calls(session: AsyncSession, pending: list[StoredEvent]) -> None:
    """Lock the batch's calls (named by our URLs) in one statement, in id order, and tell the
    handlers so (``legs.LOCKED_CALLS``): one round trip instead of one per event."""
    ids = sorted({event.call_id for event in pending if event.call_id is not None})
    calls = (await session.execute(_LOCK_CALLS, {"ids": _padded(ids)})).scalars() if ids else ()
    session.info[LOCKED_CALLS] = {call.id: call for call in calls}


def _padded(ids: list[int]) -> list[int]:
    """The ids, the last repeated up to the next power of two: a handful of statement shapes for
    ``IN (…)`` whatever the batch's size, so the driver's prepared statements are reused."""
    size = 1 << (len(ids) - 1).bit_length()
    return ids + ids[-1:] * (size - len(ids))


async def _mark(session: AsyncSession, pending: list[StoredEvent], handled: list[Handled], now: dt.datetime) -> None:
    """Every event of the batch processed, with what it came to (one update per distinct outcome)."""
    by_outcome: dict[str, list[int]] = defaultdict(list)
    for event, result in zip(pending, handled, strict=True):
        by_outcome[result.result[:32]].append(event.id)
    for outcome, ids in by_outcome.items():
        await session.execute(_MARK, {"ids": _padded(ids), "now": now, "outcome": outcome})
