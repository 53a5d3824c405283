"""Follow-up cadence and minimum contact frequency over the open cases, page by page.

:func:`assess_cases` is the read side (also behind the supervisors' under-minimum list);
:func:`refresh_follow_ups` is the job: it writes each case's ``next_follow_up_at`` and keeps
one ``min_frequency`` task per case and period for cases behind or about to miss the minimum.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.calendars.store import calendars_of
from dialer.cases.models import Case, CaseStatus
from dialer.compliance.localtime import next_opening
from dialer.kit.db import rowcount
from dialer.tasks.models import Task, TaskKind, TaskStatus
from dialer.tasks.repository import NewTask, add_tasks, open_tasks_of
from scheduling import repository
from scheduling.cadence import callable_from, next_follow_up
from scheduling.minimums import Shortfall, assess, blocking_reasons, period_for
from scheduling.repository import ClientPolicy, OpenCase

LOOK_BACK = dt.timedelta(days=32)  # covers the longest period (a month) in any zone


@dataclass(frozen=True, slots=True)
class Assessed:
    case: OpenCase
    due: dt.datetime | None
    shortfall: Shortfall | None


@dataclass(slots=True)
class FollowUpCounts:
    cases: int = 0
    rescheduled: int = 0
    behind: int = 0
    will_miss: int = 0
    tasks_created: int = 0
    tasks_closed: int = 0


def min_frequency_key(case_id: int, period_key: str) -> str:
    return f"min_frequency:{case_id}:{period_key}"


async def assess_cases(
    session: AsyncSession, *, now: dt.datetime, client_id: int | None = None,
    policies: dict[int, ClientPolicy] | None = None,
) -> AsyncIterator[list[Assessed]]:
    """Each open case's next due time and minimum-frequency shortfall, a page at a time."""
    policies = policies if policies is not None else await repository.client_policies(session)
    calendars = await calendars_of(session)  # the public holidays of the windows, as entered
    async for page in repository.open_cases(session, client_id=client_id):
        ids = [c.facts.case_id for c in page]
        last = await repository.last_attempts(session, ids)
        promises = await repository.latest_promises(session, ids)
        requested = await repository.requested_follow_ups(session, ids)
        attempts = await repository.attempts_since(session, ids, now - LOOK_BACK)
        cases = [
            dataclasses.replace(c, facts=dataclasses.replace(
                c.facts, last_attempt_at=last.get(c.facts.case_id), latest_promise=promises.get(c.facts.case_id),
                requested_follow_up=requested.get(c.facts.case_id),
            ))
            for c in page
        ]
        periods, made = {}, {}
        for c in cases:
            client = policies[c.client_id]
            period = period_for(c.facts.contactability, client.policy, now, client.zone_of(c.zone_name))
            if period is not None:
                periods[c.facts.case_id] = period
                made[c.facts.case_id] = sum(
                    1 for at, _ in attempts.get(c.facts.case_id, ()) if period.start <= at < period.end
                )
        short_ids = {i for i, period in periods.items() if made[i] < period.required}
        short = [c for c in cases if c.facts.case_id in short_ids]
        reach = await repository.party_reach(session, short) if short else {}
        out: list[Assessed] = []
        for c in cases:
            client = policies[c.client_id]
            tz, policy = client.zone_of(c.zone_name), client.policy
            shortfall = None
            if c.facts.case_id in short_ids:
                blockers = blocking_reasons(
                    reach.get(c.facts.case_id, []), stop_contact=policy.rules.stop_contact,
                    invalid_number=policy.rules.invalid_number,
                )
                shortfall = assess(
                    period=periods[c.facts.case_id], made=made[c.facts.case_id], now=now, policy=policy, tz=tz,
                    callable_from=callable_from(c.facts, policy.obligations), blockers=blockers,
                    calendar=calendars.get(policy.holiday_calendar),
                )
            behind = shortfall is not None and shortfall.behind and not shortfall.reasons
            due = next_follow_up(c.facts, policy, tz, now, behind=behind, calendar=calendars.get(policy.holiday_calendar))
            out.append(Assessed(c, due, shortfall))
        yield out


async def refresh_follow_ups(
    session: AsyncSession, *, now: dt.datetime, client_id: int | None = None,
) -> FollowUpCounts:
    """The cadence and minimum-frequency job (idempotent: the same state gives the same writes)."""
    counts = FollowUpCounts()
    counts.tasks_closed += await _retire_closed_cases(session, now=now)
    policies = await repository.client_policies(session)
    async for page in assess_cases(session, now=now, client_id=client_id, policies=policies):
        counts.cases += len(page)
        moved = [
            {"id": a.case.facts.case_id, "next_follow_up_at": a.due} for a in page if a.due != a.case.next_follow_up_at
        ]
        if moved:
            await session.execute(update(Case), moved)
            counts.rescheduled += len(moved)
        await _min_frequency_tasks(session, page, policies, now, counts)
    return counts


async def _retire_closed_cases(session: AsyncSession, *, now: dt.datetime) -> int:
    """Cases that are no longer open are not due; the open tasks of settled, paid or returned
    cases are cancelled (a paused case keeps its tasks for when it resumes)."""
    await session.execute(
        update(Case).where(Case.status != CaseStatus.OPEN, Case.next_follow_up_at.is_not(None))
        .values(next_follow_up_at=None).execution_options(synchronize_session=False)
    )
    finished = select(Case.id).where(Case.status.in_((CaseStatus.SETTLED, CaseStatus.PAID, CaseStatus.RETURNED)))
    result = await session.execute(
        update(Task).where(Task.status == TaskStatus.OPEN, Task.case_id.in_(finished))
        .values(status=TaskStatus.CANCELLED, done_at=now).execution_options(synchronize_session=False)
    )
    return rowcount(result)


async def _min_frequency_tasks(
    session: AsyncSession, page: list[Assessed], policies: dict[int, ClientPolicy], now: dt.datetime,
    counts: FollowUpCounts,
) -> None:
    ids = [a.case.facts.case_id for a in page]
    existing = {t.dedupe_key: t for t in await open_tasks_of(session, kind=TaskKind.MIN_FREQUENCY, case_ids=ids)}
    wanted: list[NewTask] = []
    for a in page:
        if a.shortfall is None:
            continue
        counts.behind += a.shortfall.behind
        counts.will_miss += a.shortfall.will_miss
        key = min_frequency_key(a.case.facts.case_id, a.shortfall.period.key)
        task = existing.pop(key, None)
        if task is not None:  # keep whoever it was (re)assigned to; refresh how urgent and why
            task.priority, task.reason = a.shortfall.priority, a.shortfall.summary()
            continue
        # A case only a person can unblock goes to the supervisors (unassigned), not the agent.
        agent = None if a.shortfall.reasons else a.case.assigned_agent_id
        client = policies[a.case.client_id]
        holidays = (await calendars_of(session)).get(client.policy.holiday_calendar)
        due = a.due or next_opening(client.policy, now, client.zone_of(a.case.zone_name), calendar=holidays) or now
        wanted.append(NewTask(
            case_id=a.case.facts.case_id, kind=TaskKind.MIN_FREQUENCY, dedupe_key=key, due_at=due,
            due_until=a.shortfall.period.end, priority=a.shortfall.priority, reason=a.shortfall.summary(),
            assigned_agent_id=agent,
        ))
    for task in existing.values():  # caught up, or the period is over
        task.status = TaskStatus.DONE if task.due_until is None or task.due_until > now else TaskStatus.CANCELLED
        task.done_at = now
        counts.tasks_closed += 1
    await session.flush()
    counts.tasks_created += await add_tasks(session, wanted, now=now)
