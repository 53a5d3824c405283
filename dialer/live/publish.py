"""Telling the bus: one row in the transaction of the change it reports.

The row is told to every replica only if that transaction commits (PostgreSQL: the table's
trigger calls ``pg_notify``, delivered at commit, in commit order; SQLite: each process's bus reads
the new rows). So a page never sees a change that was rolled back, and sees each change once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dialer.live.models import LiveEvent

AGENT = "agent"
"""An agent's state changed: ``agent_id``, ``session_id``, ``seat_id``, ``from``, ``to``, ``reason``,
``since``, ``call_id``."""
CALL = "call"
"""A call's state changed: ``call_id``, ``agent_id``, ``state``, ``direction``, ``client_id``."""
REFUSAL = "refusal"
"""The policy refused a dial: ``decision_id``, ``agent_id``, ``client_id``, ``case_id``, ``party_id``,
``party_role``, ``rules``, ``next_allowed_at``."""
SUPERVISION = "supervision"
"""A supervisor joined a call, changed mode or left it: ``supervision_id``, ``call_id``, ``agent_id``,
``supervisor_id``, ``seat_id``, ``mode``, ``change`` (joined / mode / left), ``ended_by``."""
SET_ASIDE = "set_aside"
"""The work queue set a case aside (no party may be called now): ``case_id``, ``client_id``,
``agent_id`` (whose hand-out asked), ``rules``, ``until``."""


def publish(session: AsyncSession, topic: str, data: dict[str, Any], *, at: dt.datetime) -> None:
    """Add the event to ``session``'s unit of work (written at its flush, told at its commit)."""
    session.add(LiveEvent(at=at, topic=topic, data=data))
