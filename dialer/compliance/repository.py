"""Build the rules' snapshot from the database: one party, bounded look-back, indexed queries."""

from __future__ import annotations

import datetime as dt
import functools
import weakref
from dataclasses import dataclass

from sqlalchemy import Engine, Row, Select, and_, bindparam, case, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.agents import wrap_up
from dialer.agents.models import AgentSession
from dialer.calendars.store import calendars_of
from dialer.cases.models import Case, Contactability, Party, PartyRole, PhoneNumber
from dialer.clients.models import Client, PolicyVersion
from dialer.compliance.models import Attempt, Consent, ConsentKind, StopContact
from dialer.compliance.rules import CONSENT_FRESH, lookback
from dialer.compliance.snapshot import (
    AgentFact,
    AttemptFact,
    CallbackFact,
    DebtorReach,
    NumberFact,
    PartyFact,
    Snapshot,
    StopFact,
)
from dialer.kit.calendars import DayCalendar
from dialer.kit.db import table_of
from dialer.kit.errors import NotFound
from dialer.kit.phones import parse_phone
from dialer.kit.sql import constant as _constant, integer
from dialer.policy.document import PolicyDocument
from dialer.seats.models import Seat


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
    bind = session.bind
    if bind is None:
        raise RuntimeError("the session is bound to no engine")
    engine = bind.sync_engine
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


def _number(number_id: int, e164: str, valid: bool, time_zone: str | None) -> NumberFact:
    """The number's facts; the zones its prefix suggests are only worked out (a phonenumbers
    parse) when it has no zone of its own, the only case :meth:`NumberFact.zones` reads them."""
    return NumberFact(id=number_id, e164=e164, valid=valid, time_zone=time_zone,
                      prefix_zones=() if time_zone else _prefix_zones(e164))


async def policy_for(session: AsyncSession, client: Client) -> PolicyDocument:
    """The client's current policy document (cached per database by version)."""
    return await _policies(session).get(session, client.id, client.policy_version)


# --- a snapshot's reads: prebuilt Core statements, two round trips ----------------------------
#
# A check or a reservation (and the work queue, through load_case: every party of a case at
# once) reads everything it needs in two statements, built once per process (so SQLAlchemy only
# looks its compiled form up) and run on the session's connection without the ORM (no identity
# map, rows become the snapshot's facts directly). Third parties under some policies need a
# little more (_snapshot).
#
# 1. ``_subject``: the party (locked FOR UPDATE on PostgreSQL when reserving), its case and
#    client, its numbers, the active stop-contact entries matching it or one of its numbers,
#    and the dialling agent's facts (uncorrelated subqueries, evaluated once). One row per
#    number, times the matching stop entries; a party has a handful of numbers and usually no
#    stop entry. By case: the same for each of its parties, debtor first.
# 2. ``_ATTEMPTS`` (by case ``_CASE_ATTEMPTS``): the attempts in the look-back. This one must
#    be a statement of its own, run after the lock is held: on PostgreSQL (READ COMMITTED) each
#    statement sees what was committed when it started, so only a statement begun after the lock
#    was granted sees the attempt the previous holder reserved.

_P, _C, _CL = table_of(Party), table_of(Case), table_of(Client)
_N, _S, _A = table_of(PhoneNumber), table_of(StopContact), table_of(Attempt)


def _agent_columns() -> list:
    """The seat, the agent's session at it and their last placed call's notes, as scalar
    subqueries on the ``agent_id`` and ``seat_id`` parameters (NULL: no agent). A call is placed
    once its party's leg is (``carrier_call_id``): one that never rang the party (the seat did not
    answer, the carrier refused a leg) needs no note: the rule is the agents' (``dialer.agents.wrap_up``)."""
    agent_id, seat_id = bindparam("agent_id", type_=_C.c.id.type), bindparam("seat_id", type_=_C.c.id.type)
    last_call = wrap_up.last_placed_call(agent_id)
    return [
        select(Seat.active).where(Seat.id == seat_id).scalar_subquery().label("seat_active"),
        exists().where(AgentSession.agent_id == agent_id, AgentSession.seat_id == seat_id,
                       AgentSession.ended_at.is_(None)).label("at_seat"),
        last_call.label("last_call"),
        wrap_up.noted(last_call).label("noted"),
    ]


_STOP_COLUMNS = ("id", "source", "reason", "party_id", "e164", "id_number")
_STOP_MATCHES = ("party_id", "e164", "id_number")  # a stop entry names the party, a number or an id number
_STOP_LABELS = tuple(tuple(f"stop_by_{match}_{column}" for column in _STOP_COLUMNS) for match in _STOP_MATCHES)


