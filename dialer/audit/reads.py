"""What an auditor reads, page by page: the audit log and the compliance ledger, newest first.

Both tables are append-only and their ids rise with every row written, so a page is ordered by id,
newest first, and the cursor (``before``) is the last id of the previous page: a row written while
someone pages never shifts a page. Read-only: nothing here writes.
"""

from __future__ import annotations

from typing import Any, Unpack

from sqlalchemy import ColumnElement, Select, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.audit.models import AuditEntry
from dialer.audit.schemas import DecisionEntryOut, DecisionFilters, LogEntryOut, LogFilters
from dialer.auth.models import User
from dialer.cases.models import Case
from dialer.compliance.models import Decision


Rows = Select[Unpack[tuple[Any, ...]]]


def _range(query: Rows, column: Any, filters: LogFilters | DecisionFilters) -> Rows:
    if filters.from_ is not None:
        query = query.where(column >= filters.from_)
    if filters.to is not None:
        query = query.where(column < filters.to)
    return query


def _page(query: Rows, id_column: Any, *, limit: int, before: int | None) -> Rows:
    if before is not None:
        query = query.where(id_column < before)
    return query.order_by(id_column.desc()).limit(limit)


async def audit_log(session: AsyncSession, filters: LogFilters) -> list[LogEntryOut]:
    """A page of the audit log with each entry's actor named (the user as they are now)."""
    equal = {AuditEntry.actor_id: filters.actor_id, AuditEntry.action: filters.action,
             AuditEntry.entity: filters.entity, AuditEntry.entity_id: filters.entity_id}
    query: Rows = select(AuditEntry, User.display_name).outerjoin(User, User.id == AuditEntry.actor_id).where(
        *(column == value for column, value in equal.items() if value is not None))
    query = _page(_range(query, AuditEntry.at, filters), AuditEntry.id, limit=filters.limit, before=filters.before)
    return [LogEntryOut(id=entry.id, at=entry.at, actor_id=entry.actor_id, actor_name=name,
                        actor_role=entry.actor_role, action=entry.action, entity=entry.entity,
                        entity_id=entry.entity_id, detail=entry.detail or {})
            for entry, name in await session.execute(query)]


def _within(*, everything: bool, team: str | None) -> list[ColumnElement[bool]]:
    """Every decision (``everything``: an admin, an auditor), or a team's: the decisions on its cases
    and its agents' decisions (a supervisor; one without a team sees none)."""
    if everything:
        return []
    if team is None:
        return [false()]
    return [or_(Decision.case_id.in_(select(Case.id).where(Case.team == team)),
                Decision.agent_id.in_(select(User.id).where(User.team == team)))]


async def decisions(
    session: AsyncSession, filters: DecisionFilters, *, everything: bool, team: str | None,
) -> list[DecisionEntryOut]:
    """A page of the ledger (its range on the decisions' instants ``at``), as far as the reader may see."""
    equal = {Decision.client_id: filters.client_id, Decision.case_id: filters.case_id,
             Decision.party_id: filters.party_id, Decision.agent_id: filters.agent_id,
             Decision.allowed: filters.allowed, Decision.dry_run: filters.dry_run}
    query: Rows = select(Decision).where(*_within(everything=everything, team=team), *(column == value for column, value in equal.items()
                                                  if value is not None))
    query = _page(_range(query, Decision.at, filters), Decision.id, limit=filters.limit, before=filters.before)
    return [DecisionEntryOut.model_validate(row) for row in (await session.execute(query)).scalars()]


def page_end(ids: list[int], limit: int) -> int | None:
    """The cursor of the next page: the last row's id when the page is full."""
    return ids[-1] if len(ids) == limit else None
