"""Advisory locks: one holder at a time across replicas, for the rest of a transaction.

A scheduled job's run and the carrier events inbox's turn both use this. On PostgreSQL the lock
is ``pg_advisory_xact_lock`` (waited for) or ``pg_try_advisory_xact_lock`` (tried) on a stable
64-bit key derived from a name; it is released when the transaction ends. On SQLite (one
process) the transaction simply begins as the single writer (``BEGIN IMMEDIATE``), which
serialises the holders just as well.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.kit.db import begin_write, is_postgres


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for ``name`` (the same on every replica).
    The namespace is the one job locks were first derived with, so a key never changes."""
    digest = hashlib.sha256(f"dialer.scheduling.job:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def hold_lock(session: AsyncSession, name: str, *, wait: bool) -> bool:
    """Take the lock named ``name`` for the rest of the session's transaction, waiting for it
    (``wait``) or trying once; False when another transaction holds it (only when not waiting).
    The transaction begins as a writer (SQLite: ``BEGIN IMMEDIATE``, which is the lock there)."""
    await begin_write(session)
    if not is_postgres(session):
        return True
    if wait:
        await session.execute(select(func.pg_advisory_xact_lock(lock_key(name))))
        return True
    return bool((await session.execute(select(func.pg_try_advisory_xact_lock(lock_key(name))))).scalar_one())
