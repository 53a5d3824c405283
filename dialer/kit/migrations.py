"""Run Alembic migrations and read the schema revision, from async code."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine


def alembic_config(migrations_dir: Path) -> Config:
    if not (migrations_dir / "env.py").is_file():
        raise FileNotFoundError(
            f"no Alembic environment at {migrations_dir}; set DIALER_MIGRATIONS_DIR to the project's alembic/"
        )
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    return cfg


def head_revisions(migrations_dir: Path) -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config(migrations_dir)).get_heads())


async def upgrade_to_head(engine: AsyncEngine, migrations_dir: Path, revision: str = "head") -> None:
    cfg = alembic_config(migrations_dir)

    def _upgrade(connection: Connection) -> None:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)

    async with engine.connect() as connection:
        await connection.run_sync(_upgrade)
        await connection.commit()


async def upgrade_database(database_url: str, migrations_dir: Path) -> None:
    """Migrate the database at ``database_url`` to head, with an engine of its own (a command's
    one step before it starts the service or its processes)."""
    from dialer.kit.db import create_engine

    engine = create_engine(database_url)
    try:
        await upgrade_to_head(engine, migrations_dir)
    finally:
        await engine.dispose()


async def current_revisions(engine: AsyncEngine) -> set[str]:
    def _current(connection: Connection) -> set[str]:
        return set(MigrationContext.configure(connection).get_current_heads())

    async with engine.connect() as connection:
        return await connection.run_sync(_current)
