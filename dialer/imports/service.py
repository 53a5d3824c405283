"""Case and stop-list imports: check the whole file first, then write all of it or nothing.

Every row is checked — in the file, then against the database (accounts already imported,
agents, accounts a stop entry points at) — before anything is added. A single bad row rejects
the file with :class:`~dialer.kit.errors.ImportRejected` listing every error. On success the
batch, its rows and an audit entry are added and flushed; the caller owns the transaction.

Rows go in with bulk ``INSERT`` (``RETURNING`` ids where the next table needs them), batched
by SQLAlchemy; database look-ups take one query per few thousand values, never one per row.
Parsing is CPU work (about 0.2 ms a row, most of it ``phonenumbers``), so it runs in a worker
thread to keep the event loop answering webhooks while a 50,000-row file is read.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from functools import partial
from dataclasses import dataclass
from typing import Any, Unpack
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from dialer.audit.service import record
from dialer.auth.models import Role, User
from dialer.cases.models import (
    Bucket, Case, CaseStatus, Contactability, NumberKind, Party, PartyRole, PhoneNumber, Relation,
)
from dialer.clients.models import Client
from dialer.compliance.models import StopContact, StopSource
from dialer.imports.case_rows import CaseRow, PhoneRow, parse_case_file
from dialer.imports.models import ImportBatch, ImportKind
from dialer.imports.parsing import ParsedFile, Reference, RowError
from dialer.imports.stop_rows import StopRow, parse_stop_file
from dialer.imports.report import reject_if_any
from dialer.kit.errors import NotFound

_CHUNK = 5000  # values per IN (...) look-up; well under SQLite's and asyncpg's parameter limits
_PARTY_KEY = ("case_id", "role", "relation", "name", "id_number", "time_zone", "debt_related")


@dataclass(frozen=True)
class ImportResult:
    batch_id: int
    kind: str
    rows: int
    created: dict[str, int]


async def import_cases(
    session: AsyncSession, *, client_id: int, filename: str, content: bytes, actor: Any | None,
    now: dt.datetime, encoding: str | None = None,
) -> ImportResult:
    """Import a case file (format: :mod:`dialer.imports.case_rows`) for one client."""
    _require_aware(now)
    parsed = await asyncio.to_thread(partial(parse_case_file, filename, content, encoding=encoding))  # before any lock
    client = await _client(session, client_id)
    errors = parsed.error_log()

    accounts = _references(parsed, "account_ref")
    existing = await _account_refs(session, client_id, {r.value for r in accounts})
    errors += [
        RowError(r.line, "account_ref", f"account_ref {r.value!r} was already imported for this client")
        for r in accounts if r.value in existing
    ]
    wanted_agents = _references(parsed, "assigned_agent")
    agents = await _active_agents(session, {r.value for r in wanted_agents})
    errors += [
        RowError(r.line, "assigned_agent", f"no active agent with username {r.value!r}")
        for r in wanted_agents if r.value not in agents
    ]
    reject_if_any(errors, filename)

    batch = await _add_batch(session, client_id, ImportKind.CASES, filename, content, len(parsed.rows), actor, now)
    as_of = now.astimezone(ZoneInfo(client.default_time_zone)).date()
    case_values = [_case_values(row, client_id, batch.id, agents, as_of, now) for row in parsed.rows]
    case_ids = await _insert_returning_ids(session, Case, case_values, key=("account_ref",))

    parties: list[dict[str, Any]] = []
    numbers_of: list[tuple[PhoneRow, ...]] = []
    for case_id, row in zip(case_ids, parsed.rows, strict=True):
        parties.append(_party_values(
            case_id, PartyRole.DEBTOR, Relation.SELF, row.debtor_name, now, id_number=row.debtor_id_number,
            time_zone=row.debtor_time_zone,
        ))
        numbers_of.append(row.debtor_numbers)
        for contact in row.contacts:
            parties.append(_party_values(
                case_id, PartyRole.THIRD_PARTY, contact.relation, contact.name, now,
                debt_related=contact.debt_related,
            ))
            numbers_of.append(contact.numbers)
    party_ids = await _insert_returning_ids(session, Party, parties, key=_PARTY_KEY)

    numbers = [
        {
            "party_id": party_id, "e164": n.e164, "kind": NumberKind(n.kind), "region": n.region,
            "time_zone": n.time_zone, "valid": True, "invalid_reason": None, "invalid_marked_at": None,
            "position": position, "created_at": now,
        }
        for party_id, phones in zip(party_ids, numbers_of, strict=True)
        for position, n in enumerate(phones)
    ]
    await _insert(session, PhoneNumber, numbers)

    created = {
        "cases": len(case_ids), "debtors": len(parsed.rows), "third_parties": len(parties) - len(parsed.rows),
        "phone_numbers": len(numbers),
    }
    return await _finish(session, batch, actor, created)


async def import_stop_list(
    session: AsyncSession, *, client_id: int, filename: str, content: bytes, actor: Any | None,
    now: dt.datetime, encoding: str | None = None,
) -> ImportResult:
    """Import a client's stop-contact list (format: :mod:`dialer.imports.stop_rows`).

    An entry whose number and id number are all already on the client's active stop list
    (whatever put them there) is skipped and counted as ``already_listed``.
    """
    _require_aware(now)
    parsed = await asyncio.to_thread(partial(parse_stop_file, filename, content, encoding=encoding))  # before any lock
    await _client(session, client_id)
    errors = parsed.error_log()

    accounts = _references(parsed, "account_ref")
    case_ids = await _case_ids(session, client_id, {r.value for r in accounts})
    errors += [
        RowError(r.line, "account_ref", f"no case with account_ref {r.value!r} for this client")
        for r in accounts if r.value not in case_ids
    ]
    reject_if_any(errors, filename)

    targets = await _party_targets(session, set(case_ids.values()))
    listed_numbers, listed_ids = await _active_stops(session, client_id, parsed.rows)
    batch = await _add_batch(session, client_id, ImportKind.STOP_LIST, filename, content, len(parsed.rows), actor, now)

    entries: list[dict[str, Any]] = []
    for row in parsed.rows:
        if _already_listed(row, listed_numbers, listed_ids):
            continue
        case_id = case_ids.get(row.account_ref) if row.account_ref else None
        entries.append({
            "client_id": client_id, "case_id": case_id,
            "party_id": _matching_party(targets.get(case_id, ()), row) if case_id else None,
            "e164": row.e164, "id_number": row.id_number, "source": StopSource.CLIENT_LIST,
            "reason": row.reason, "import_batch_id": batch.id, "created_by_id": _user_id(actor),
            "created_at": now, "lifted_at": None, "lifted_by_id": None, "lift_reason": None,
        })
    await _insert(session, StopContact, entries)
    created = {"stop_contacts": len(entries), "already_listed": len(parsed.rows) - len(entries)}
    return await _finish(session, batch, actor, created)


# --- rows to values ------------------------------------------------------------------------


def _case_values(
    row: CaseRow, client_id: int, batch_id: int, agents: dict[str, tuple[int, str | None]],
    as_of: dt.date, now: dt.datetime,
) -> dict[str, Any]:
    agent_id, agent_team = agents.get(row.assigned_agent or "", (None, None))
    return {
        "client_id": client_id, "account_ref": row.account_ref, "product": row.product,
        "currency": row.currency, "principal": row.principal, "interest_fees": row.interest_fees,
        "total_owed": row.total_owed, "overdue_days": row.overdue_days, "overdue_as_of": as_of,
        "bucket": Bucket.for_days(row.overdue_days), "status": CaseStatus.OPEN,
        "contactability": Contactability.REACHABLE, "assigned_agent_id": agent_id,
        "team": row.team or agent_team, "next_follow_up_at": None, "last_contact_at": None,
        "import_batch_id": batch_id, "created_at": now, "updated_at": now,
    }


def _party_values(
    case_id: int, role: PartyRole, relation: Relation, name: str, now: dt.datetime, *,
    id_number: str | None = None, time_zone: str | None = None, debt_related: bool = False,
) -> dict[str, Any]:
    return {
        "case_id": case_id, "role": role, "relation": relation, "name": name, "id_number": id_number,
        "debt_related": debt_related, "time_zone": time_zone, "address": None, "created_at": now,
    }


def _already_listed(row: StopRow, numbers: set[str], id_numbers: set[str]) -> bool:
    """Everything the row names (its number, its id number) is already on the active list."""
    named = [(row.e164, numbers), (row.id_number, id_numbers)]
    return all(value in listed for value, listed in named if value is not None)


def _matching_party(parties: Iterable[tuple[int, str | None, str | None]], row: StopRow) -> int | None:
    """The case's party the entry names: by id number first, then by phone number."""
    candidates = sorted(parties, key=lambda target: target[0])
    for party_id, id_number, _ in candidates:
        if row.id_number and id_number and id_number.upper() == row.id_number:
            return party_id
    for party_id, _, e164 in candidates:
        if row.e164 and e164 == row.e164:
            return party_id
    return None


