"""Who may ask about a party: agents only about the parties of cases they may see (their own and
their team's, as ``dialer.cases``), answered 404 outside them like the case endpoints, so ids
cannot be probed; every other role about any party."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.auth.deps import Principal
from dialer.auth.models import Role
from dialer.cases import repository as cases
from dialer.cases.models import Party, PhoneNumber
from dialer.kit.errors import NotFound


async def require_visible(
    session: AsyncSession, principal: Principal, *, party_id: int | None = None, number_id: int | None = None,
) -> None:
    """Raise :class:`NotFound` (the same text as an unknown id) when ``principal`` is an agent
    outside the case of this party, or of this number's party."""
    if principal.role is not Role.AGENT:
        return
    if number_id is not None:
        query = select(Party.case_id).join(PhoneNumber, PhoneNumber.party_id == Party.id).where(PhoneNumber.id == number_id)
        missing = f"phone number {number_id} not found"
    else:
        query = select(Party.case_id).where(Party.id == party_id)
        missing = f"party {party_id} not found"
    case_id = (await session.execute(query)).scalar_one_or_none()
    if case_id is None or await cases.find_case(session, case_id, principal) is None:
        raise NotFound(missing)