@functools.cache
def _subject(*, by: str, lock: bool) -> Select:
    """The subject statement of one party (``by`` "party": its id; "number": one of its numbers'
    id) or of every party of a case (``by`` "case", debtor first, then by id)."""
    number = _N.alias("n")
    stops = {match: _S.alias(f"stop_by_{match}") for match in _STOP_MATCHES}
    query = (
        select(
            _P.c.id, _P.c.case_id, _P.c.role, _P.c.relation, _P.c.name, _P.c.time_zone, _P.c.id_number,
            _P.c.debt_related, _C.c.client_id, _C.c.contactability, _CL.c.policy_version,
            number.c.id.label("n_id"), number.c.e164.label("n_e164"), number.c.valid.label("n_valid"),
            number.c.time_zone.label("n_time_zone"),
            *(stop.c[column].label(f"{stop.name}_{column}") for stop in stops.values() for column in _STOP_COLUMNS),
            *_agent_columns(),
        )
        .select_from(_P)
        .join(_C, _C.c.id == _P.c.case_id)
        .join(_CL, _CL.c.id == _C.c.client_id)
        .outerjoin(number, number.c.party_id == _P.c.id)
        .order_by(number.c.position, number.c.id)
    )
    # One plain equality join per way a stop entry can match, each an index lookup (PostgreSQL
    # turns an OR of the three into a scan of the client's whole list). Rows multiply only when
    # several entries match. An empty id_number matches nothing.
    targets = {"party_id": _P.c.id, "e164": number.c.e164, "id_number": func.nullif(_P.c.id_number, _constant(""))}
    for match, target in targets.items():
        stop = stops[match]
        query = query.outerjoin(
            stop, and_(stop.c.client_id == _C.c.client_id, stop.c[match] == target, stop.c.lifted_at.is_(None))
        )
    if by == "number":
        dialled = _N.alias("dialled")
        query = query.join(dialled, and_(dialled.c.party_id == _P.c.id, dialled.c.id == bindparam("number_id")))
    elif by == "party":
        query = query.where(_P.c.id == bindparam("party_id"))
    else:
        debtor_first = case((_P.c.role == _constant(PartyRole.DEBTOR.value), integer(0)), else_=integer(1))
        query = query.where(_P.c.case_id == bindparam("case_id")).order_by(None).order_by(
            debtor_first, _P.c.id, number.c.position, number.c.id)
    return query.with_for_update(of=_P) if lock else query


_ATTEMPTS = (
    select(_A.c.started_at, _A.c.number_id, _A.c.outcome, _A.c.conversation, _A.c.direction)
    .where(_A.c.party_id == bindparam("party_id"), _A.c.started_at.between(bindparam("since"), bindparam("until")))
)
# Every party of a case at once (the work queue evaluates a case's parties together): the same
# index range per party, through the case's parties.
_CASE_ATTEMPTS = (
    select(_A.c.party_id, _A.c.started_at, _A.c.number_id, _A.c.outcome, _A.c.conversation, _A.c.direction)
    .where(_A.c.party_id.in_(select(_P.c.id).where(_P.c.case_id == bindparam("case_id"))),
           _A.c.started_at.between(bindparam("since"), bindparam("until")))
)
# The look-back has no upper end; a bound range (two parameters) lets PostgreSQL estimate the
# generic plan of the prepared statement as cheap as a custom one, so it stops re-planning it.
_END_OF_TIME = dt.datetime(9999, 12, 31, tzinfo=dt.timezone.utc)


def _attempts_since(party_id: int, since: dt.datetime) -> dict:
    return {"party_id": party_id, "since": since, "until": _END_OF_TIME}


@dataclass(frozen=True, slots=True)
class Subject:
    """What a ledger entry and an attempt are filed under, besides the snapshot."""

    client_id: int
    case_id: int
    party_id: int


async def load_snapshot(
    session: AsyncSession, *, at: dt.datetime, party_id: int | None = None, number_id: int | None = None,
    lock: bool = False, channel: str = "call", agent_id: int | None = None, seat_id: int | None = None,
    mode: str | None = None,
) -> tuple[Snapshot, Subject]:
    """The snapshot of one party (by id, or by one of its numbers) for a decision at ``at``.

    ``lock`` serialises reservations for the party: a row lock on PostgreSQL, taken by the first
    statement (SQLite has none to take; its writers are serialised by ``BEGIN IMMEDIATE``)."""
    by_number = number_id is not None
    rows = await _subject_rows(session, by="number" if by_number else "party",
                               key=number_id if by_number else party_id, lock=lock, agent_id=agent_id, seat_id=seat_id)
    if not rows:
        raise NotFound(f"phone number {number_id} not found" if by_number else f"party {party_id} not found")
    first = rows[0]
    snapshot = await _snapshot(
        session, rows, policy=await _policies(session).get(session, first.client_id, first.policy_version),
        policy_version=first.policy_version, party=_party_fact(first),
        lost_contact=first.contactability is Contactability.LOST,
        at=at, channel=channel, agent_id=agent_id, seat_id=seat_id, mode=mode,
    )
    return snapshot, _subject_of(first)


