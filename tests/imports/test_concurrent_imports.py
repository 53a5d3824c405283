"""Two imports of the same file at once: one is applied, the other is rejected with its report."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import func, select

from dialer.cases.models import Case
from dialer.imports.service import import_cases
from dialer.kit.db import session_factory, writer_engine
from dialer.kit.errors import ImportRejected
from tests.factories import make_client

FILE = (
    "account_ref,debtor_name,debtor_numbers,total_owed,overdue_days\n"
    + "".join(f"A-{i},张{i},138{i:08d},100.00,20\n" for i in range(200))
).encode()


async def test_given_same_file_imported_twice_at_once_then_exactly_one_applies(engine, session):
    client = await make_client(session)
    await session.commit()
    writers = session_factory(writer_engine(engine))
    now = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.timezone.utc)

    async def one() -> str:
        async with writers() as s:
            try:
                await import_cases(s, client_id=client.id, filename="cases.csv", content=FILE, actor=None, now=now)
            except ImportRejected as exc:
                await s.rollback()
                assert all(e["column"] == "account_ref" for e in exc.extra["errors"])
                return "rejected"
            await s.commit()
            return "imported"

    results = await asyncio.gather(one(), one())

    assert sorted(results) == ["imported", "rejected"]
    assert (await session.execute(select(func.count()).select_from(Case))).scalar_one() == 200
