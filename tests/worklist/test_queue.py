"""The work queue against a real database (SQLite and PostgreSQL): order, scope, policy skips, holds."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from dialer.worklist import repository
from dialer.auth.models import User
from dialer.calls.models import Call, CallState, Direction
from dialer.campaigns.models import Campaign, CampaignStatus
from dialer.cases import holds
from dialer.cases.holds import HOLD
from dialer.cases.models import Case, CaseStatus, Party, PartyRole, Relation
from dialer.compliance.models import StopContact, StopSource
from dialer.kit.db import session_factory
from dialer.worklist import queue
from dialer.worklist.errors import CampaignNotRunning
from dialer.worklist.models import CaseSkip
from dialer.worklist.preview import card
from dialer.worklist.queue import RECHECK, SKIP_COOLDOWN, Tier
from tests.worklist.helpers import NOW, agent_at_seat, mobile, promise_due, queued_case, stop_debtor
from tests.factories import make_client, make_party, make_user


async def _hand_out(engine, agent, *, now=NOW, campaign_id=None):
    """One hand-out in its own unit of work, as a request would do it."""
    async with session_factory(engine)() as s:
        item = await queue.next_case(s, agent_session=agent, now=now, campaign_id=campaign_id)
        await s.commit()
        return item


async def _put_aside(engine, case_id, agent_id):
    async with session_factory(engine)() as s:
        assert await holds.release(s, case_id=case_id, agent_id=agent_id, not_before=NOW + dt.timedelta(days=1))
        await s.commit()


async def test_given_mixed_cases_then_promise_today_then_follow_up_due_then_bucket_then_amount(engine, session):
    client = await make_client(session)
    agent = await agent_at_seat(session)
    small_m3 = await queued_case(session, client=client, owed="5000.00", overdue_days=120)
    big_m1 = await queued_case(session, client=client, owed="900000.00", overdue_days=10)
    big_m3 = await queued_case(session, client=client, owed="90000.00", overdue_days=95)
    follow_up = await queued_case(session, client=client, owed="100.00", overdue_days=10,
                                  next_follow_up_at=NOW - dt.timedelta(hours=1))
    later_follow_up = await queued_case(session, client=client, owed="99999.00", overdue_days=200,
                                        next_follow_up_at=NOW + dt.timedelta(hours=1))
    promised = await queued_case(session, client=client, owed="50.00", overdue_days=9)
    await promise_due(session, promised)
    promised_tomorrow = await queued_case(session, client=client, owed="60.00", overdue_days=9)
    await promise_due(session, promised_tomorrow, due=NOW.date() + dt.timedelta(days=1))
    m2 = await queued_case(session, client=client, owed="70000.00", overdue_days=45)
    await session.commit()

    order, tiers = [], []
    while (item := await _hand_out(engine, agent)) is not None:
        order.append(item.case.id)
        tiers.append(item.tier)
        await _put_aside(engine, item.case.id, agent.agent_id)

    assert order == [promised.id, follow_up.id, later_follow_up.id, big_m3.id, small_m3.id, m2.id,
                     big_m1.id, promised_tomorrow.id]
    assert tiers[:2] == [Tier.PROMISE_DUE, Tier.FOLLOW_UP_DUE] and set(tiers[2:]) == {Tier.BACKLOG}


async def test_given_cases_outside_the_agents_scope_then_never_handed_out(engine, session):
    client = await make_client(session)
    agent = await agent_at_seat(session, team="team-a")
    colleague = await make_user(session, team="team-a")
    await queued_case(session, client=client, team="team-b", owed="90000.00")  # another team
    await queued_case(session, client=client, assigned_agent=colleague, owed="80000.00")  # a colleague's own
    await queued_case(session, client=client, status=CaseStatus.PAID, owed="70000.00")  # closed
    mine = await queued_case(session, client=client, team="team-z", assigned_agent=await session.get(User, agent.agent_id),
                             owed="10.00")
    pool = await queued_case(session, client=client, owed="20.00")
    await session.commit()

    got = []
    while (item := await _hand_out(engine, agent)) is not None:
        got.append(item.case.id)
        await _put_aside(engine, item.case.id, agent.agent_id)
    assert sorted(got) == sorted([mine.id, pool.id])


async def test_given_case_whose_only_number_is_on_the_stop_list_then_skipped_and_parked_until_recheck(engine, session):
    client = await make_client(session)
    agent = await agent_at_seat(session)
    stopped = await queued_case(session, client=client, owed="90000.00", overdue_days=100)
    await stop_debtor(session, stopped)
    callable_ = await queued_case(session, client=client, owed="10.00")
    await session.commit()

    item = await _hand_out(engine, agent)

    assert item.case.id == callable_.id
    async with session_factory(engine)() as s:
        parked = await s.get(Case, stopped.id)
        assert parked.next_allowed_at == NOW + RECHECK and parked.blocked_rules == "stop_contact"
        assert parked.held_by_agent_id is None


async def test_given_case_outside_calling_hours_then_skipped_with_its_next_allowed_at_and_offered_then(engine, session):
    client = await make_client(session)
    agent = await agent_at_seat(session)
    night = await queued_case(session, client=client, owed="90000.00", overdue_days=100)
    await session.execute(update(Party).where(Party.case_id == night.id).values(time_zone="Europe/London"))
    await session.commit()
    london_eight = dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.UTC)  # 02:00 in London at NOW

    assert await _hand_out(engine, agent) is None
    async with session_factory(engine)() as s:
        parked = await s.get(Case, night.id)
        assert parked.next_allowed_at == london_eight and parked.blocked_rules == "calling_window"

    assert await _hand_out(engine, agent, now=london_eight - dt.timedelta(minutes=1)) is None
    item = await _hand_out(engine, agent, now=london_eight)
    assert item.case.id == night.id and item.best_number() is not None
    async with session_factory(engine)() as s:
        held = await s.get(Case, night.id)
        assert held.next_allowed_at is None and held.blocked_rules is None


async def test_given_third_party_blocked_then_the_item_says_so_per_number_while_the_debtor_is_allowed(engine, session):
    client = await make_client(session)
    agent = await agent_at_seat(session)
    case = await queued_case(session, client=client)
    spouse = await make_party(session, case=case, role=PartyRole.THIRD_PARTY, relation=Relation.SPOUSE,
                              numbers=(mobile(), mobile()))
    session.add(StopContact(client_id=client.id, party_id=spouse.id, source=StopSource.HOSTILE, reason="hostile"))
    await session.commit()

    item = await _hand_out(engine, agent)

    debtor_view, spouse_view = item.parties
    assert debtor_view.party.role is PartyRole.DEBTOR and debtor_view.allowed
    assert debtor_view.next_allowed_at(NOW) == NOW
    assert not spouse_view.allowed and spouse_view.next_allowed_at(NOW) is None
    assert [v.rule for n in spouse_view.numbers for v in n.decision.violations] == ["stop_contact", "stop_contact"]
    assert item.best_number().number.party_id == debtor_view.party.id


async def test_given_a_held_case_then_the_same_agent_gets_it_back_and_others_only_after_the_hold(engine, session):
    client = await make_client(session)
    first, second = await agent_at_seat(session), await agent_at_seat(session)
    only = await queued_case(session, client=client)
    await session.commit()

    held = await _hand_out(engine, first)
    assert held.case.id == only.id and held.held_until == NOW + HOLD
    assert (await _hand_out(engine, first, now=NOW + dt.timedelta(minutes=1))).case.id == only.id  # renewed
    assert await _hand_out(engine, second, now=NOW + dt.timedelta(minutes=2)) is None
    later = NOW + dt.timedelta(minutes=1) + HOLD
    assert (await _hand_out(engine, second, now=later)).case.id == only.id  # the first hold ran out


async def test_given_a_skip_then_that_agent_is_not_offered_the_case_during_the_cooldown(engine, session):
    client = await make_client(session)
    first, second = await agent_at_seat(session), await agent_at_seat(session)
    case = await queued_case(session, client=client)
    await session.commit()
    await _hand_out(engine, first)
    async with session_factory(engine)() as s:
        assert await holds.release(s, case_id=case.id, agent_id=first.agent_id)
        s.add(CaseSkip(case_id=case.id, agent_id=first.agent_id, reason="debtor in hospital", created_at=NOW))
        await s.commit()

    assert await _hand_out(engine, first) is None
    assert (await _hand_out(engine, second)).case.id == case.id  # another agent may take it
    assert (await _hand_out(engine, first, now=NOW + SKIP_COOLDOWN + dt.timedelta(seconds=1))).case.id == case.id


async def test_given_release_by_someone_else_then_refused(engine, session):
    agent, other = await agent_at_seat(session), await agent_at_seat(session)
    case = await queued_case(session)
    await session.commit()
    await _hand_out(engine, agent)
    async with session_factory(engine)() as s:
        assert not await holds.release(s, case_id=case.id, agent_id=other.agent_id)
        assert await holds.release(s, case_id=case.id, agent_id=agent.agent_id)
        await s.commit()


async def test_given_a_campaign_then_only_its_running_clients_cases(engine, session):
    bank_a, bank_b = await make_client(session), await make_client(session)
    agent = await agent_at_seat(session)
    await queued_case(session, client=bank_a, owed="90000.00")
    of_b = await queued_case(session, client=bank_b, owed="10.00")
    campaign = Campaign(client_id=bank_b.id, name="B November", status=CampaignStatus.RUNNING)
    paused = Campaign(client_id=bank_a.id, name="A paused", status=CampaignStatus.PAUSED)
    session.add_all([campaign, paused])
    await session.commit()

    assert (await _hand_out(engine, agent, campaign_id=campaign.id)).case.id == of_b.id
    with pytest.raises(CampaignNotRunning):
        await _hand_out(engine, agent, campaign_id=paused.id)


async def test_given_many_refused_candidates_then_one_hand_out_evaluates_a_bounded_number(engine, session):
    client = await make_client(session)
    agent = await agent_at_seat(session)
    for _ in range(queue.MAX_EVALUATED + 6):
        await stop_debtor(session, await queued_case(session, client=client, owed="90000.00"))
    good = await queued_case(session, client=client, owed="1.00")
    await session.commit()

    assert await _hand_out(engine, agent) is None  # gave up after MAX_EVALUATED, each one parked
    async with session_factory(engine)() as s:
        parked = (await s.execute(select(Case).where(Case.blocked_rules.is_not(None)))).scalars().all()
        assert len(parked) == queue.MAX_EVALUATED
    assert (await _hand_out(engine, agent)).case.id == good.id  # the next one starts past them


async def test_given_the_card_history_then_calls_are_listed_newest_first(engine, session):
    agent = await agent_at_seat(session)
    case = await queued_case(session)
    debtor = (await session.execute(select(Party).where(Party.case_id == case.id))).scalar_one()
    for minutes in (30, 10):
        session.add(Call(direction=Direction.OUTBOUND, carrier="twilio", carrier_call_id=f"CA-queue-{minutes}",
                         state=CallState.NO_ANSWER, case_id=case.id,
                         party_id=debtor.id, requested_at=NOW - dt.timedelta(minutes=minutes)))
    await session.commit()

    async with session_factory(engine)() as s:
        item = await queue.next_case(s, agent_session=agent, now=NOW)
        shown = await card(s, item, now=NOW)
    assert [c.requested_at for c in shown.calls] == [NOW - dt.timedelta(minutes=10), NOW - dt.timedelta(minutes=30)]
    assert shown.case.total_owed == case.total_owed and shown.allowed


async def test_given_more_due_promises_elsewhere_than_the_cap_then_the_agents_own_still_come_first(engine, session):
    agent = await agent_at_seat(session)
    for _ in range(3):  # older promises of another team: outside this agent's scope
        await promise_due(session, await queued_case(session, team="team-b"), due=NOW.date() - dt.timedelta(days=5))
    mine = await queued_case(session)
    await promise_due(session, mine)
    await session.commit()

    first = await repository.next_candidate(session, stage="due", agent_id=agent.agent_id, teams=("team-a",),
                                            client_id=None, now=NOW, today=NOW.date(),
                                            skipped_since=NOW - SKIP_COOLDOWN, cap=2)

    assert first == (mine.id, Tier.PROMISE_DUE.value)


async def test_given_a_case_set_aside_then_the_live_pages_are_told_its_rules_and_until_when(engine, session):
    from dialer.live.models import LiveEvent

    client = await make_client(session)
    agent = await agent_at_seat(session)
    stopped = await queued_case(session, client=client, owed="90000.00", overdue_days=100)
    await stop_debtor(session, stopped)
    await session.commit()

    await _hand_out(engine, agent)

    async with session_factory(engine)() as s:
        [told] = (await s.execute(select(LiveEvent).where(LiveEvent.topic == "set_aside"))).scalars()
    assert told.data == {"case_id": stopped.id, "client_id": client.id, "agent_id": agent.agent_id,
                         "rules": ["stop_contact"], "until": (NOW + RECHECK).isoformat()}
    assert told.at == NOW