# HOT PATH (bench/dialer.py, bench/policy.py): the policy's one read of a case or party; benchmark a change.
async def load_case(
    session: AsyncSession, *, case_id: int, at: dt.datetime, lock: bool = False, channel: str = "call",
    agent_id: int | None = None, seat_id: int | None = None, mode: str | None = None,
) -> list[tuple[Snapshot, Subject]]:
    """The snapshots of every party of a case, the debtor first (then by id): what the work queue
    asks the policy about when it hands the case out. The same two statements as one party's —
    the subject rows of the whole case, then the attempts of all its parties — however many
    parties the case has. ``lock`` locks every party's row first (the engine reserves an attempt
    on one of these snapshots in the same transaction, see ``compliance.service.reserve_on``).
    Empty when the case has no party."""
    rows = await _subject_rows(session, by="case", key=case_id, lock=lock, agent_id=agent_id, seat_id=seat_id)
    if not rows:
        return []
    first = rows[0]
    policy = await _policies(session).get(session, first.client_id, first.policy_version)
    parties: dict[int, list[Row]] = {}
    for row in rows:
        parties.setdefault(row.id, []).append(row)
    connection = await session.connection()
    attempts: dict[int, list[AttemptFact]] = {}
    since = at - lookback(policy)
    calendar = (await calendars_of(session)).get(policy.holiday_calendar)
    for party_id, *fact in await connection.execute(
            _CASE_ATTEMPTS, {"case_id": case_id, "since": since, "until": _END_OF_TIME}):
        attempts.setdefault(party_id, []).append(AttemptFact(*fact))
    return [
        (
            await _snapshot(
                session, party_rows, policy=policy, policy_version=first.policy_version,
                party=_party_fact(party_rows[0]), lost_contact=first.contactability is Contactability.LOST,
                at=at, channel=channel, agent_id=agent_id, seat_id=seat_id, mode=mode,
                attempts=tuple(attempts.get(party_id, ())), calendar=calendar,
            ),
            _subject_of(party_rows[0]),
        )
        for party_id, party_rows in parties.items()
    ]


def _party_fact(row: Row) -> PartyFact:
    return PartyFact(
        id=row.id, case_id=row.case_id, role=row.role.value, relation=row.relation.value, name=row.name,
        time_zone=row.time_zone, id_number=row.id_number, debt_related=row.debt_related,
    )


def _subject_of(row: Row) -> Subject:
    return Subject(client_id=row.client_id, case_id=row.case_id, party_id=row.id)


async def build_snapshot(
    session: AsyncSession, *, party: Party, case: Case, client: Client, at: dt.datetime, channel: str = "call",
    agent_id: int | None = None, seat_id: int | None = None, mode: str | None = None,
) -> Snapshot:
    """The snapshot of a party the caller already holds (the work queue, dispositions): the same
    two statements as a decision's, the party's own columns taken from the caller's rows."""
    rows = await _subject_rows(session, by="party", key=party.id, lock=False, agent_id=agent_id, seat_id=seat_id)
    if not rows:
        raise NotFound(f"party {party.id} not found")
    return await _snapshot(
        session, rows, policy=await policy_for(session, client), policy_version=client.policy_version,
        party=PartyFact(
            id=party.id, case_id=case.id, role=party.role.value, relation=party.relation.value, name=party.name,
            time_zone=party.time_zone, id_number=party.id_number, debt_related=party.debt_related,
        ),
        lost_contact=case.contactability is Contactability.LOST,
        at=at, channel=channel, agent_id=agent_id, seat_id=seat_id, mode=mode,
    )


async def _subject_rows(
    session: AsyncSession, *, by: str, key: int | None, lock: bool, agent_id: int | None, seat_id: int | None,
) -> list[Row]:
    connection = await session.connection()
    parameters = {f"{by}_id": key, "agent_id": agent_id, "seat_id": seat_id}
    return list((await connection.execute(_subject(by=by, lock=lock), parameters)).all())


