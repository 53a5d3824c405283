"""An auditor's export: every attempt in scope with the decision that reserved it, and every refused
decision, oldest first, one row each, with the call it led to and that call's recordings.

The scope (a party, a case, a client, or every client within a range) is resolved first to the rows'
keys alone, at most ``limit`` + 1 of them, so an export too large is refused before any row is built.
Then the rows are read a batch at a time and handed on, so memory holds one batch: the file itself
is written by :mod:`dialer.audit.export_files`.

What the ledger entry does not hold (the zones the window was judged in, each cap's count) comes
from ``evidence`` (``dialer.compliance.evidence.rebuild``); a call's duration from ``duration``
(the outbox's one rule): both passed in, as this low layer reads models only. Read-only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.audit.schemas import ExportQuery
from dialer.auth.models import User
from dialer.calls.models import Call, Recording
from dialer.cases.models import Case, Party, PartyRole, PhoneNumber, Relation
from dialer.clients.models import Client
from dialer.compliance.models import Attempt, Decision
from dialer.kit.db import is_postgres
from dialer.kit.errors import InvalidInput
from dialer.seats.models import Seat

MAX_ROWS = 50_000
"""The most rows one export holds; a larger scope is refused (422 ``export_too_large``): narrow the range."""
BATCH = 500

Evidence = Callable[[AsyncSession, Sequence[Decision]], Awaitable[Mapping[int, Mapping[str, Any]]]]
"""The rebuilt evidence of decisions, by id: ``zone_sources``, ``zones`` (``zone``, ``sources``),
``counts`` (``rule``, ``used``, ``limit``, ``window``) and ``basis``."""
Duration = Callable[[Call], int | None]

ATTEMPT, REFUSED = "attempt", "refused_decision"

COLUMNS = (
    "row_type", "attempt_id", "attempt_source", "attempt_direction", "attempt_started_at", "attempt_outcome",
    "conversation", "decision_id", "decided_at", "channel", "allowed", "dry_run", "policy_version", "rule_results",
    "violations", "next_allowed_at", "client_id", "client_code", "case_id", "account_ref", "party_id", "party_role",
    "party_relation", "number_id", "number", "zone_sources", "zones", "counts", "evidence_basis", "agent_id", "agent",
    "seat_id", "seat", "call_id", "call_state", "call_outcome", "call_duration_s", "call_talk_s", "recordings",
)
"""The columns of every format, in order (JSON keeps ``rule_results``, ``violations``, ``zones``,
``counts`` and ``recordings`` structured; the tables show them as text)."""


class ExportTooLarge(InvalidInput):
    code = "export_too_large"


@dataclass(frozen=True, slots=True)
class Key:
    at: dt.datetime
    kind: str
    id: int


_SET_READ_ONLY = text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")


async def read_only(session: AsyncSession) -> None:
    """Make the session's transaction a read-only snapshot where the database can (PostgreSQL:
    ``REPEATABLE READ, READ ONLY``, so every batch sees the same rows); SQLite's deferred read
    transaction is a snapshot from its first read. The first statement of the transaction."""
    if is_postgres(session):
        await session.execute(_SET_READ_ONLY)


def _attempts_in(q: ExportQuery) -> list[ColumnElement[bool]]:
    where = [column == value for column, value in ((Attempt.party_id, q.party_id), (Attempt.case_id, q.case_id),
                                                   (Attempt.client_id, q.client_id)) if value is not None]
    if q.from_ is not None:
        where.append(Attempt.started_at >= q.from_)
    if q.to is not None:
        where.append(Attempt.started_at < q.to)
    return where


def _refusals_in(q: ExportQuery) -> list[ColumnElement[bool]]:
    where = [column == value for column, value in ((Decision.party_id, q.party_id), (Decision.case_id, q.case_id),
                                                   (Decision.client_id, q.client_id)) if value is not None]
    where.append(Decision.allowed.is_(False))
    if not q.include_dry_runs:
        where.append(Decision.dry_run.is_(False))
    if q.from_ is not None:
        where.append(Decision.at >= q.from_)
    if q.to is not None:
        where.append(Decision.at < q.to)
    return where


async def keys(session: AsyncSession, q: ExportQuery, *, limit: int = MAX_ROWS) -> list[Key]:
    """The rows in scope, oldest first; :class:`ExportTooLarge` when there are more than ``limit``."""
    attempts = select(Attempt.started_at, Attempt.id).where(*_attempts_in(q)).order_by(
        Attempt.started_at, Attempt.id).limit(limit + 1)
    refusals = select(Decision.at, Decision.id).where(*_refusals_in(q)).order_by(Decision.at, Decision.id).limit(
        limit + 1)
    found = [Key(at, ATTEMPT, row_id) for at, row_id in await session.execute(attempts)]
    found += [Key(at, REFUSED, row_id) for at, row_id in await session.execute(refusals)]
    if len(found) > limit:
        raise ExportTooLarge(
            f"this export would hold more than {limit} rows (the most one export holds): narrow it with "
            "'from' and 'to', or export a party or a case", limit=limit)
    return sorted(found, key=lambda k: (k.at, k.kind, k.id))


async def rows(session: AsyncSession, found: Sequence[Key], *, evidence: Evidence, duration: Duration,
               batch: int = BATCH) -> AsyncIterator[dict[str, Any]]:
    """The rows of ``found`` (from :func:`keys`), in order, read ``batch`` keys at a time."""
    for start in range(0, len(found), batch):
        for row in await _batch(session, found[start:start + batch], evidence, duration):
            yield row


@dataclass(slots=True)
class _Parts:
    attempt: Attempt | None
    decision: Decision | None
    call: Call | None


async def _batch(session: AsyncSession, chunk: Sequence[Key], evidence: Evidence,
                 duration: Duration) -> list[dict[str, Any]]:
    attempt_ids = [k.id for k in chunk if k.kind == ATTEMPT]
    refused_ids = [k.id for k in chunk if k.kind == REFUSED]
    parts: dict[tuple[str, int], _Parts] = {}
    if attempt_ids:
        query = (select(Attempt, Decision, Call).outerjoin(Decision, Decision.id == Attempt.decision_id)
                 .outerjoin(Call, Call.id == Attempt.call_id).where(Attempt.id.in_(attempt_ids)))
        for attempt, decision, call in await session.execute(query):
            parts[(ATTEMPT, attempt.id)] = _Parts(attempt, decision, call)
    if refused_ids:
        for decision in (await session.execute(select(Decision).where(Decision.id.in_(refused_ids)))).scalars():
            parts[(REFUSED, decision.id)] = _Parts(None, decision, None)
    ordered = [parts[(k.kind, k.id)] for k in chunk if (k.kind, k.id) in parts]
    decisions = [p.decision for p in ordered if p.decision is not None]
    names = await _names(session, ordered)
    recordings = await _recordings(session, [p.call.id for p in ordered if p.call is not None])
    rebuilt = await evidence(session, decisions)
    return [_row(p, names, recordings, rebuilt, duration) for p in ordered]


@dataclass(slots=True)
class _Names:
    clients: dict[int, str]
    cases: dict[int, str]
    parties: dict[int, tuple[PartyRole, Relation]]
    numbers: dict[int, str]
    agents: dict[int, str]
    seats: dict[int, str]


def _ids(ordered: Sequence[_Parts], name: str) -> set[int]:
    found = set()
    for p in ordered:
        for part in (p.attempt, p.decision, p.call):
            value = getattr(part, name, None) if part is not None else None
            if value is not None:
                found.add(value)
    return found


async def _names(session: AsyncSession, ordered: Sequence[_Parts]) -> _Names:
    """What the batch's ids refer to, one statement per kind (no party names: a party is its role
    and relation, as in the call history)."""
    async def pairs(query: Any) -> dict[int, Any]:
        return {row[0]: row[1] if len(row) == 2 else tuple(row[1:]) for row in await session.execute(query)}

    return _Names(
        clients=await pairs(select(Client.id, Client.code).where(Client.id.in_(_ids(ordered, "client_id")))),
        cases=await pairs(select(Case.id, Case.account_ref).where(Case.id.in_(_ids(ordered, "case_id")))),
        parties=await pairs(select(Party.id, Party.role, Party.relation).where(Party.id.in_(_ids(ordered, "party_id")))),
        numbers=await pairs(select(PhoneNumber.id, PhoneNumber.e164).where(
            PhoneNumber.id.in_(_ids(ordered, "number_id")))),
        agents=await pairs(select(User.id, User.display_name).where(User.id.in_(_ids(ordered, "agent_id")))),
        seats=await pairs(select(Seat.id, Seat.code).where(Seat.id.in_(_ids(ordered, "seat_id")))),
    )


async def _recordings(session: AsyncSession, call_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    if not call_ids:
        return out
    query = select(Recording.call_id, Recording.id, Recording.status, Recording.sha256, Recording.partial).where(
        Recording.call_id.in_(call_ids)).order_by(Recording.id)
    for call_id, recording_id, status, sha256, partial in await session.execute(query):
        out.setdefault(call_id, []).append({"id": recording_id, "status": status.value, "sha256": sha256,
                                            "partial": partial})
    return out


def _first(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def _row(p: _Parts, names: _Names, recordings: Mapping[int, list[dict[str, Any]]],
         rebuilt: Mapping[int, Mapping[str, Any]], duration: Duration) -> dict[str, Any]:
    a, d, c = p.attempt, p.decision, p.call

    def field(name: str) -> Any:
        return _first(*(getattr(part, name) for part in (a, d, c) if part is not None))

    party_id, agent_id, seat_id = field("party_id"), _first(d and d.agent_id, c and c.agent_id), \
        _first(d and d.seat_id, c and c.seat_id)
    role, relation = names.parties.get(party_id, (None, None))
    evidence = rebuilt.get(d.id, {}) if d is not None else {}
    return {
        "row_type": ATTEMPT if a is not None else REFUSED,
        "attempt_id": a and a.id, "attempt_source": a and a.source.value, "attempt_direction": a and a.direction,
        "attempt_started_at": a and a.started_at, "attempt_outcome": a and a.outcome,
        "conversation": a and a.conversation,
        "decision_id": d and d.id, "decided_at": d and d.at, "channel": d and d.channel.value,
        "allowed": d and d.allowed, "dry_run": d and d.dry_run, "policy_version": d and d.policy_version,
        "rule_results": d.rule_results if d is not None else None,
        "violations": d.violations if d is not None else None, "next_allowed_at": d and d.next_allowed_at,
        "client_id": field("client_id"), "client_code": names.clients.get(field("client_id")),
        "case_id": field("case_id"), "account_ref": names.cases.get(field("case_id")),
        "party_id": party_id, "party_role": role and role.value, "party_relation": relation and relation.value,
        "number_id": field("number_id"), "number": names.numbers.get(field("number_id")),
        "zone_sources": evidence.get("zone_sources"), "zones": evidence.get("zones"),
        "counts": evidence.get("counts"), "evidence_basis": evidence.get("basis"),
        "agent_id": agent_id, "agent": names.agents.get(agent_id), "seat_id": seat_id, "seat": names.seats.get(seat_id),
        "call_id": c and c.id, "call_state": c and c.state.value, "call_outcome": c and c.outcome and c.outcome.value,
        "call_duration_s": duration(c) if c is not None else None, "call_talk_s": c and c.talk_s,
        "recordings": recordings.get(c.id, []) if c is not None else [],
    }
