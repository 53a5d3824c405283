"""A case's parties read at once (``repository.load_case``, the work queue's read) and a dial
reserved on that read (``service.reserve_on``): the same snapshots as one party's read, and the
ledger entry, call and attempt written together and linked."""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from dialer.agents.models import AgentSession
from dialer.calls.models import Call, CallState, Direction
from dialer.cases.models import PartyRole, Relation
from dialer.compliance import repository, service
from dialer.compliance.decide import decide_number
from dialer.compliance.models import Attempt, AttemptSource, Decision
from dialer.kit.errors import PolicyBlocked
from tests.factories import make_case, make_client, make_party, make_seat, make_user

SH = ZoneInfo("Asia/Shanghai")
NOON = dt.datetime(2026, 11, 24, 12, 0, tzinfo=SH)


async def _case_with_parties(session):
    client = await make_client(session)
    case = await make_case(session, client=client, debtor_numbers=("+8613800138001", "+8613800138002"))
    friend = await make_party(session, case=case, role=PartyRole.THIRD_PARTY, relation=Relation.FRIEND,
                              numbers=("+8613900139001",))
    agent, seat = await make_user(session), await make_seat(session)
    session.add(AgentSession(agent_id=agent.id, seat_id=seat.id))
    await session.commit()
    return client, case, friend, agent, seat


async def test_given_a_case_then_every_party_is_read_debtor_first_as_its_own_read_sees_it(session):
    _, case, friend, agent, seat = await _case_with_parties(session)
    context = {"agent_id": agent.id, "seat_id": seat.id, "mode": "progressive"}
    session.add(Attempt(client_id=case.client_id, case_id=case.id, party_id=friend.id, started_at=NOON,
                        outcome="no_answer", source=AttemptSource.IMPORT))
    await session.commit()

    parties = await repository.load_case(session, case_id=case.id, at=NOON, **context)

    assert [s.party.role for s, _ in parties] == ["debtor", "third_party"]
    for snapshot, subject in parties:
        alone, alone_subject = await repository.load_snapshot(session, at=NOON, party_id=subject.party_id, **context)
        assert snapshot == alone and subject == alone_subject
    assert len(parties[1][0].attempts) == 1 and parties[0][0].attempts == ()


async def test_given_a_case_without_parties_then_nothing_is_read(session):
    case = await make_case(session, debtor_numbers=())
    await session.commit()
    from dialer.cases.models import Party

    for party in (await session.execute(select(Party).where(Party.case_id == case.id))).scalars():
        await session.delete(party)
    await session.commit()

    assert await repository.load_case(session, case_id=case.id, at=NOON) == []


async def test_given_a_locked_read_then_the_dial_is_reserved_on_it_with_its_call_linked(session):
    client, case, _, agent, seat = await _case_with_parties(session)
    [(snapshot, subject), _] = await repository.load_case(session, case_id=case.id, at=NOON, lock=True,
                                                          agent_id=agent.id, seat_id=seat.id, mode="progressive")
    number = snapshot.numbers[1]
    call = {"direction": Direction.OUTBOUND, "carrier": "fake", "state": CallState.REQUESTED, "agent_id": agent.id,
            "seat_id": seat.id, "from_e164": "+862161230000", "requested_at": NOON}

    checked = await service.reserve_on(session, snapshot=snapshot, subject=subject, number_id=number.id, at=NOON,
                                       decision=decide_number(snapshot, number, NOON), call=call)
    await session.commit()

    entry = await session.get(Decision, checked.entry.id)
    written = await session.get(Call, checked.call["id"])
    attempt = (await session.execute(select(Attempt).where(Attempt.decision_id == entry.id))).scalar_one()
    assert (entry.agent_id, entry.seat_id, entry.number_id, entry.allowed) == (agent.id, seat.id, number.id, True)
    assert (written.decision_id, written.to_e164, written.case_id, written.party_id) == (
        entry.id, number.e164, case.id, subject.party_id)
    assert (attempt.call_id, attempt.id, attempt.started_at) == (written.id, checked.attempt.id, NOON)
    assert checked.call["client_id"] == client.id and checked.attempt.call_id == written.id


async def test_given_a_refusal_on_the_read_then_it_is_recorded_and_no_call_is_written(session):
    _, case, _, agent, seat = await _case_with_parties(session)
    [(snapshot, subject), _] = await repository.load_case(session, case_id=case.id, at=NOON, lock=True,
                                                          agent_id=agent.id, seat_id=seat.id, mode="predictive")

    with pytest.raises(PolicyBlocked):
        await service.reserve_on(session, snapshot=snapshot, subject=subject, number_id=snapshot.numbers[0].id,
                                 at=NOON, call={"direction": Direction.OUTBOUND, "carrier": "fake"})
    await session.commit()

    [entry] = (await session.execute(select(Decision).where(Decision.case_id == case.id))).scalars().all()
    assert not entry.allowed
    assert (await session.execute(select(Call))).scalars().all() == []


async def test_given_a_decision_for_another_number_or_instant_then_refused(session):
    _, case, _, agent, seat = await _case_with_parties(session)
    [(snapshot, subject), _] = await repository.load_case(session, case_id=case.id, at=NOON, lock=True,
                                                          agent_id=agent.id, seat_id=seat.id, mode="progressive")
    first, second = snapshot.numbers
    decision = decide_number(snapshot, first, NOON)

    for number_id, at in ((second.id, NOON), (first.id, NOON + dt.timedelta(seconds=1))):
        with pytest.raises(ValueError):
            await service.reserve_on(session, snapshot=snapshot, subject=subject, number_id=number_id, at=at,
                                     decision=dataclasses.replace(decision))
