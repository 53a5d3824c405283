"""Two sealers at once never fork a chain: a sealer holds an advisory lock from before it reads the
head until it commits (PostgreSQL; SQLite has one writer), and the database would refuse a fork anyway
(``seq`` and ``row_id`` are unique)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import IntegrityError

from dialer.audit.chain import seal
from dialer.audit.chain.tables import CHAINS
from dialer.kit.db import session_factory
from tests.audit_chain.rows import audit_rows, entries, later, verified


async def _seal_until_done(engine, now) -> int:
    total = 0
    async with session_factory(engine)() as session:
        while sealed := await seal(session, now=now, limit=25, tables=("audit",)):
            await session.commit()
            total += sealed
        await session.commit()
    return total


@pytest.mark.postgres_only
async def test_given_two_sealers_racing_then_one_unbroken_chain_seals_every_row_once(engine, session):
    ids = await audit_rows(session, 400)
    now = later(seconds=5)

    counts = await asyncio.gather(*(_seal_until_done(engine, now) for _ in range(3)))

    chain = await entries(session, "audit")
    assert sum(counts) == len(ids) == len(chain)
    assert [e.seq for e in chain] == list(range(1, len(ids) + 1)) and sorted(e.row_id for e in chain) == ids
    assert (await verified(session, table="audit", now=later(minutes=1))).ok


@pytest.mark.postgres_only
async def test_given_a_sealer_in_progress_then_a_second_waits_for_its_commit_and_continues_its_chain(engine, session):
    await audit_rows(session, 3)
    sessions = session_factory(engine)
    async with sessions() as first, sessions() as second:
        assert await seal(first, now=later(seconds=5)) == 3  # holds the lock, not committed
        waiting = asyncio.create_task(seal(second, now=later(seconds=5)))
        await _until_an_advisory_lock_is_awaited(engine)
        assert not waiting.done()
        await audit_rows(session, 2)  # written meanwhile

        await first.commit()
        assert await waiting == 2  # it read the head after the first committed: nothing sealed twice
        await second.commit()

    chain = await entries(session, "audit")
    assert [e.seq for e in chain] == [1, 2, 3, 4, 5] and chain[3].prev_hash == chain[2].chain_hash
    assert (await verified(session, table="audit", now=later(minutes=1))).ok


async def _until_an_advisory_lock_is_awaited(engine) -> None:
    async with engine.connect() as conn:
        for _ in range(200):
            waiting = (await conn.execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"))).scalar_one()
            if waiting:
                return
            await asyncio.sleep(0.05)
    raise AssertionError("the second sealer never waited for the lock")


async def test_given_a_forked_entry_then_the_database_refuses_it(session):
    await audit_rows(session, 2)
    await seal(session, now=later(seconds=5))
    await session.commit()
    [first, second] = await entries(session, "audit")
    chain = CHAINS["audit"].chain
    fork = {**first._asdict(), "row_id": 10_000}  # another entry 1
    twice = {**second._asdict(), "seq": 3}  # row already sealed, again

    for entry in (fork, twice):
        with pytest.raises(IntegrityError):
            await session.execute(insert(chain), [entry])
        await session.rollback()
