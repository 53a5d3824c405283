"""The demo's parts, each on its own: the portfolio's parties at and one attempt from their caps
(as the policy decides), the switch to real time after the shift, each recording's own audio,
the agents' notes of voicemails, and a scenario with every behaviour."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from dialer.compliance import service as compliance
from dialer.compliance.models import Attempt, AttemptSource
from dialer.cases.models import Case, Party, PhoneNumber
from dialer.container import ForwardingClock
from dialer.demo.agents import wrap_up_for
from dialer.demo.portfolio import seed
from dialer.demo.runner import MIX, real_time, scenario_for, shift_start
from dialer.kit.clock import system_clock
from twilio_emulator import Scenario
from twilio_emulator.clock import SimClock
from twilio_emulator.engine import Emulator
from twilio_emulator.resources import Recording
from twilio_emulator.server import EmulatorServer

NOW = dt.datetime(2026, 11, 24, 2, 30, tzinfo=dt.UTC)  # Tuesday 10:30 in Shanghai
CAP_RULES = {"debtor_number_daily_cap", "debtor_conversation_daily_cap", "third_party_daily_cap",
             "third_party_hourly_cap"}


async def _cap_rules(session, number_id: int) -> set[str]:
    checked = await compliance.check(session, at=NOW, number_id=number_id)
    await session.commit()
    return {v.rule for v in checked.decision.violations} & CAP_RULES


@pytest.mark.sqlite_only
async def test_given_a_seeded_portfolio_then_some_parties_are_at_their_caps_and_some_one_attempt_from_them(session):
    seeded = await seed(session, now=NOW, cases=40, agents=2)
    await session.commit()
    numbers = {party_id: [number_id for (number_id,) in await session.execute(
        select(PhoneNumber.id).where(PhoneNumber.party_id == party_id))]
        for party_id in [*seeded.at_cap, *seeded.near_cap]}
    await session.commit()

    assert len(seeded.at_cap) >= 4 and len(seeded.near_cap) >= 4
    at_cap = Counter()
    for party_id in seeded.at_cap:  # refused on every number, by a cap
        for number_id in numbers[party_id]:
            rules = await _cap_rules(session, number_id)
            assert rules, f"party {party_id} number {number_id} is not at a cap"
            at_cap.update(rules)
    assert {"debtor_number_daily_cap", "debtor_conversation_daily_cap", "third_party_hourly_cap"} <= set(at_cap)
    cases = dict((await session.execute(select(Party.id, Case.id).join(Case, Case.id == Party.case_id)
                                        .where(Party.id.in_(seeded.near_cap)))).all())
    clients = dict((await session.execute(select(Case.id, Case.client_id).where(Case.id.in_(cases.values())))).all())
    await session.commit()
    for party_id in seeded.near_cap:  # allowed once more by every cap, then refused by one
        for number_id in numbers[party_id]:
            assert await _cap_rules(session, number_id) == set(), f"party {party_id} is at a cap already"
            session.add(Attempt(client_id=clients[cases[party_id]], case_id=cases[party_id], party_id=party_id,
                                number_id=number_id, started_at=NOW - dt.timedelta(minutes=1), outcome="no_answer",
                                conversation=False, direction="outbound", source=AttemptSource.DIALER))
            await session.commit()
            assert await _cap_rules(session, number_id), f"party {party_id} is not one attempt from a cap"


async def test_given_the_shift_ended_when_switched_to_real_time_then_the_service_and_the_emulator_follow_the_system_clock():
    sim = SimClock(20.0, start=dt.datetime(2030, 1, 7, 2, 0, tzinfo=dt.UTC))
    service_clock = ForwardingClock(sim.now)
    app = FastAPI()
    app.state.container = SimpleNamespace(clock=service_clock)
    emulator = EmulatorServer(Scenario(speed=20.0))
    emulator.emulator.clock = sim
    emulator.start()
    try:
        pacer = emulator.emulator.pacer
        await real_time(service_clock, app, emulator)
        now = dt.datetime.now(dt.UTC)
        em = emulator.emulator

        assert abs((service_clock() - now).total_seconds()) < 2 and app.state.container.clock is system_clock
        assert em.clock.speed == 1.0 and em.scenario.speed == 1.0 and abs((em.clock.now() - now).total_seconds()) < 2
        assert em.pacer is not pacer  # the old one's next slots were in simulated time
    finally:
        emulator.stop()


def test_given_two_recordings_of_equal_length_then_each_is_served_with_its_own_audio():
    account, one, two = "AC" + "0" * 32, "RE" + "1" * 32, "RE" + "2" * 32
    em = Emulator(Scenario(), account_sid=account, auth_token="token")
    for sid in (one, two):
        em.recordings[sid] = Recording(sid=sid, account_sid=account, call_sid="CA" + sid[2:], channels=2,
                                       source="OutboundAPI", date_created=NOW, start_time=NOW, duration=7)
    first, second = em.recording_media(account, one, None), em.recording_media(account, two, None)

    assert first != second and len(first) == len(second)
    assert em.recording_media(account, one, None) == first  # the same file however often it is fetched
    assert len(em.recording_media(account, one, "1")) < len(first)  # the mono downmix


def test_given_a_voicemail_answered_then_the_agent_notes_voicemail_not_a_conversation():
    import random

    case = {"parties": [{"id": 1, "role": "debtor", "name": "王伟"}], "total_owed": "1000.00"}
    answered = {"outcome": "answered", "party_id": 1}

    note = wrap_up_for(answered, case, random.Random(1), today=NOW.date(), machine=True)
    carrier_said = wrap_up_for({"outcome": "voicemail", "party_id": 1}, case, random.Random(1), today=NOW.date())

    assert (note["disposition"], note["contact_status"]) == ("no_contact", "voicemail")
    assert (carrier_said["disposition"], carrier_said["contact_status"]) == ("no_contact", "voicemail")


def test_given_the_demo_scenario_then_every_behaviour_of_the_mix_is_scripted():
    seeded = SimpleNamespace(numbers=[f"+86138{n:08d}" for n in range(400)], agents=[("a", 1)])

    scenario = scenario_for(seeded, speed=20, seed=7)

    behaviours = Counter(s.behaviour.value for number, s in scenario.numbers.items() if number.startswith("+"))
    assert set(behaviours) == {behaviour for behaviour, _ in MIX}


@pytest.mark.parametrize(("utc", "expected_local"), [
    ("2026-11-24T03:00:00+00:00", "2026-11-24T10:41"),  # Tuesday 11:00: 19 minutes earlier, to end about now
    ("2026-11-24T01:10:00+00:00", "2026-11-24T09:00"),  # 09:10: not before nine
    ("2026-11-24T14:00:00+00:00", "2026-11-25T10:00"),  # 22:00: the next morning, as without a lead
])
def test_given_a_lead_then_the_simulated_shift_starts_that_much_earlier_in_working_hours(utc, expected_local):
    start = shift_start(dt.datetime.fromisoformat(utc), lead=dt.timedelta(minutes=19))

    assert start.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%dT%H:%M") == expected_local
