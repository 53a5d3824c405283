"""Historical attempts imported from a previous dialer, so caps continue across the switch."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.audit import service as audit
from dialer.auth.deps import Principal
from dialer.cases.models import Case, Party, PhoneNumber
from dialer.compliance.models import Attempt, AttemptSource
from dialer.compliance.schemas import AttemptIn
from dialer.kit.errors import ImportRejected


async def import_attempts(
    session: AsyncSession, *, attempts: list[AttemptIn], actor: Principal, now: dt.datetime
) -> int:
    """All-or-nothing: every row is checked (number exists, not in the future) before any is written."""
    number_ids = {a.number_id for a in attempts}
    rows = (
        await session.execute(
            select(PhoneNumber.id, Party.id.label("party_id"), Case.id.label("case_id"), Case.client_id)
            .join(Party, Party.id == PhoneNumber.party_id)
            .join(Case, Case.id == Party.case_id)
            .where(PhoneNumber.id.in_(number_ids))
        )
    ).all()
    owners = {r.id: r for r in rows}
    errors = []
    for index, item in enumerate(attempts):
        if item.number_id not in owners:
            errors.append({"index": index, "field": "number_id", "reason": f"unknown phone number {item.number_id}"})
        if item.started_at > now:
            errors.append({"index": index, "field": "started_at", "reason": "in the future"})
        if item.conversation and item.outcome != "answered":
            errors.append({"index": index, "field": "conversation", "reason": "a conversation needs outcome 'answered'"})
    if errors:
        raise ImportRejected(f"{len(errors)} problems in {len(attempts)} attempts; nothing was imported", errors=errors)
    session.add_all(
        Attempt(
            client_id=owners[a.number_id].client_id, case_id=owners[a.number_id].case_id,
            party_id=owners[a.number_id].party_id, number_id=a.number_id, started_at=a.started_at,
            outcome=a.outcome, conversation=a.conversation, direction="outbound", source=AttemptSource.IMPORT,
        )
        for a in attempts
    )
    await session.flush()
    await audit.record(session, action="attempts.import", actor=actor, entity="attempts", count=len(attempts))
    return len(attempts)
