"""The chains' tables: append-only like the tables they seal, hashing every column of the models,
and begun by their migration with the rows already there recorded as older than the chain."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from dialer.audit.chain import seal
from dialer.audit.chain.tables import CHAINS
from dialer.kit.migrations import alembic_config, upgrade_to_head
from dialer.kit.types import utcnow
from tests.audit_chain.rows import audit_rows, verified
from tests.conftest import MIGRATIONS


@pytest.mark.parametrize("name", list(CHAINS))
def test_given_the_models_then_the_newest_format_hashes_every_column(name):
    chained = CHAINS[name]
    assert set(chained.formats[chained.format]) == {column.name for column in chained.rows.columns}


@pytest.mark.parametrize("table", ["audit_chain", "decision_chain", "chain_origins"])
async def test_given_a_chain_table_then_update_and_delete_are_refused(engine, session, table):
    await audit_rows(session, 1)
    await seal(session, now=utcnow() + dt.timedelta(seconds=5))
    await session.commit()
    if table == "decision_chain":
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO decision_chain (seq, row_id, format, content_hash, prev_hash, "
                                    "chain_hash, sealed_at) VALUES (1, 1, 1, 'a', 'b', 'c', CURRENT_TIMESTAMP)"))
    for statement in (f"UPDATE {table} SET {'row_id_through' if table == 'chain_origins' else 'row_id'} = 5",
                      f"DELETE FROM {table}"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with engine.begin() as conn:
                await conn.execute(text(statement))
    async with engine.connect() as conn:
        assert (await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one() >= 1


async def _migrate(engine, direction: str, revision: str) -> None:
    cfg = alembic_config(MIGRATIONS)

    def run(connection):
        cfg.attributes["connection"] = connection
        getattr(command, direction)(cfg, revision)

    async with engine.connect() as conn:
        await conn.run_sync(run)
        await conn.commit()


async def test_given_rows_older_than_the_chain_then_sealing_them_later_is_not_suspect(engine, session):
    await _migrate(engine, "downgrade", "0008")
    month_ago = utcnow() - dt.timedelta(days=30)
    old = await audit_rows(session, 3, at=month_ago)
    await upgrade_to_head(engine, MIGRATIONS)
    [forged] = await audit_rows(session, 1, at=month_ago)  # after the chain began, claiming the same old time

    assert await seal(session, now=utcnow() + dt.timedelta(seconds=5), tables=("audit",)) == 4
    await session.commit()

    report = await verified(session, table="audit", now=utcnow() + dt.timedelta(minutes=1))
    assert report.first_break is None and report.checked == 4
    assert [late.row_id for late in report.late_rows] == [forged] and max(old) < forged
