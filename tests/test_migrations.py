"""The schema comes from the migrations, and the migrations agree with the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from dialer.kit.migrations import upgrade_to_head
from dialer.models import Base
from tests.conftest import MIGRATIONS


async def test_given_migrated_database_then_models_and_schema_agree(engine):
    def _diff(connection):
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    async with engine.connect() as conn:
        diff = await conn.run_sync(_diff)
    assert diff == []


async def test_given_head_then_downgrade_to_base_and_up_again_works(engine):
    await upgrade_to_head(engine, MIGRATIONS, revision="head")
    from alembic import command

    from dialer.kit.migrations import alembic_config

    cfg = alembic_config(MIGRATIONS)

    def _down(connection):
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "base")

    async with engine.connect() as conn:
        await conn.run_sync(_down)
        await conn.commit()
    async with engine.connect() as conn:
        tables = await conn.run_sync(lambda c: c.dialect.get_table_names(c))
    assert set(tables) <= {"alembic_version"}
    await upgrade_to_head(engine, MIGRATIONS)


@pytest.mark.parametrize("table", ["audit_log", "compliance_decisions"])
async def test_given_append_only_table_then_update_and_delete_refused(engine, table):
    async with engine.begin() as conn:
        if table == "audit_log":
            await conn.execute(text("INSERT INTO audit_log (at, action, detail) VALUES (CURRENT_TIMESTAMP, 'x', '{}')"))
        else:
            await conn.execute(text(
                "INSERT INTO compliance_decisions (channel, at, allowed, dry_run, violations, rule_results, created_at)"
                " VALUES ('call', CURRENT_TIMESTAMP, true, true, '[]', '{}', CURRENT_TIMESTAMP)"
            ))
    for statement in (f"UPDATE {table} SET id = id", f"DELETE FROM {table}"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with engine.begin() as conn:
                await conn.execute(text(statement))
    async with engine.connect() as conn:
        assert (await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one() == 1
