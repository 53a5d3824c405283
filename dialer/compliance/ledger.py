"""Write a decision to the append-only ledger and, for an allowed reservation, the attempt it
reserves: prebuilt Core inserts, one statement for both on PostgreSQL.

The rows are handed back as ORM instances already known to the session (as a flush would have
left them), so a caller can still link the attempt to its call by setting ``attempt.call_id``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, false, insert, literal, null, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from dialer.compliance.models import Attempt, AttemptSource
from dialer.compliance.models import Decision as LedgerEntry
from dialer.kit.db import is_postgres
from dialer.kit.types import utcnow

_D, _A = LedgerEntry.__table__, Attempt.__table__
_ENTRY = (
    "client_id", "policy_version", "case_id", "party_id", "number_id", "agent_id", "seat_id", "channel", "at",
    "allowed", "dry_run", "violations", "rule_results", "next_allowed_at", "created_at",
)
_INSERT_ENTRY = insert(_D).values({name: bindparam(name) for name in _ENTRY}).returning(_D.c.id)

# The attempt copies its owner, number and instant from the entry it was decided by.
_ATTEMPT_FROM_ENTRY = {
    "client_id": "client_id", "case_id": "case_id", "party_id": "party_id", "number_id": "number_id",
    "decision_id": "id", "started_at": "at", "created_at": "created_at",
}
_ATTEMPT_CONSTANTS = {"call_id": None, "outcome": None, "conversation": False, "direction": "outbound",
                      "source": AttemptSource.DIALER}

# SQLite: the attempt in a second statement.
_INSERT_ATTEMPT = insert(_A).values({name: bindparam(name) for name in _ATTEMPT_FROM_ENTRY}).values(
    call_id=null(), outcome=null(), conversation=false(), direction=literal("outbound"),
    source=literal(AttemptSource.DIALER.value),
).returning(_A.c.id)


def _insert_both():
    """PostgreSQL: ``WITH entry AS (INSERT INTO compliance_decisions … RETURNING …)
    INSERT INTO attempts … SELECT … FROM entry RETURNING id, decision_id``."""
    entry = insert(_D).values({name: bindparam(name) for name in _ENTRY}).returning(
        *(_D.c[column] for column in dict.fromkeys(_ATTEMPT_FROM_ENTRY.values()))
    ).cte("entry")
    columns = list(_ATTEMPT_FROM_ENTRY)
    return (
        insert(_A)
        .from_select(
            [*columns, "call_id", "outcome", "conversation", "direction", "source"],
            select(
                *(entry.c[_ATTEMPT_FROM_ENTRY[c]] for c in columns),
                null(), null(), false(), literal("outbound"), literal(AttemptSource.DIALER.value),
            ),
        )
        .add_cte(entry)
        .returning(_A.c.id, _A.c.decision_id)
    )


_INSERT_BOTH = _insert_both()


def _known(instance: Any, session: AsyncSession) -> Any:
    """Make a row just inserted by a Core statement a persistent instance of the session."""
    make_transient_to_detached(instance)
    session.add(instance)
    return instance


async def record(
    session: AsyncSession, *, values: dict[str, Any], reserve: bool,
) -> tuple[LedgerEntry, Attempt | None]:
    """Insert the ledger entry ``values`` (every column but ``id`` and ``created_at``) and, when
    ``reserve``, the attempt it allows; both rows as instances of the session."""
    values = {**values, "created_at": utcnow()}
    connection = await session.connection()
    attempt_id = None
    if reserve and is_postgres(session):
        attempt_id, entry_id = (await connection.execute(_INSERT_BOTH, values)).one()
    else:
        entry_id = (await connection.execute(_INSERT_ENTRY, values)).scalar_one()
        if reserve:
            attempt_id = (
                await connection.execute(_INSERT_ATTEMPT, _attempt_values(values, entry_id))
            ).scalar_one()
    entry = _known(LedgerEntry(id=entry_id, **values), session)
    if attempt_id is None:
        return entry, None
    return entry, _known(Attempt(id=attempt_id, **_attempt_values(values, entry_id), **_ATTEMPT_CONSTANTS), session)


def _attempt_values(values: dict[str, Any], entry_id: int) -> dict[str, Any]:
    entry = {**values, "id": entry_id}
    return {column: entry[source] for column, source in _ATTEMPT_FROM_ENTRY.items()}

