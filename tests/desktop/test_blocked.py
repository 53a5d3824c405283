"""What the policy forbids is shown, with its reason and when next, and cannot be dialed: on the
card (no enabled Dial button), and as a refusal when the policy changed its mind after the card."""

from __future__ import annotations

import pytest
from playwright.async_api import expect
from sqlalchemy import select, update

from dialer.auth.models import Role
from dialer.cases.models import Party, PhoneNumber
from dialer.kit.db import session_factory
from tests.desktop.conftest import open_desktop
from tests.e2e.conftest import ALL_DAY
from tests.factories import make_case, make_client, make_seat, make_user

pytestmark = pytest.mark.timeout(180)


async def test_given_a_blocked_number_then_its_reason_is_shown_and_it_has_no_enabled_dial_button(
        live_factory, browser, session, engine):
    client = await make_client(session, name="招商银行", overrides=ALL_DAY)
    agent = await make_user(session, role=Role.AGENT, team="team-b")
    seat = await make_seat(session, team="team-b")
    case = await make_case(session, client=client, team="team-b", assigned_agent=agent,
                           debtor_numbers=("+8613800000011", "+8613800000012"))
    party = (await session.execute(select(Party).where(Party.case_id == case.id))).scalar_one()
    dead, good = (await session.execute(select(PhoneNumber).where(PhoneNumber.party_id == party.id)
                                        .order_by(PhoneNumber.position))).scalars().all()
    dead.valid, dead.invalid_reason = False, "空号"
    await session.commit()
    live = live_factory(default={"behaviour": "answer", "ring_seconds": 1, "talk_seconds": 5})
    desk = await open_desktop(browser, live)
    await desk.sign_in(agent.username, seat_id=seat.id)

    await desk.by("ready-toggle").click()

    await expect(desk.by("case-card")).to_be_visible()
    await expect(desk.by(f"number-{dead.id}")).to_have_attribute("data-allowed", "false")
    await expect(desk.by(f"number-status-{dead.id}")).to_have_text("禁止拨打")
    await expect(desk.by(f"number-violations-{dead.id}")).to_contain_text("invalid_number")
    await expect(desk.by(f"number-next-{dead.id}")).to_contain_text("需人工解除")  # no time will lift it
    await expect(desk.by(f"dial-{dead.id}")).to_be_disabled()
    await expect(desk.by(f"dial-{good.id}")).to_be_enabled()

    await desk.page.keyboard.press("F3")  # F3 passes over the blocked number and dials the allowed one

    await expect(desk.by("call-to")).to_have_text(good.e164)

    await desk.by("lang-toggle").click()  # English on the switch
    await expect(desk.by(f"number-status-{dead.id}")).to_have_text("Blocked")
    await expect(desk.by(f"number-next-{dead.id}")).to_contain_text("Only a person can lift this")
    assert desk.errors == []


async def test_given_a_dial_the_policy_refuses_then_the_refusal_shows_rule_message_and_next_time(
        live_factory, browser, session, engine):
    client = await make_client(session, name="招商银行", overrides=ALL_DAY)
    agent = await make_user(session, role=Role.AGENT, team="team-b")
    seat = await make_seat(session, team="team-b")
    case = await make_case(session, client=client, team="team-b", assigned_agent=agent,
                           debtor_numbers=("+8613800000021",))
    party = (await session.execute(select(Party).where(Party.case_id == case.id))).scalar_one()
    number = (await session.execute(select(PhoneNumber).where(PhoneNumber.party_id == party.id))).scalar_one()
    await session.commit()
    live = live_factory(default={"behaviour": "answer", "ring_seconds": 1, "talk_seconds": 5})
    desk = await open_desktop(browser, live)
    await desk.sign_in(agent.username, seat_id=seat.id)
    await desk.by("ready-toggle").click()
    await expect(desk.by(f"dial-{number.id}")).to_be_enabled()
    async with session_factory(engine)() as s:  # the number is found dead after the card was shown
        await s.execute(update(PhoneNumber).where(PhoneNumber.id == number.id)
                        .values(valid=False, invalid_reason="空号"))
        await s.commit()

    await desk.by(f"dial-{number.id}").click()

    refusal = desk.by("policy-blocked")
    await expect(refusal).to_be_visible()
    await expect(refusal).to_contain_text("政策拦截")
    await expect(refusal.get_by_test_id("blocked-rule")).to_have_attribute("data-rule", "invalid_number")
    await expect(desk.by("blocked-next")).to_contain_text("需人工解除")
    await expect(desk.by("agent-state")).to_have_attribute("data-state", "reserved")  # no call, still holding the case
    await expect(desk.by("call-panel")).to_be_hidden()
    assert desk.errors == []
