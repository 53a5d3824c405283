"""What the scheduling endpoints do: task lists and updates, the under-minimum list."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.auth.deps import Principal
from dialer.auth.models import Role
from dialer.kit.errors import Conflict, NotFound
from dialer.kit.queries import keyset_page, where_given
from dialer.tasks.models import Task, TaskKind, TaskStatus
from scheduling.follow_ups import assess_cases
from scheduling.schemas import ReasonOut, UnderMinimumOut


async def list_tasks(
    session: AsyncSession, *, principal: Principal, status: TaskStatus | None, kind: TaskKind | None,
    case_id: int | None, agent_id: int | None, limit: int, after: int | None,
) -> list[Task]:
    """Tasks by id; an agent sees only the tasks assigned to them."""
    if principal.role is Role.AGENT:
        agent_id = principal.user_id
    query = where_given(select(Task), {
        Task.status: status, Task.kind: kind, Task.case_id: case_id, Task.assigned_agent_id: agent_id,
    })
    return list((await session.execute(keyset_page(query, Task.id, limit=limit, after=after))).scalars())


async def close_task(
    session: AsyncSession, *, task_id: int, status: TaskStatus, principal: Principal, now: dt.datetime,
) -> Task:
    """Mark an open task done or cancelled. Agents may close only their own tasks."""
    task = await session.get(Task, task_id)
    if task is None or (principal.role is Role.AGENT and task.assigned_agent_id != principal.user_id):
        raise NotFound(f"task {task_id} not found")
    if task.status is not TaskStatus.OPEN:
        raise Conflict(f"task {task_id} is already {task.status.value}", task_status=task.status.value)
    task.status, task.done_at = status, now
    await session.flush()
    return task


async def under_minimum(
    session: AsyncSession, *, now: dt.datetime, client_id: int | None = None,
) -> list[UnderMinimumOut]:
    """Open cases behind their minimum contact frequency or about to miss it, with the reasons;
    the cases that will miss it first, then the furthest behind."""
    found: list[UnderMinimumOut] = []
    async for page in assess_cases(session, now=now, client_id=client_id):
        for a in page:
            s = a.shortfall
            if s is None:
                continue
            found.append(UnderMinimumOut(
                case_id=a.case.facts.case_id, client_id=a.case.client_id, account_ref=a.case.account_ref,
                contactability=a.case.facts.contactability, assigned_agent_id=a.case.assigned_agent_id,
                period=s.period.key, period_end=s.period.end, required=s.required, made=s.made,
                expected_by_now=s.expected_by_now, behind=s.behind, will_miss=s.will_miss,
                callable_days_left=s.callable_days_left,
                reasons=[ReasonOut(code=r.code, message=r.message) for r in s.reasons],
                summary=s.summary(), next_follow_up_at=a.due,
            ))
    found.sort(key=lambda u: (not u.will_miss, u.made - u.expected_by_now, u.case_id))
    return found
