"""Rows to seal (written the way the service writes them) and the attacker's tools: raw SQL on the
database, with the append-only triggers switched off for the statement and back on after it."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from dialer.audit import service as audit
from dialer.audit.chain import Report, verify
from dialer.audit.chain.tables import CHAINS
from dialer.audit.models import AuditEntry
from dialer.cases.models import PartyRole, PhoneNumber, Relation
from dialer.compliance import service as compliance
from dialer.kit.types import utcnow
from tests.factories import make_case, make_client, make_party

NOON = dt.datetime(2026, 11, 24, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def later(**delta: float) -> dt.datetime:
    """An instant after every row a test wrote so far (a sealer's or a verifier's ``now``)."""
    return utcnow() + dt.timedelta(**delta)


async def audit_rows(session: AsyncSession, count: int, *, at: dt.datetime | None = None,
                     first_id: int | None = None) -> list[int]:
    """``count`` audit entries as the service writes them; with ``at`` or ``first_id`` (a row that
    claims another time, or an id out of order) as a row written by hand. Committed."""
    for n in range(count):
        if at is None and first_id is None:
            await audit.record(session, action="case.update", entity="case", entity_id=n, field="status", n=n)
        else:
            session.add(AuditEntry(id=None if first_id is None else first_id + n, at=at or utcnow(),
                                   action="case.update", entity="case", entity_id=str(n), detail={"n": n}))
    written = [row for row in session.new if isinstance(row, AuditEntry)]
    await session.flush()
    await session.commit()
    return sorted(row.id for row in written)


async def decisions(session: AsyncSession, count: int) -> list[int]:
    """``count`` real dry-run decisions (a third party checked at noon): ledger rows no attempt refers
    to. Committed."""
    client = await make_client(session)
    case = await make_case(session, client=client)
    party = await make_party(session, case=case, role=PartyRole.THIRD_PARTY, relation=Relation.SPOUSE,
                             numbers=("+8613900139000",))
    number = (await session.execute(select(PhoneNumber).where(PhoneNumber.party_id == party.id))).scalar_one()
    await session.commit()
    ids = []
    for n in range(count):
        ids.append((await compliance.check(session, at=NOON + dt.timedelta(minutes=n), number_id=number.id)).entry.id)
        await session.commit()
    return ids


async def entries(session: AsyncSession, table: str) -> list[Any]:
    """A chain's entries, in order (read in a transaction of their own)."""
    chain = CHAINS[table].chain
    await session.commit()
    found = list((await session.execute(select(chain).order_by(chain.c.seq))).all())
    await session.commit()
    return found


async def bypassing_triggers(engine: AsyncEngine, table: str, *statements: str, **params: Any) -> None:
    """Run ``statements`` on ``table`` as someone with write access to the database would: its
    append-only triggers disabled (PostgreSQL) or dropped (SQLite) for the transaction, then restored."""
    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            await conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
            for statement in statements:
                await conn.execute(text(statement), params)
            await conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
            return
        triggers = (await conn.execute(
            text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"), {"t": table})).all()
        assert triggers, f"{table} has no triggers to bypass"
        for name, _ in triggers:
            await conn.execute(text(f"DROP TRIGGER {name}"))
        for statement in statements:
            await conn.execute(text(statement), params)
        for _, sql in triggers:
            await conn.execute(text(sql))


async def verified(session: AsyncSession, **options: Any) -> Report:
    """:func:`verify` in a read transaction of its own (ended after it, so the next step sees news)."""
    await session.commit()
    report = await verify(session, **options)
    await session.commit()
    return report