# --- database ----------------------------------------------------------------------------


async def _client(session: AsyncSession, client_id: int) -> Client:
    """The client, row-locked on PostgreSQL so two imports for one client run one after the
    other (each checks duplicates against what the other wrote). SQLite serialises writers."""
    client = (await session.execute(select(Client).where(Client.id == client_id).with_for_update())).scalar_one_or_none()
    if client is None:
        raise NotFound(f"client {client_id} does not exist")
    return client


async def _select_in(
    session: AsyncSession, statement: Select[Unpack[tuple[Any, ...]]], column: ColumnElement[Any] | InstrumentedAttribute[Any],
    values: Iterable[Any],
) -> list[Any]:
    wanted = sorted(set(values))
    rows: list[Any] = []
    for start in range(0, len(wanted), _CHUNK):
        rows += (await session.execute(statement.where(column.in_(wanted[start:start + _CHUNK])))).all()
    return rows


async def _account_refs(session: AsyncSession, client_id: int, refs: set[str]) -> set[str]:
    statement = select(Case.account_ref).where(Case.client_id == client_id)
    return {ref for (ref,) in await _select_in(session, statement, Case.account_ref, refs)}


async def _case_ids(session: AsyncSession, client_id: int, refs: set[str]) -> dict[str, int]:
    statement = select(Case.account_ref, Case.id).where(Case.client_id == client_id)
    return dict(await _select_in(session, statement, Case.account_ref, refs))


