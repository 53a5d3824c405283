"""Preview mode in the browser: log in, pick a seat, go ready, see the case card, dial, hear (see)
the whisper, follow the call to bridged, hang up, save the notes after a field error, next case."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import expect
from sqlalchemy import select

from dialer.auth.models import Role
from dialer.calls.models import Call
from dialer.cases.models import Party, PhoneNumber
from dialer.compliance.models import Consent
from dialer.kit.db import session_factory
from dialer.notes.models import PromiseToPay
from tests.desktop.conftest import open_desktop
from tests.e2e.conftest import ALL_DAY, seat_of
from tests.factories import make_case, make_client, make_seat, make_user

pytestmark = pytest.mark.timeout(180)

FIRST, SECOND = "+8613800000001", "+8613800000002"
SEAT_ANSWERS = {"behaviour": "answer", "ring_seconds": 0.5, "hangup_first": "caller"}
PARTY_STAYS = {"behaviour": "answer", "ring_seconds": 10, "hangup_first": "caller"}  # the agent hangs up
# (the emulator's clock runs 100 times faster than the wall clock: 10 s of ringing is a tenth of a second)


async def _portfolio(session):
    client = await make_client(session, name="招商银行", overrides=ALL_DAY)
    agent = await make_user(session, role=Role.AGENT, team="team-d")
    seat = await make_seat(session, team="team-d")
    cases = [await make_case(session, client=client, team="team-d", assigned_agent=agent, total_owed=owed,
                             debtor_numbers=(number,))
             for owed, number in ((15800, FIRST), (9000, SECOND))]
    await session.flush()
    numbers = {}
    for case in cases:
        party = (await session.execute(select(Party).where(Party.case_id == case.id))).scalar_one()
        numbers[case.account_ref] = (await session.execute(
            select(PhoneNumber).where(PhoneNumber.party_id == party.id))).scalar_one().id
    await session.commit()
    return agent, seat, cases, numbers


async def test_given_a_preview_agent_then_case_dial_whisper_bridged_hang_up_notes_with_field_error_next_case(
        live_factory, browser, session, engine):
    agent, seat, cases, numbers = await _portfolio(session)
    live = live_factory(default=PARTY_STAYS, numbers={seat_of(seat.softphone_identity): SEAT_ANSWERS})
    desk = await open_desktop(browser, live)

    await desk.sign_in(agent.username, seat_id=seat.id)
    await desk.page.keyboard.press("F2")  # ready: preview hands out the first case at once

    await expect(desk.by("agent-state")).to_have_attribute("data-state", "reserved")
    card = desk.by("case-card")
    await expect(card).to_be_visible()
    first_ref = (await desk.by("case-account").inner_text()).strip()
    assert first_ref in numbers
    other_ref = next(ref for ref in numbers if ref != first_ref)
    await expect(desk.by("case-bucket")).to_have_text("M2")
    await expect(desk.by("case-total")).to_contain_text("CNY")
    number_id = numbers[first_ref]
    await expect(desk.by(f"number-status-{number_id}")).to_have_text("可拨打")
    await expect(desk.by(f"dial-{number_id}")).to_be_enabled()

    await desk.page.keyboard.press("F3")  # dial the first allowed number

    await expect(desk.by("whisper-text")).to_contain_text("受招商银行委托")
    await expect(desk.by("whisper-text")).to_contain_text("债务人")
    await expect(desk.by("call-state")).to_have_attribute("data-state", "bridged")
    await expect(desk.by("agent-state")).to_have_attribute("data-state", "on_call")
    await expect(desk.by("call-timeline").locator("li[data-state=bridged]")).to_have_count(1)
    await expect(desk.by(f"dial-{number_id}")).to_be_disabled()  # one live call at a time

    await desk.page.keyboard.press("F4")  # hang up

    await expect(desk.by("call-state")).to_have_attribute("data-state", "completed")
    await expect(desk.by("agent-state")).to_have_attribute("data-state", "wrap_up")
    form = desk.by("wrapup-form")
    await expect(form).to_be_visible()
    await expect(desk.by("wrapup-contact_name")).to_have_value("张三")  # the party called
    await desk.by("wrapup-disposition").select_option("promise_to_pay")
    await expect(desk.by("promise-fields")).to_be_visible()
    await expect(desk.by("payment-fields")).to_be_hidden()

    await desk.page.keyboard.press("Control+Enter")  # checked in the page first: the amount is missing
    await expect(desk.by("error-promise.amount")).to_have_text("必填")
    await expect(desk.by("error-promise.due_date")).to_have_text("必填")

    due = (dt.datetime.now(ZoneInfo("Asia/Shanghai")).date() + dt.timedelta(days=7)).isoformat()
    await desk.by("wrapup-promise.amount").fill("5000")  # a reduction, and no authorisation given
    await desk.by("wrapup-promise.due_date").fill(due)
    await desk.by("wrapup-arrears_reason").fill("生意周转困难")
    await desk.by("wrapup-result").fill("同意下周先还 5000")
    await desk.page.keyboard.press("Control+Enter")

    error = desk.by("error-promise.authorisation_ref")  # the server's refusal, shown at its field
    await expect(error).to_be_visible()
    await expect(error).to_have_text(re.compile(r"\S"))
    await expect(desk.by("wrapup-error")).to_have_text("请更正标出的字段")
    await expect(desk.by("agent-state")).to_have_attribute("data-state", "wrap_up")

    await desk.by("wrapup-promise.authorisation_ref").fill("AUTH-2026-001")
    await expect(error).to_be_hidden()  # cleared as the agent corrects it
    await desk.page.keyboard.press("Control+Enter")

    await expect(form).to_be_hidden()
    await expect(desk.by("case-account")).to_have_text(other_ref)  # the next case, handed out at once
    await expect(desk.by("agent-state")).to_have_attribute("data-state", "reserved")
    await expect(desk.by(f"dial-{numbers[other_ref]}")).to_be_enabled()
    assert desk.errors == []

    async with session_factory(engine)() as s:
        call = (await s.execute(select(Call).where(Call.agent_id == agent.id))).scalar_one()
        promise = (await s.execute(select(PromiseToPay).where(PromiseToPay.call_id == call.id))).scalar_one()
    assert (call.outcome, call.hangup_by) == ("answered", "agent")
    assert (str(promise.amount), promise.authorisation_ref, promise.due_date.isoformat()) == ("5000.00", "AUTH-2026-001", due)


async def test_given_a_callback_asked_on_another_number_then_the_form_offers_the_partys_numbers_and_saves_it(
        live_factory, browser, session, engine):
    client = await make_client(session, name="招商银行", overrides=ALL_DAY)
    agent = await make_user(session, role=Role.AGENT, team="team-c")
    seat = await make_seat(session, team="team-c")
    case = await make_case(session, client=client, team="team-c", assigned_agent=agent, debtor_numbers=(FIRST, SECOND))
    party = (await session.execute(select(Party).where(Party.case_id == case.id))).scalar_one()
    first, second = (await session.execute(select(PhoneNumber).where(PhoneNumber.party_id == party.id)
                                           .order_by(PhoneNumber.position))).scalars().all()
    await session.commit()
    live = live_factory(default=PARTY_STAYS, numbers={seat_of(seat.softphone_identity): SEAT_ANSWERS})
    desk = await open_desktop(browser, live)
    await desk.sign_in(agent.username, seat_id=seat.id)
    await desk.page.keyboard.press("F2")
    await expect(desk.by(f"dial-{first.id}")).to_be_enabled()
    await desk.by(f"dial-{first.id}").click()
    await expect(desk.by("call-state")).to_have_attribute("data-state", "bridged")
    await desk.page.keyboard.press("F4")
    await expect(desk.by("wrapup-form")).to_be_visible()

    await desk.by("wrapup-disposition").select_option("callback_requested")
    await expect(desk.by("callback-fields")).to_be_visible()
    choices = desk.by("wrapup-callback.number_id").locator("option")
    await expect(choices).to_have_count(2)  # the number called, and the party's other one
    await expect(choices.nth(0)).to_contain_text(FIRST)
    await expect(choices.nth(1)).to_contain_text(SECOND)
    at = (dt.datetime.now(ZoneInfo("Asia/Shanghai")) + dt.timedelta(days=1)).replace(hour=10, minute=30)
    await desk.by("wrapup-callback.at").fill(at.strftime("%Y-%m-%dT%H:%M"))
    await desk.by("wrapup-callback.number_id").select_option(str(second.id))
    await desk.page.keyboard.press("Control+Enter")

    await expect(desk.by("wrapup-form")).to_be_hidden()
    assert desk.errors == []
    async with session_factory(engine)() as s:
        consent = (await s.execute(select(Consent).where(Consent.party_id == party.id))).scalar_one()
    assert consent.number_id == second.id and consent.callback_at == at.replace(second=0, microsecond=0)
