"""What the calendars' tests share: 2027's Spring Festival as an admin enters it, the audit rows."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from dialer.audit.models import AuditEntry
from tests.clocks import DrivenClock

SH = ZoneInfo("Asia/Shanghai")
D = dt.date
TODAY = dt.datetime(2026, 12, 5, 10, 0, tzinfo=SH)  # the service's "now" in these tests

SPRING_FESTIVAL_2027 = [
    *({"day": f"2027-02-{day:02d}", "kind": "holiday", "name": "春节"} for day in range(6, 13)),  # Sat 6 – Fri 12
    {"day": "2027-02-14", "kind": "workday", "name": "春节调休"},  # a Sunday worked
]
"""An entry for 2027 (invented for the tests: the State Council's notice decides the real one)."""


@pytest.fixture
def clock(app) -> DrivenClock:
    """The app's clock, frozen at :data:`TODAY` (2026-12-05, when 2027 is still missing)."""
    driven = DrivenClock(TODAY)
    app.state.container.use(clock=driven)
    return driven


async def audit_actions(app) -> list[tuple[str, int | None, str | None, dict]]:
    async with app.state.container.sessions() as s:
        rows = (await s.execute(select(AuditEntry).where(AuditEntry.entity == "calendar_year")
                                .order_by(AuditEntry.id))).scalars().all()
    return [(r.action, r.actor_id, r.entity_id, r.detail) for r in rows]
