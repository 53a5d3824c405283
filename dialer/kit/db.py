"""Declarative base, engine construction and the session factory."""

from __future__ import annotations

import enum
import re
import time
from typing import Any, cast

from sqlalchemy import JSON, BigInteger, CursorResult, Enum, Integer, MetaData, Result, Table, UniqueConstraint, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Integer primary keys: BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")
JSONDoc = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def str_enum(enum_cls: type[enum.Enum], length: int = 24) -> Enum:
    """A portable enum column: VARCHAR holding the member *values*, no native type."""
    return Enum(
        enum_cls,
        native_enum=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
        create_constraint=False,
    )


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """Build the async engine. On SQLite: foreign keys on, WAL, a busy timeout, and
    transactions begun by us so a caller can ask for ``BEGIN IMMEDIATE`` (see
    :func:`immediate`)."""
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 30})
        engine = create_async_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    ping_idle = kwargs.pop("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 20)  # a busy replica's requests in flight, so the pool does not churn overflow
    kwargs.setdefault("max_overflow", 20)
    engine = create_async_engine(url, **kwargs)
    if ping_idle:
        _ping_when_idle(engine)
    return engine


PING_AFTER_IDLE_S = 5.0


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Pre-ping a pooled connection only when it sat idle in the pool: one that was in use a moment
    ago is alive, and pinging it (BEGIN, a query, ROLLBACK: three round trips) on every checkout is
    most of a short request's database time. A dead one is replaced before it is handed out."""
    from sqlalchemy import exc

    @event.listens_for(engine.sync_engine.pool, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine.pool, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise exc.DisconnectionError(f"pooled connection failed its ping: {error}") from error


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get("sqlite_immediate"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


def writer_engine(engine: AsyncEngine) -> AsyncEngine:
    """The same engine and pool, whose transactions begin as writers (``BEGIN IMMEDIATE`` on
    SQLite) lazily, at their first statement; nothing changes on PostgreSQL."""
    return engine.execution_options(sqlite_immediate=True)


async def insert_once(session: AsyncSession, model: type[Base], values: dict[str, Any], keys: list[str]) -> int | None:
    """Insert a row unless one with the same ``keys`` exists; the new id, or None for a duplicate.
    One statement on both databases (``INSERT … ON CONFLICT DO NOTHING RETURNING id``)."""
    from sqlalchemy.dialects import postgresql, sqlite

    table = table_of(model)
    dialect = postgresql if is_postgres(session) else sqlite
    statement = dialect.insert(table).values(**values).on_conflict_do_nothing(index_elements=keys)
    return cast(int | None, (await session.execute(statement.returning(table.c.id))).scalar_one_or_none())


def table_of(model: type[Base]) -> Table:
    """A mapped class's table, typed as one (SQLAlchemy declares ``__table__`` a ``FromClause``)."""
    return cast(Table, model.__table__)


def rowcount(result: Result[Any]) -> int:
    """How many rows an ``UPDATE``/``DELETE`` executed through a session matched."""
    return cast(CursorResult[Any], result).rowcount


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def dialect_of(engine_or_session: AsyncEngine | AsyncSession) -> str:
    """The database's dialect name (``postgresql`` or ``sqlite``)."""
    if isinstance(engine_or_session, AsyncEngine):
        return engine_or_session.dialect.name
    bind = engine_or_session.bind
    if bind is None:
        raise RuntimeError("the session is bound to no engine")
    return bind.dialect.name


def is_postgres(engine_or_session: AsyncEngine | AsyncSession) -> bool:
    return dialect_of(engine_or_session) == "postgresql"


async def begin_write(session: AsyncSession) -> None:
    """Make the session's transaction a writer from its first statement.

    On SQLite (WAL) a transaction that reads and later writes fails with "database is locked"
    if another writer committed in between; beginning with ``BEGIN IMMEDIATE`` takes the write
    lock up front, so writers queue (busy timeout) instead of failing. No-op on PostgreSQL.
    """
    if dialect_of(session) != "sqlite":
        return
    if session.in_transaction():
        connection = await session.connection()
        sync = connection.sync_connection
        if sync is None or not sync.get_execution_options().get("sqlite_immediate"):
            raise RuntimeError("a SQLite write transaction must begin with begin_write() before any read")
        return
    await session.connection(execution_options={"sqlite_immediate": True})


_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (?P<columns>[\w.]+(?:, [\w.]+)*)")


def violated_unique(exc: IntegrityError, table: Table) -> str | None:
    """The name of the unique constraint or index of ``table`` that ``exc`` broke, or None (another
    kind of violation, or another table). PostgreSQL names it (asyncpg's ``constraint_name``);
    SQLite names the columns, matched here against the table's unique indexes and constraints."""
    cause = getattr(exc.orig, "__cause__", None)
    name = getattr(cause, "constraint_name", None) or getattr(exc.orig, "constraint_name", None)
    if name is not None:
        return str(name)
    found = _SQLITE_UNIQUE.search(str(exc.orig))
    if found is None:
        return None
    columns = []
    for qualified in found["columns"].split(", "):
        owner, _, column = qualified.rpartition(".")
        if owner != table.name:
            return None
        columns.append(column)
    uniques: list[tuple[object, list[str]]] = [
        (index.name, [c.name for c in index.columns]) for index in table.indexes if index.unique]
    uniques += [(c.name, [col.name for col in c.columns]) for c in table.constraints if isinstance(c, UniqueConstraint)]
    return next((str(name) for name, cols in uniques if name and cols == columns), None)
