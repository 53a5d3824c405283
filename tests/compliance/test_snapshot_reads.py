"""The decision's own reads and writes (prebuilt statements, one insert for entry + attempt on
PostgreSQL) against a real database: they must see exactly what the ORM path sees."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select

from dialer.agents.models import AgentSession
from dialer.calls.models import Call, CallState, Direction
from dialer.cases.models import Case, Party, PartyRole, PhoneNumber, Relation
from dialer.clients.models import Client
from dialer.compliance import repository, service
from dialer.compliance.models import Attempt, AttemptSource, Decision, StopContact, StopSource
from tests.factories import make_case, make_client, make_party, make_seat, make_user

SH = ZoneInfo("Asia/Shanghai")
NOON = dt.datetime(2026, 11, 24, 12, 0, tzinfo=SH)


async def _party_with_numbers(session, *, id_number: str | None = None):
    client = await make_client(session)
    case = await make_case(session, client=client)
    party = await make_party(session, case=case, role=PartyRole.THIRD_PARTY, relation=Relation.FRIEND,
                             numbers=("+8613900139001", "+8613900139002", "+8613900139003"))
    party.id_number = id_number
    numbers = (
        await session.execute(select(PhoneNumber).where(PhoneNumber.party_id == party.id).order_by(PhoneNumber.id))
    ).scalars().all()
    await session.flush()
    return client, case, party, numbers


def _stop(client, **target) -> StopContact:
    return StopContact(client_id=client.id, source=StopSource.CLIENT_LIST, reason="停催", **target)


async def _both_snapshots(session, party, *, at=NOON, **context):
    """The snapshot of a decision (by party id) and of a caller holding the rows (work queue)."""
    fast, subject = await repository.load_snapshot(session, at=at, party_id=party.id, **context)
    orm_party = await session.get(Party, party.id)
    case = await session.get(Case, orm_party.case_id)
    client = await session.get(Client, case.client_id)
    slow = await repository.build_snapshot(session, party=orm_party, case=case, client=client, at=at, **context)
    return fast, slow, subject


async def _matching_stop_ids(session, client, party) -> list[int]:
    """What the stop-contact rule must see, read the plain way: the client's active entries naming
    the party, one of its numbers or its (non-empty) id number."""
    e164s = select(PhoneNumber.e164).where(PhoneNumber.party_id == party.id)
    matches = [StopContact.party_id == party.id, StopContact.e164.in_(e164s)]
    if party.id_number:
        matches.append(StopContact.id_number == party.id_number)
    query = select(StopContact.id).where(StopContact.client_id == client.id, StopContact.lifted_at.is_(None),
                                         or_(*matches)).order_by(StopContact.id)
    return list((await session.execute(query)).scalars())


async def test_given_stops_matching_by_party_number_and_id_number_then_each_loaded_once_in_id_order(session):
    client, case, party, numbers = await _party_with_numbers(session, id_number="110101199003074514")
    other = await make_client(session)
    session.add_all([
        _stop(client, e164=numbers[2].e164),
        _stop(client, party_id=party.id),
        _stop(client, e164=numbers[0].e164),
        _stop(client, e164=numbers[0].e164),  # two entries on one number
        _stop(client, id_number="110101199003074514"),
        _stop(client, e164="+8613900139999"),  # someone else's number
        _stop(other, party_id=party.id),  # another client's list
        _stop(client, party_id=party.id, lifted_at=NOON - dt.timedelta(days=1)),  # lifted
    ])
    await session.commit()

    fast, slow, subject = await _both_snapshots(session, party)

    assert [s.id for s in fast.stops] == await _matching_stop_ids(session, client, party)
    assert len(fast.stops) == 5
    assert fast == slow
    assert [n.id for n in fast.numbers] == [n.id for n in numbers]
    assert (subject.client_id, subject.case_id, subject.party_id) == (client.id, case.id, party.id)


async def test_given_empty_id_number_then_stop_with_empty_id_number_not_matched(session):
    client, _, party, _ = await _party_with_numbers(session, id_number="")
    session.add(_stop(client, id_number=""))
    await session.commit()

    fast, slow, _ = await _both_snapshots(session, party)

    assert fast.stops == () == slow.stops
    assert await _matching_stop_ids(session, client, party) == []


async def test_given_agent_with_unnoted_call_and_history_then_both_read_paths_agree(session):
    client, case, party, numbers = await _party_with_numbers(session)
    agent, seat = await make_user(session), await make_seat(session)
    session.add(AgentSession(agent_id=agent.id, seat_id=seat.id))
    call = Call(direction=Direction.OUTBOUND, carrier="twilio", carrier_call_id="CA-reads-1",
                state=CallState.COMPLETED, client_id=client.id,
                case_id=case.id, party_id=party.id, number_id=numbers[0].id, agent_id=agent.id,
                requested_at=NOON - dt.timedelta(hours=1))
    session.add(call)
    for hours, number in ((-60, numbers[0]), (-3, numbers[1]), (2, numbers[0])):  # before the look-back; after the instant
        session.add(Attempt(client_id=client.id, case_id=case.id, party_id=party.id, number_id=number.id,
                            started_at=NOON + dt.timedelta(hours=hours), outcome="no_answer",
                            source=AttemptSource.IMPORT))
    await session.commit()

    fast, slow, _ = await _both_snapshots(session, party, agent_id=agent.id, seat_id=seat.id, mode="preview")

    assert fast == slow
    assert fast.agent.seat_registered and fast.agent.session_at_seat
    assert fast.agent.open_wrap_up_call_id == call.id
    assert sorted(a.started_at for a in fast.attempts) == [NOON - dt.timedelta(hours=3), NOON + dt.timedelta(hours=2)]


async def test_given_reservation_then_entry_and_attempt_rows_match_and_attempt_can_be_linked_to_its_call(session):
    client, case, party, numbers = await _party_with_numbers(session)
    agent, seat = await make_user(session), await make_seat(session)
    session.add(AgentSession(agent_id=agent.id, seat_id=seat.id))
    await session.commit()

    checked = await service.reserve(session, number_id=numbers[1].id, at=NOON, agent_id=agent.id, seat_id=seat.id,
                                    mode="preview")
    call = Call(direction=Direction.OUTBOUND, carrier="twilio", state=CallState.REQUESTED, client_id=client.id,
                case_id=case.id, party_id=party.id, number_id=numbers[1].id, agent_id=agent.id, requested_at=NOON)
    session.add(call)
    await session.flush()
    checked.attempt.call_id = call.id  # what the dialer does after reserving
    await session.commit()
    session.expunge_all()

    entry = await session.get(Decision, checked.entry.id)
    attempt = await session.get(Attempt, checked.attempt.id)
    assert (entry.client_id, entry.case_id, entry.party_id, entry.number_id, entry.agent_id, entry.seat_id) == (
        client.id, case.id, party.id, numbers[1].id, agent.id, seat.id)
    assert entry.allowed and not entry.dry_run and entry.at == NOON and entry.policy_version == 1
    assert entry.rule_results == checked.decision.rule_results and entry.violations == []
    assert (attempt.client_id, attempt.case_id, attempt.party_id, attempt.number_id) == (
        client.id, case.id, party.id, numbers[1].id)
    assert attempt.decision_id == entry.id and attempt.started_at == NOON and attempt.call_id == call.id
    assert attempt.outcome is None and not attempt.conversation
    assert attempt.direction == "outbound" and attempt.source is AttemptSource.DIALER


async def test_given_attempt_later_the_same_day_then_it_counts_toward_the_daily_cap(session):
    client, case, party, numbers = await _party_with_numbers(session)
    for minutes in range(6):  # the third-party daily cap, all after the instant asked about
        session.add(Attempt(client_id=client.id, case_id=case.id, party_id=party.id, number_id=numbers[0].id,
                            started_at=NOON + dt.timedelta(hours=3, minutes=minutes * 61), outcome="busy",
                            source=AttemptSource.IMPORT))
    await session.commit()

    checked = await service.check(session, at=NOON, number_id=numbers[0].id)

    assert "third_party_daily_cap" in {v.rule for v in checked.decision.violations}
