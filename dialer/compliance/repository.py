"""Build the rules' snapshot from the database: one party, bounded look-back, indexed queries."""

from __future__ import annotations

import datetime as dt
import functools
import weakref
from collections.abc import Sequence

from sqlalchemy import Engine, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.calls.models import Call, CallState
from dialer.cases.models import Case, Contactability, Party, PartyRole, PhoneNumber
from dialer.clients.models import Client, PolicyVersion
from dialer.compliance.models import Attempt, StopContact
from dialer.compliance.rules import lookback
from dialer.compliance.snapshot import (
    AgentFact, AttemptFact, DebtorReach, NumberFact, PartyFact, Snapshot, StopFact,
)
from dialer.kit.errors import NotFound
from dialer.kit.phones import parse_phone
from dialer.notes.models import WrapUpNote
from dialer.policy.document import PolicyDocument
from dialer.seats.models import AgentSession, Seat

_UNPLACED = (CallState.REQUESTED, CallState.BLOCKED)


class _PolicyCache:
    """Parsed policy documents of one database by (client, version). Versions never change, so
    entries never go stale; the document is fetched from the database only on a miss."""

    def __init__(self, size: int = 512) -> None:
        self._size = size
        self._documents: dict[tuple[int, int], PolicyDocument] = {}

    async def get(self, session: AsyncSession, client_id: int, version: int) -> PolicyDocument:
        key = (client_id, version)
        document = self._documents.get(key)
        if document is None:
            raw = (
                await session.execute(
                    select(PolicyVersion.document).where(PolicyVersion.client_id == client_id, PolicyVersion.version == version)
                )
            ).scalar_one()
            document = PolicyDocument.model_validate(raw)
            if len(self._documents) >= self._size:
                self._documents.pop(next(iter(self._documents)))
            self._documents[key] = document
        return document


_caches: weakref.WeakKeyDictionary[Engine, _PolicyCache] = weakref.WeakKeyDictionary()


def _policies(session: AsyncSession) -> _PolicyCache:
    """The cache of the database this session talks to (ids are only unique per database)."""
    engine = session.bind.sync_engine
    cache = _caches.get(engine)
    if cache is None:
        cache = _caches[engine] = _PolicyCache()
    return cache


@functools.lru_cache(maxsize=65536)
def _prefix_zones(e164: str) -> tuple[str, ...]:
    try:
        return parse_phone(e164).time_zones
    except ValueError:
        return ()


async def policy_for(session: AsyncSession, client: Client) -> PolicyDocument:
    """The client's current policy document (cached per database by version)."""
    return await _policies(session).get(session, client.id, client.policy_version)


async def load_party(
    session: AsyncSession, *, party_id: int | None = None, number_id: int | None = None, lock: bool = False,
) -> tuple[Party, Case, Client]:
    """The party (by id, or by one of its numbers) with its case and client, in one query.

    ``lock`` serialises reservations for the party: a row lock on PostgreSQL (SQLite has none
    to take; its writers are serialised by ``BEGIN IMMEDIATE``)."""
    query = select(Party, Case, Client).join(Case, Case.id == Party.case_id).join(Client, Client.id == Case.client_id)
    if number_id is not None:
        query = query.join(PhoneNumber, PhoneNumber.party_id == Party.id).where(PhoneNumber.id == number_id)
    else:
        query = query.where(Party.id == party_id)
    if lock:
        query = query.with_for_update(of=Party)
    row = (await session.execute(query)).first()
    if row is None:
        raise NotFound(f"phone number {number_id} not found" if number_id is not None else f"party {party_id} not found")
    return row.Party, row.Case, row.Client


