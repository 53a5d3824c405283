"""Writing tasks idempotently: one row per ``dedupe_key``, whoever writes it first.

``INSERT ... ON CONFLICT (dedupe_key) DO NOTHING`` on both databases: a job that runs twice,
resumes after a crash, or races another replica never creates a task twice, and a
concurrent writer of the same key waits for the first one's transaction instead of failing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.kit.db import is_postgres, rowcount
from dialer.tasks.models import Task, TaskKind, TaskStatus

_ROWS_PER_STATEMENT = 500  # 14 columns each: well under SQLite's and asyncpg's parameter limits


@dataclass(frozen=True, slots=True)
class NewTask:
    case_id: int
    kind: TaskKind
    dedupe_key: str
    due_at: dt.datetime
    due_until: dt.datetime | None = None
    priority: int = 0
    reason: str | None = None
    party_id: int | None = None
    assigned_agent_id: int | None = None


async def add_tasks(session: AsyncSession, tasks: Sequence[NewTask], *, now: dt.datetime) -> int:
    """Insert the tasks whose ``dedupe_key`` is new; returns how many were inserted."""
    insert = pg_insert if is_postgres(session) else sqlite_insert
    created = 0
    for start in range(0, len(tasks), _ROWS_PER_STATEMENT):
        rows = [
            {
                "case_id": t.case_id, "party_id": t.party_id, "kind": t.kind, "status": TaskStatus.OPEN,
                "priority": t.priority, "due_at": t.due_at, "due_until": t.due_until, "dedupe_key": t.dedupe_key,
                "reason": t.reason, "source_call_id": None, "assigned_agent_id": t.assigned_agent_id,
                "created_at": now, "done_at": None,
            }
            for t in tasks[start:start + _ROWS_PER_STATEMENT]
        ]
        statement = insert(Task).values(rows).on_conflict_do_nothing(index_elements=["dedupe_key"])
        created += rowcount(await session.execute(statement))
    return created


async def close_open_tasks(
    session: AsyncSession, *, keys: Sequence[str] = (), prefixes: Sequence[str] = (), status: TaskStatus,
    now: dt.datetime,
) -> int:
    """Close every open task whose dedupe key is one of ``keys`` or starts with one of ``prefixes``."""
    matches: list[ColumnElement[bool]] = [Task.dedupe_key.in_(list(keys))] if keys else []
    matches += [Task.dedupe_key.startswith(prefix, autoescape=True) for prefix in prefixes]
    if not matches:
        return 0
    result = await session.execute(
        update(Task)
        .where(Task.status == TaskStatus.OPEN, or_(*matches))
        .values(status=status, done_at=now)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)


async def open_tasks_of(session: AsyncSession, *, kind: TaskKind, case_ids: Sequence[int]) -> list[Task]:
    rows = await session.execute(
        select(Task).where(Task.kind == kind, Task.status == TaskStatus.OPEN, Task.case_id.in_(case_ids))
    )
    return list(rows.scalars())