async def _active_agents(session: AsyncSession, usernames: set[str]) -> dict[str, tuple[int, str | None]]:
    statement = select(User.username, User.id, User.team).where(User.active.is_(True), User.role == Role.AGENT)
    return {name: (uid, team) for name, uid, team in await _select_in(session, statement, User.username, usernames)}


async def _party_targets(
    session: AsyncSession, case_ids: set[int],
) -> dict[int, list[tuple[int, str | None, str | None]]]:
    """case id → (party id, party's id number, one of its numbers) for every party and number."""
    statement = select(Party.case_id, Party.id, Party.id_number, PhoneNumber.e164).outerjoin(
        PhoneNumber, PhoneNumber.party_id == Party.id
    )
    targets: dict[int, list[tuple[int, str | None, str | None]]] = {}
    for case_id, party_id, id_number, e164 in await _select_in(session, statement, Party.case_id, case_ids):
        targets.setdefault(case_id, []).append((party_id, id_number, e164))
    return targets


async def _active_stops(
    session: AsyncSession, client_id: int, rows: Sequence[StopRow],
) -> tuple[set[str], set[str]]:
    active = select(StopContact.e164, StopContact.id_number).where(
        StopContact.client_id == client_id, StopContact.lifted_at.is_(None)
    )
    by_number = await _select_in(session, active, StopContact.e164, {r.e164 for r in rows if r.e164})
    by_id = await _select_in(session, active, StopContact.id_number, {r.id_number for r in rows if r.id_number})
    return {e164 for e164, _ in by_number}, {ident for _, ident in by_id}


async def _insert(session: AsyncSession, model: type[Any], values: list[dict[str, Any]]) -> None:
    if values:
        await session.execute(insert(model), values)


async def _insert_returning_ids(
    session: AsyncSession, model: type[Any], values: list[dict[str, Any]], key: tuple[str, ...],
) -> list[int]:
    """Bulk INSERT ... RETURNING; the new ids in the order of ``values``.

    Rows are matched to ids on ``key``, not on the order RETURNING gives them back in: SQLite
    promises no order for a multi-row statement, and asking SQLAlchemy to sort makes it fall
    back to one statement per row. ``key`` must hold every column that can tell two rows
    apart; rows equal on it are interchangeable, so which one gets which id does not matter.
    """
    if not values:
        return []
    columns = [getattr(model, name) for name in key]
    result = await session.execute(insert(model).returning(model.id, *columns), values)
    ids: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for new_id, *found in result:
        ids[tuple(found)].append(new_id)
    return [ids[tuple(value[name] for name in key)].pop() for value in values]


async def _add_batch(
    session: AsyncSession, client_id: int, kind: ImportKind, filename: str, content: bytes, rows: int,
    actor: Any | None, now: dt.datetime,
) -> ImportBatch:
    batch = ImportBatch(
        client_id=client_id, kind=kind, filename=filename[:255], sha256=hashlib.sha256(content).hexdigest(),
        row_count=rows, created_by_id=_user_id(actor), created_at=now,
    )
    session.add(batch)
    await session.flush()
    return batch


async def _finish(
    session: AsyncSession, batch: ImportBatch, actor: Any | None, created: dict[str, int],
) -> ImportResult:
    await record(
        session, action=f"import.{batch.kind.value}", actor=actor, entity="import_batch", entity_id=batch.id,
        rows=batch.row_count, filename=batch.filename, sha256=batch.sha256, created=created,
    )
    await session.flush()
    return ImportResult(batch_id=batch.id, kind=batch.kind.value, rows=batch.row_count, created=created)


# --- helpers -----------------------------------------------------------------------------


def _references(parsed: ParsedFile[Any], column: str) -> list[Reference]:
    return [r for r in parsed.references if r.column == column]


def _user_id(actor: Any | None) -> int | None:
    return getattr(actor, "user_id", None)


def _require_aware(now: dt.datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