async def build_snapshot(
    session: AsyncSession, *, party: Party, case: Case, client: Client, at: dt.datetime, channel: str = "call",
    agent_id: int | None = None, seat_id: int | None = None, mode: str | None = None,
) -> Snapshot:
    policy = await _policies(session).get(session, client.id, client.policy_version)
    numbers = (
        await session.execute(
            select(PhoneNumber).where(PhoneNumber.party_id == party.id).order_by(PhoneNumber.position, PhoneNumber.id)
        )
    ).scalars().all()
    attempts = await _attempts(session, [party.id], since=at - lookback(policy))
    return Snapshot(
        policy=policy,
        policy_version=client.policy_version,
        party=PartyFact(
            id=party.id, case_id=case.id, role=party.role.value, relation=party.relation.value, name=party.name,
            time_zone=party.time_zone, id_number=party.id_number, debt_related=party.debt_related,
        ),
        numbers=tuple(
            NumberFact(id=n.id, e164=n.e164, valid=n.valid, time_zone=n.time_zone, prefix_zones=_prefix_zones(n.e164))
            for n in numbers
        ),
        attempts=tuple(attempts),
        stops=tuple(await _stops(session, client.id, party, [n.e164 for n in numbers])),
        channel=channel,
        agent=await _agent(session, agent_id, seat_id) if agent_id is not None else None,
        mode=mode,
        third_party_conversed=(
            party.role is PartyRole.THIRD_PARTY and policy.us_style.third_party_spoken_once
            and await _ever_conversed(session, party.id)
        ),
        debtor=(
            await _debtor_reach(session, case, policy.third_party.only_after_debtor_unreachable.failed_attempts_in_a_row)
            if party.role is PartyRole.THIRD_PARTY and policy.third_party.only_after_debtor_unreachable
            else DebtorReach()
        ),
    )


async def _attempts(session: AsyncSession, party_ids: Sequence[int], *, since: dt.datetime) -> list[AttemptFact]:
    rows = await session.execute(
        select(Attempt.started_at, Attempt.number_id, Attempt.outcome, Attempt.conversation, Attempt.direction)
        .where(Attempt.party_id.in_(party_ids), Attempt.started_at >= since)
    )
    return [AttemptFact(r.started_at, r.number_id, r.outcome, r.conversation, r.direction) for r in rows]


async def _stops(session: AsyncSession, client_id: int, party: Party, e164s: list[str]) -> list[StopFact]:
    matches = [StopContact.party_id == party.id]
    if e164s:
        matches.append(StopContact.e164.in_(e164s))
    if party.id_number:
        matches.append(StopContact.id_number == party.id_number)
    rows = (
        await session.execute(
            select(StopContact).where(
                StopContact.client_id == client_id, StopContact.lifted_at.is_(None), or_(*matches)
            ).order_by(StopContact.id)
        )
    ).scalars()
    return [
        StopFact(id=s.id, source=s.source.value, reason=s.reason, party_id=s.party_id, e164=s.e164, id_number=s.id_number)
        for s in rows
    ]


async def _agent(session: AsyncSession, agent_id: int, seat_id: int | None) -> AgentFact:
    """The seat, the agent's session at it and their last placed call's notes, in one statement."""
    last_call = (
        select(Call.id).where(Call.agent_id == agent_id, Call.state.not_in(_UNPLACED))
        .order_by(Call.requested_at.desc(), Call.id.desc()).limit(1).scalar_subquery()
    )
    row = (
        await session.execute(
            select(
                select(Seat.active).where(Seat.id == seat_id).scalar_subquery(),
                exists().where(AgentSession.agent_id == agent_id, AgentSession.seat_id == seat_id,
                               AgentSession.ended_at.is_(None)),
                last_call,
                exists().where(WrapUpNote.call_id == last_call),
            )
        )
    ).one()
    seat_active, at_seat, last, noted = row
    return AgentFact(
        agent_id=agent_id, seat_id=seat_id, seat_registered=bool(seat_active), session_at_seat=bool(at_seat),
        open_wrap_up_call_id=last if last is not None and not noted else None,
    )


async def _ever_conversed(session: AsyncSession, party_id: int) -> bool:
    query = select(exists().where(Attempt.party_id == party_id, Attempt.conversation.is_(True)))
    return bool((await session.execute(query)).scalar())


async def _debtor_reach(session: AsyncSession, case: Case, n: int) -> DebtorReach:
    debtor_ids = (
        await session.execute(select(Party.id).where(Party.case_id == case.id, Party.role == PartyRole.DEBTOR))
    ).scalars().all()
    recent = (
        await session.execute(
            select(Attempt.started_at, Attempt.number_id, Attempt.outcome, Attempt.conversation, Attempt.direction)
            .where(Attempt.party_id.in_(debtor_ids), Attempt.direction == "outbound")
            .order_by(Attempt.started_at.desc()).limit(n)
        )
    ).all()
    valid = (
        await session.execute(
            select(exists().where(PhoneNumber.party_id.in_(debtor_ids), PhoneNumber.valid.is_(True)))
        )
    ).scalar()
    return DebtorReach(
        recent_outbound=tuple(AttemptFact(r.started_at, r.number_id, r.outcome, r.conversation, r.direction) for r in recent),
        has_valid_number=bool(valid),
        case_lost_contact=case.contactability is Contactability.LOST,
    )
