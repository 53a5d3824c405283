"""Issue #17 against a real database (SQLite and PostgreSQL): the snapshot a check reads carries
every zone the party's numbers indicate, the calendar-day rules see the stored history, and the
ledger keeps the no-overlap refusal with its rule result."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from dialer.agents.models import AgentSession
from dialer.cases.models import Party, PhoneNumber
from dialer.compliance import service
from dialer.compliance.models import Attempt, Decision
from dialer.kit.errors import PolicyBlocked
from tests.factories import make_case, make_client, make_seat, make_user

NEW_YORK = ZoneInfo("America/New_York")
SHANGHAI = ZoneInfo("Asia/Shanghai")
WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


async def _debtor(session, *, zone: str, number: str, overrides: dict | None = None):
    """A us-reg-f client's debtor recorded in ``zone`` with one number (no zone recorded on it)."""
    client = await make_client(session, preset="us-reg-f", overrides=overrides)
    case = await make_case(session, client=client, debtor_numbers=(number,))
    party = (await session.execute(select(Party).where(Party.case_id == case.id))).scalar_one()
    party.time_zone = zone
    phone = (await session.execute(select(PhoneNumber).where(PhoneNumber.party_id == party.id))).scalar_one()
    await session.flush()
    return client, case, party, phone


async def test_given_a_new_york_debtor_with_a_los_angeles_number_then_the_check_waits_for_los_angeles(session):
    _, _, party, phone = await _debtor(session, zone="America/New_York", number="+13105550100")
    await session.commit()

    early = await service.check(session, at=dt.datetime(2026, 6, 10, 8, 30, tzinfo=NEW_YORK), party_id=party.id)
    await session.commit()

    assert [v.rule for v in early.decision.violations] == ["calling_window"]
    assert early.decision.next_allowed_at == dt.datetime(2026, 6, 10, 11, tzinfo=NEW_YORK)
    entry = await session.get(Decision, early.entry.id)
    assert entry.rule_results["calling_window"] == "fail" and entry.rule_results["calling_window_no_overlap"] == "pass"
    assert "05:30 America/Los_Angeles" in entry.violations[0]["message_en"]
    late = await service.check(session, at=dt.datetime(2026, 6, 10, 11, tzinfo=NEW_YORK), number_id=phone.id)
    assert late.decision.allowed


async def test_given_windows_that_never_meet_then_the_refusal_is_recorded_under_its_own_rule(session):
    overrides = {"calling_window": {"weekdays": {d: [{"start": "09:00", "end": "17:00"}] for d in WEEK}}}
    _, _, party, phone = await _debtor(session, zone="Asia/Shanghai", number="+12125550100", overrides=overrides)
    agent = await make_user(session)
    seat = await make_seat(session)
    session.add(AgentSession(agent_id=agent.id, seat_id=seat.id))
    await session.commit()
    at = dt.datetime(2026, 6, 10, 10, tzinfo=NEW_YORK)

    with pytest.raises(PolicyBlocked) as exc:
        await service.reserve(session, number_id=phone.id, at=at, agent_id=agent.id, seat_id=seat.id, mode="preview")
    await session.commit()

    assert [v["rule"] for v in exc.value.extra["violations"]] == ["calling_window", "calling_window_no_overlap"]
    assert exc.value.extra["next_allowed_at"] is None
    entry = (await session.execute(select(Decision).order_by(Decision.id.desc()).limit(1))).scalar_one()
    assert not entry.allowed and entry.next_allowed_at is None
    assert entry.rule_results["calling_window_no_overlap"] == "fail"
    overlap = entry.violations[1]
    assert overlap["rule"] == "calling_window_no_overlap" and overlap["retry_at"] is None
    assert "America/New_York 09:00-17:00; Asia/Shanghai 09:00-17:00" in overlap["message_en"]
    assert overlap["message"] == overlap["message_en"]  # the us-reg-f preset speaks English
    assert "互不重叠" in overlap["message_zh"]


async def test_given_a_conversation_at_2359_then_the_stored_history_pauses_calls_until_the_seventh_local_midnight(session):
    client, case, party, phone = await _debtor(session, zone="America/New_York", number="+12125550100")
    session.add(Attempt(client_id=client.id, case_id=case.id, party_id=party.id, number_id=phone.id,
                        started_at=dt.datetime(2026, 6, 1, 23, 59, tzinfo=NEW_YORK), outcome="answered",
                        conversation=True))
    await session.commit()

    last_evening = await service.check(session, at=dt.datetime(2026, 6, 7, 20, 59, tzinfo=NEW_YORK), number_id=phone.id)
    await session.commit()
    (pause,) = last_evening.decision.violations
    assert pause.rule == "us_pause_after_conversation"
    assert pause.retry_at == dt.datetime(2026, 6, 8, 0, tzinfo=NEW_YORK)
    assert "the pause ends 2026-06-08 00:00 America/New_York" in pause.message_en
    assert last_evening.decision.next_allowed_at == dt.datetime(2026, 6, 8, 8, tzinfo=NEW_YORK)
    next_morning = await service.check(session, at=dt.datetime(2026, 6, 8, 8, tzinfo=NEW_YORK), number_id=phone.id)
    assert next_morning.decision.allowed
