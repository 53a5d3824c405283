"""Write a decision to the append-only ledger and, for an allowed reservation, the attempt it
reserves — and, for a dial, the call it is for: prebuilt Core inserts, one statement for all of
them on PostgreSQL.

The rows are handed back as ORM instances already known to the session (as a flush would have
left them), so a caller can still link the attempt to its call by setting ``attempt.call_id``
(a dial writes the call with the attempt instead: the attempt is born linked, one write each).
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Insert, bindparam, false, insert, literal, null, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from dialer.calls.models import Call
from dialer.compliance.models import Attempt, AttemptSource
from dialer.compliance.models import Decision as LedgerEntry
from dialer.kit.db import is_postgres, table_of
from dialer.kit.types import utcnow

_D, _A = table_of(LedgerEntry), table_of(Attempt)
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


def _insert_attempt(*, linked: bool) -> Insert:
    """SQLite: the attempt in a second statement (``linked``: a third, after the call a dial wrote)."""
    values: dict[str, Any] = {name: bindparam(name) for name in _ATTEMPT_FROM_ENTRY}
    values["call_id"] = bindparam("call_id") if linked else null()
    return insert(_A).values(values).values(
        outcome=null(), conversation=false(), direction=literal("outbound"), source=literal(AttemptSource.DIALER.value),
    ).returning(_A.c.id)


_INSERT_ATTEMPT = _insert_attempt(linked=False)
_INSERT_LINKED_ATTEMPT = _insert_attempt(linked=True)


def _entry_cte():
    """PostgreSQL: ``entry AS (INSERT INTO compliance_decisions … RETURNING …)``, with what the
    attempt copies from it."""
    return insert(_D).values({name: bindparam(name) for name in _ENTRY}).returning(
        *(_D.c[column] for column in dict.fromkeys(_ATTEMPT_FROM_ENTRY.values()))
    ).cte("entry")


def _attempt_from(entry, call_id, *, call=None) -> Insert:
    """PostgreSQL: ``INSERT INTO attempts … SELECT … FROM entry`` (joined with the ``call`` CTE, one
    row each, when there is one), linked to ``call_id`` (a column or NULL)."""
    row = select(*(entry.c[_ATTEMPT_FROM_ENTRY[column]] for column in _ATTEMPT_FROM_ENTRY),
                 call_id, null(), false(), literal("outbound"), literal(AttemptSource.DIALER.value))
    if call is not None:
        row = row.select_from(entry.join(call, true()))
    return insert(_A).from_select(
        [*_ATTEMPT_FROM_ENTRY, "call_id", "outcome", "conversation", "direction", "source"], row)


def _insert_both():
    """PostgreSQL: ``WITH entry AS (INSERT INTO compliance_decisions … RETURNING …)
    INSERT INTO attempts … SELECT … FROM entry RETURNING id, decision_id``."""
    entry = _entry_cte()
    return _attempt_from(entry, null()).add_cte(entry).returning(_A.c.id, _A.c.decision_id)


_INSERT_BOTH = _insert_both()

_CALL = table_of(Call)


# HOT PATH (bench/dialer.py, bench/policy.py): the reservation's one write; a change here is benchmarked.
@functools.cache
def _insert_dial(call_columns: tuple[str, ...]) -> Insert:
    """PostgreSQL: ``WITH entry AS (INSERT INTO compliance_decisions … RETURNING …), call AS
    (INSERT INTO calls (…, decision_id) SELECT …, entry.id FROM entry RETURNING id)
    INSERT INTO attempts (…, call_id) SELECT …, call.id FROM entry, call RETURNING id,
    decision_id, call_id``: the entry, the call it allowed and the attempt linked to both."""
    entry = _entry_cte()
    call = insert(_CALL).from_select(
        [*call_columns, "decision_id"],
        select(*(bindparam(f"call_{name}", type_=_CALL.c[name].type) for name in call_columns), entry.c.id),
    ).returning(_CALL.c.id).cte("call")
    return _attempt_from(entry, call.c.id, call=call).add_cte(entry, call).returning(
        _A.c.id, _A.c.decision_id, _A.c.call_id)


@functools.cache
def _insert_call(call_columns: tuple[str, ...]) -> Insert:
    """SQLite: the call in a statement of its own, between the entry and the attempt."""
    return insert(_CALL).values({name: bindparam(name) for name in (*call_columns, "decision_id")}).returning(
        _CALL.c.id)


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


async def record_dial(
    session: AsyncSession, *, values: dict[str, Any], call: dict[str, Any],
) -> tuple[LedgerEntry, Attempt, int]:
    """An allowed reservation for a dial: the ledger entry ``values`` (as :func:`record`), the
    call row ``call`` (its columns; ``decision_id`` is the entry) and the attempt, linked to both,
    each written once (one statement on PostgreSQL). Returns the entry and the attempt as instances
    of the session, and the call's id (the caller builds the call's instance: it knows its columns)."""
    values = {**values, "created_at": utcnow()}
    connection = await session.connection()
    call = {name: value for name, value in call.items() if name not in ("id", "decision_id")}
    columns = tuple(sorted(call))
    if is_postgres(session):
        attempt_id, entry_id, call_id = (await connection.execute(
            _insert_dial(columns), {**values, **{f"call_{name}": value for name, value in call.items()}})).one()
    else:
        entry_id = (await connection.execute(_INSERT_ENTRY, values)).scalar_one()
        call_id = (await connection.execute(_insert_call(columns), {**call, "decision_id": entry_id})).scalar_one()
        attempt_id = (await connection.execute(
            _INSERT_LINKED_ATTEMPT, {**_attempt_values(values, entry_id), "call_id": call_id})).scalar_one()
    entry = _known(LedgerEntry(id=entry_id, **values), session)
    attempt_values = {**_attempt_values(values, entry_id), **_ATTEMPT_CONSTANTS, "call_id": call_id}
    return entry, _known(Attempt(id=attempt_id, **attempt_values), session), call_id


def _attempt_values(values: dict[str, Any], entry_id: int) -> dict[str, Any]:
    entry = {**values, "id": entry_id}
    return {column: entry[source] for column, source in _ATTEMPT_FROM_ENTRY.items()}

