"""Field-visit requests (work-instruction 5.4.1.6): no contact on N consecutive days.

A *contact* is an outbound attempt that reached someone, an inbound conversation, or the
case's ``last_contact_at``. One ``field_visit`` task per run of failed days, keyed by the run's
first day, so the flag is raised once even as the run grows day by day.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from dialer.compliance.localtime import local_instant
from dialer.tasks.models import TaskKind
from dialer.tasks.repository import NewTask, add_tasks
from scheduling import repository
from scheduling.cadence import needs_field_visit, no_contact_streak

PRIORITY_FIELD_VISIT = 40


def field_visit_key(case_id: int, first_day: dt.date) -> str:
    return f"field_visit:{case_id}:{first_day.isoformat()}"


async def flag_field_visits(session: AsyncSession, *, now: dt.datetime) -> int:
    """Flag open cases with no contact on the policy's number of consecutive days; returns new flags."""
    policies = await repository.client_policies(session)
    longest = max((p.policy.obligations.no_contact_days_before_field_visit or 0 for p in policies.values()), default=0)
    if longest == 0:
        return 0
    since = now - dt.timedelta(days=longest + 2)
    created = 0
    async for page in repository.open_cases(session):
        ids = [c.facts.case_id for c in page]
        attempts = await repository.attempts_since(session, ids, since)
        inbound = await repository.inbound_conversations_since(session, ids, since)
        wanted: list[NewTask] = []
        for c in page:
            client = policies[c.client_id]
            tz = client.zone_of(c.zone_name)
            own = attempts.get(c.facts.case_id, [])
            contacts = {at.astimezone(tz).date() for at, reached in own if reached}
            contacts |= {at.astimezone(tz).date() for at in inbound.get(c.facts.case_id, [])}
            if c.last_contact_at is not None:
                contacts.add(c.last_contact_at.astimezone(tz).date())
            today = now.astimezone(tz).date()
            streak = no_contact_streak({at.astimezone(tz).date() for at, _ in own}, contacts, today)
            if streak is None or not needs_field_visit(streak, client.policy.obligations):
                continue
            last_day = today - dt.timedelta(days=1)
            wanted.append(NewTask(
                case_id=c.facts.case_id, kind=TaskKind.FIELD_VISIT,
                dedupe_key=field_visit_key(c.facts.case_id, streak.first_day),
                due_at=local_instant(today, dt.time(0), tz), priority=PRIORITY_FIELD_VISIT,
                reason=(f"no contact on {streak.days} consecutive days "
                        f"({streak.first_day.isoformat()} to {last_day.isoformat()}): request a field visit"),
                assigned_agent_id=c.assigned_agent_id,
            ))
        created += await add_tasks(session, wanted, now=now)
    return created
