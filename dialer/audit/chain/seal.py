"""The sealer: chains the rows written since it last ran, off the hot path.

Rows are written as they always were (a reservation's decision, a service's audit entry pay nothing
for the chain). The sealer takes every row not yet sealed, oldest id first, whenever it appears, and
appends one entry per row: the seal order is the chain order. On PostgreSQL a lower id can commit
after a higher one (transactions end in any order); such a row is simply sealed by a later run.

One sealer at a time: it holds an advisory lock (PostgreSQL; SQLite's single writer elsewhere) from
before it reads the chain's head until it commits, so two replicas never fork the chain (and
``seq`` and ``row_id`` are unique as well, so a fork could not be stored).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import exists, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.audit.chain.canonical import GENESIS, chain_hash
from dialer.audit.chain.tables import CHAINS, Chained
from dialer.kit.locks import hold_lock

SEAL_LOCK = "audit.chain.seal"
SEAL_LAG = dt.timedelta(seconds=2)
"""A row is sealed once it is this old (by its own write time)."""
SEAL_HORIZON = dt.timedelta(hours=1)
"""How far back a run looks for late rows: below the newest id sealed more than this long ago,
every row is sealed (or belongs to a transaction open longer than this: the daily sweep, with no
horizon, seals those)."""
SEAL_LIMIT = 20_000
"""Rows per table per run; what is left waits for the next run."""


async def seal(
    session: AsyncSession, *, now: dt.datetime, limit: int = SEAL_LIMIT, lag: dt.timedelta = SEAL_LAG,
    horizon: dt.timedelta | None = SEAL_HORIZON, tables: tuple[str, ...] = tuple(CHAINS),
) -> int:
    """Seal the rows of ``tables`` written at least ``lag`` before ``now`` and not sealed yet, at most
    ``limit`` per table; ``horizon`` None looks at every row (the sweep). Only flushes; returns how
    many rows it sealed."""
    await hold_lock(session, SEAL_LOCK, wait=True)
    sealed = 0
    for name in tables:
        sealed += await _seal(session, CHAINS[name], now=now, limit=limit, ready=now - lag,
                              floor_before=None if horizon is None else now - horizon)
    return sealed


async def _seal(session: AsyncSession, chained: Chained, *, now: dt.datetime, limit: int, ready: dt.datetime,
                floor_before: dt.datetime | None) -> int:
    rows, chain = chained.rows, chained.chain
    head = (await session.execute(select(chain.c.seq, chain.c.chain_hash).order_by(chain.c.seq.desc()).limit(1))).first()
    seq, prev = (head[0], head[1]) if head is not None else (0, GENESIS)
    version = chained.format
    query = (
        select(rows.c.id, *chained.columns(version))
        .where(rows.c[chained.written_at] <= ready, ~exists().where(chain.c.row_id == rows.c.id))
        .order_by(rows.c.id).limit(limit)
    )
    if floor_before is not None and (floor := await _floor(session, chained, floor_before)) is not None:
        query = query.where(rows.c.id > floor)
    entries: list[dict[str, Any]] = []
    for row in (await session.execute(query)).all():
        seq += 1
        content = chained.content_hash(version, row)
        link = chain_hash(prev, content, seq, now)
        entries.append({"seq": seq, "row_id": row.id, "format": version, "content_hash": content,
                        "prev_hash": prev, "chain_hash": link, "sealed_at": now})
        prev = link
    if entries:
        await session.execute(insert(chain), entries)
    return len(entries)


async def _floor(session: AsyncSession, chained: Chained, before: dt.datetime) -> int | None:
    """The highest id of the last run that sealed before ``before``: that run sealed every row below
    it it could see, so a row below it not sealed since was invisible for longer than the horizon."""
    chain = chained.chain
    last_run = select(func.max(chain.c.sealed_at)).where(chain.c.sealed_at <= before).scalar_subquery()
    floor = (await session.execute(select(func.max(chain.c.row_id)).where(chain.c.sealed_at == last_run))).scalar()
    return None if floor is None else int(floor)