async def _snapshot(
    session: AsyncSession, rows: list[Row], *, policy: PolicyDocument, policy_version: int, party: PartyFact,
    lost_contact: bool, at: dt.datetime, channel: str, agent_id: int | None, seat_id: int | None, mode: str | None,
    attempts: tuple[AttemptFact, ...] | None = None, calendar: DayCalendar | None = None,
) -> Snapshot:
    """The snapshot from the subject's rows, with the attempts in the policy's look-back (read now,
    after the lock when there is one, unless the caller read them so already) and what only some
    policies need of a third party."""
    numbers: dict[int, NumberFact] = {}
    stops: dict[int, StopFact] = {}
    for r in rows:
        if r.n_id is not None and r.n_id not in numbers:
            numbers[r.n_id] = _number(r.n_id, r.n_e164, r.n_valid, r.n_time_zone)
        mapping = r._mapping
        for labels in _STOP_LABELS:
            stop_id = mapping[labels[0]]  # an entry's id: most rows match none
            if stop_id is not None and stop_id not in stops:
                stop = [mapping[label] for label in labels]
                stops[stop_id] = StopFact(stop_id, stop[1].value, *stop[2:])
    agent = None
    if agent_id is not None:
        first = rows[0]
        agent = AgentFact(
            agent_id=agent_id, seat_id=seat_id, seat_registered=bool(first.seat_active),
            session_at_seat=bool(first.at_seat),
            open_wrap_up_call_id=first.last_call if first.last_call is not None and not first.noted else None,
        )
    if attempts is None:
        connection = await session.connection()
        read = await connection.execute(_ATTEMPTS, _attempts_since(party.id, at - lookback(policy)))
        attempts = tuple(AttemptFact(*a) for a in read)
    third_party = party.role == PartyRole.THIRD_PARTY.value
    if calendar is None:  # the process's calendars (in memory: no query but a rare freshness check)
        calendar = (await calendars_of(session)).get(policy.holiday_calendar)
    return Snapshot(
        policy=policy, policy_version=policy_version, party=party, numbers=tuple(numbers.values()),
        attempts=attempts, stops=tuple(sorted(stops.values(), key=lambda s: s.id)),
        channel=channel, agent=agent, mode=mode, calendar=calendar,
        third_party_conversed=(
            third_party and policy.us_style.third_party_spoken_once and await _ever_conversed(session, party.id)
        ),
        debtor=(
            await _debtor_reach(session, party.case_id, lost_contact,
                                policy.third_party.only_after_debtor_unreachable.failed_attempts_in_a_row)
            if third_party and policy.third_party.only_after_debtor_unreachable
            else DebtorReach()
        ),
        callbacks=(
            await _callbacks(session, party.id, at)
            if policy.us_style.attempts_in_7_days_cap is not None
            or policy.us_style.pause_after_conversation_days is not None
            else ()
        ),
    )


CALLBACK_DEFAULT = dt.timedelta(hours=1)


async def _callbacks(session: AsyncSession, party_id: int, at: dt.datetime) -> tuple[CallbackFact, ...]:
    """Callbacks the party asked for that can still matter at ``at`` (given within the freshness
    the rules accept, not revoked): the US frequency rules let the asked-for call through."""
    rows = await session.execute(
        select(Consent.number_id, Consent.callback_at, Consent.valid_from, Consent.valid_until, Consent.created_at)
        .where(Consent.party_id == party_id, Consent.kind == ConsentKind.CALLBACK, Consent.revoked_at.is_(None),
               Consent.created_at >= at - CONSENT_FRESH - dt.timedelta(days=1))
    )
    facts = []
    for number_id, callback_at, valid_from, valid_until, created_at in rows:
        starts = valid_from or callback_at
        if starts is None:
            continue
        ends = valid_until or (callback_at or starts) + CALLBACK_DEFAULT
        facts.append(CallbackFact(starts=starts, ends=ends, number_id=number_id, given_at=created_at))
    return tuple(sorted(facts, key=lambda c: c.starts))


async def _ever_conversed(session: AsyncSession, party_id: int) -> bool:
    query = select(exists().where(Attempt.party_id == party_id, Attempt.conversation.is_(True)))
    return bool((await session.execute(query)).scalar())


async def _debtor_reach(session: AsyncSession, case_id: int, lost_contact: bool, n: int) -> DebtorReach:
    debtor_ids = (
        await session.execute(select(Party.id).where(Party.case_id == case_id, Party.role == PartyRole.DEBTOR))
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
        case_lost_contact=lost_contact,
    )
