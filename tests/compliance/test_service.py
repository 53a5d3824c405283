"""Check and reservation against a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError

from dialer.agents.models import AgentSession
from dialer.auth.deps import Principal
from dialer.auth.models import Role
from dialer.cases.models import Party, PartyRole, PhoneNumber, Relation
from dialer.clients.schemas import PolicyChange
from dialer.clients.service import change_policy
from dialer.compliance import service
from dialer.compliance.models import Attempt, Decision, StopContact, StopSource
from dialer.kit.db import session_factory
from dialer.kit.errors import PolicyBlocked
from dialer.live.models import LiveEvent
from tests.factories import make_case, make_client, make_party, make_seat, make_user

SH = ZoneInfo("Asia/Shanghai")
NOON = dt.datetime(2026, 11, 24, 12, 0, tzinfo=SH)


async def _third_party(session, **client_kw):
    client = await make_client(session, **client_kw)
    case = await make_case(session, client=client)
    party = await make_party(session, case=case, role=PartyRole.THIRD_PARTY, relation=Relation.SPOUSE,
                             name="李四", numbers=("+8613900139000",))
    number = (await session.execute(select(PhoneNumber).where(PhoneNumber.party_id == party.id))).scalar_one()
    return client, case, party, number


async def _agent_at_seat(session):
    agent = await make_user(session)
    seat = await make_seat(session)
    session.add(AgentSession(agent_id=agent.id, seat_id=seat.id))
    await session.flush()
    return agent, seat


async def test_given_dry_run_then_decision_recorded_and_nothing_reserved(session):
    _, _, party, number = await _third_party(session)
    await session.commit()

    checked = await service.check(session, at=NOON, number_id=number.id)
    await session.commit()

    assert checked.decision.allowed
    entry = await session.get(Decision, checked.entry.id)
    assert entry.dry_run and entry.allowed and entry.policy_version == 1 and entry.at == NOON
    assert entry.rule_results["calling_window"] == "pass"
    assert (await session.execute(select(func.count()).select_from(Attempt))).scalar_one() == 0


async def test_given_third_party_when_reserving_then_third_within_hour_refused_and_ledger_keeps_all(engine, session):
    client, case, party, number = await _third_party(session)
    agent, seat = await _agent_at_seat(session)
    await session.commit()
    sessions = session_factory(engine)

    async def reserve(at):
        async with sessions() as s:
            try:
                checked = await service.reserve(s, number_id=number.id, at=at, agent_id=agent.id, seat_id=seat.id, mode="preview")
            except PolicyBlocked as exc:
                await s.commit()
                return exc
            await s.commit()
            return checked

    first = await reserve(NOON)
    second = await reserve(NOON + dt.timedelta(minutes=10))
    third = await reserve(NOON + dt.timedelta(minutes=20))

    assert first.attempt is not None and second.attempt is not None
    assert isinstance(third, PolicyBlocked)
    assert third.status == 409 and third.code == "policy_blocked"
    assert [v["rule"] for v in third.extra["violations"]] == ["third_party_hourly_cap"]
    assert third.extra["next_allowed_at"] == NOON + dt.timedelta(minutes=60)
    async with sessions() as s:
        ledger = (await s.execute(select(Decision.allowed, Decision.dry_run).order_by(Decision.id))).all()
        attempts = (await s.execute(select(func.count()).select_from(Attempt))).scalar_one()
    assert ledger == [(True, False), (True, False), (False, False)]
    assert attempts == 2
    async with sessions() as s:  # the refusal, and only it, told to the live pages (the board's feed)
        told = list((await s.execute(select(LiveEvent).where(LiveEvent.topic == "refusal"))).scalars())
    assert [(e.at, e.data) for e in told] == [(NOON + dt.timedelta(minutes=20), {
        "decision_id": third.extra["decision_id"], "agent_id": agent.id, "client_id": client.id,
        "case_id": case.id, "party_id": party.id, "party_role": "third_party",
        "rules": ["third_party_hourly_cap"], "next_allowed_at": (NOON + dt.timedelta(minutes=60)).astimezone(dt.UTC).isoformat()})]


async def test_given_agent_not_at_seat_when_reserving_then_seat_only(engine, session):
    _, _, _, number = await _third_party(session)
    agent = await make_user(session)
    seat = await make_seat(session)
    await session.commit()
    async with session_factory(engine)() as s:
        with pytest.raises(PolicyBlocked) as info:
            await service.reserve(s, number_id=number.id, at=NOON, agent_id=agent.id, seat_id=seat.id, mode="preview")
    violation = info.value.extra["violations"][0]
    assert violation["rule"] == "seat_only"
    assert violation["retry_at"] is None and info.value.extra["next_allowed_at"] is None


async def test_given_predictive_mode_then_manual_only(engine, session):
    _, _, _, number = await _third_party(session)
    agent, seat = await _agent_at_seat(session)
    await session.commit()
    async with session_factory(engine)() as s:
        with pytest.raises(PolicyBlocked) as info:
            await service.reserve(s, number_id=number.id, at=NOON, agent_id=agent.id, seat_id=seat.id, mode="predictive")
    assert [v["rule"] for v in info.value.extra["violations"]] == ["manual_only"]


async def test_given_stop_by_id_number_from_client_list_then_refused_without_next_time(session):
    client = await make_client(session)
    await make_case(session, client=client)
    debtor = (await session.execute(select(PhoneNumber))).scalars().first()
    party = await session.get(Party, debtor.party_id)
    party.id_number = "110101199003074514"
    session.add(StopContact(client_id=client.id, id_number="110101199003074514", source=StopSource.CLIENT_LIST,
                            reason="委托方停催"))
    await session.commit()

    checked = await service.check(session, at=NOON, party_id=party.id)
    assert not checked.decision.allowed
    body = checked.body()
    assert body["violations"][0]["rule"] == "stop_contact"
    assert "委托方停催" in body["violations"][0]["message"]
    assert body["next_allowed_at"] is None


async def test_given_stop_for_another_client_then_not_applied(session):
    other = await make_client(session)
    _, _, party, number = await _third_party(session)
    session.add(StopContact(client_id=other.id, e164=number.e164, source=StopSource.CLIENT_LIST, reason="x"))
    await session.commit()
    assert (await service.check(session, at=NOON, number_id=number.id)).decision.allowed


async def test_given_number_marked_invalid_then_party_check_uses_next_number(session):
    client = await make_client(session)
    await make_case(session, client=client, debtor_numbers=("+8613800138000", "+8613800138001"))
    numbers = (await session.execute(select(PhoneNumber).order_by(PhoneNumber.position))).scalars().all()
    numbers[0].valid = False
    await session.commit()
    checked = await service.check(session, at=NOON, party_id=numbers[0].party_id)
    assert checked.decision.allowed and checked.decision.number_id == numbers[1].id


async def test_given_policy_changed_then_decisions_cite_new_version(session):
    client, _, party, number = await _third_party(session)
    admin = await make_user(session, role=Role.ADMIN)
    await change_policy(session, client_id=client.id, change=PolicyChange(
        overrides={"calling_window": {"weekdays": {d: [{"start": "09:00", "end": "18:00"}]
                                                   for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}},
        reason="client narrows the window"), actor=Principal(admin.id, admin.username, admin.role, None, "token"))
    await session.commit()
    checked = await service.check(session, at=NOON.replace(hour=8, minute=30), number_id=number.id)
    assert checked.snapshot.policy_version == 2
    assert [v.rule for v in checked.decision.violations] == ["calling_window"]
    assert checked.decision.next_allowed_at == NOON.replace(hour=9, minute=0)


async def test_given_ledger_entry_then_it_cannot_be_changed(session):
    _, _, _, number = await _third_party(session)
    await session.commit()
    checked = await service.check(session, at=NOON, number_id=number.id)
    await session.commit()
    with pytest.raises(DBAPIError):
        await session.execute(update(Decision).where(Decision.id == checked.entry.id).values(allowed=False))
        await session.commit()


async def test_given_two_databases_with_same_ids_then_each_uses_its_own_policy(session, tmp_path):
    """Parsed policies are cached per database: client 1 version 1 differs between databases."""
    from dialer.kit.db import create_engine
    from dialer.kit.migrations import upgrade_to_head
    from tests.conftest import MIGRATIONS

    _, _, _, number = await _third_party(session)
    await session.commit()
    late = NOON.replace(hour=21, minute=30)
    assert (await service.check(session, at=late, number_id=number.id)).decision.allowed
    await session.commit()

    other = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'other.db'}")
    try:
        await upgrade_to_head(other, MIGRATIONS)
        async with session_factory(other)() as s2:
            _, _, _, number2 = await _third_party(
                s2, overrides={"calling_window": {"weekdays": {d: [{"start": "08:00", "end": "21:00"}]
                                                               for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}})
            await s2.commit()
            assert (number2.id, number2.party_id) == (number.id, number.party_id)
            decision = (await service.check(s2, at=late, number_id=number2.id)).decision
            assert [v.rule for v in decision.violations] == ["calling_window"]
    finally:
        await other.dispose()
