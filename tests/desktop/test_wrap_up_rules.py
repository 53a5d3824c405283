"""The wrap-up form follows the service's rules (GET /v1/wrap-up/rules), read once signed in: after an
unanswered call the dispositions that need a conversation cannot be chosen, a disposition's missing
field is marked before anything is sent, and a rule the service serves is the rule the page applies."""

from __future__ import annotations

import pytest
from playwright.async_api import Route, expect
from sqlalchemy import select

from dialer.auth.models import Role
from dialer.cases.models import Party, PhoneNumber
from dialer.notes.schemas import CONVERSATIONS
from tests.desktop.conftest import Desktop, open_desktop
from tests.e2e.conftest import ALL_DAY, seat_of
from tests.factories import make_case, make_client, make_seat, make_user

pytestmark = pytest.mark.timeout(180)

SEAT_ANSWERS = {"behaviour": "answer", "ring_seconds": 0.5, "hangup_first": "caller"}
NOBODY_ANSWERS = {"behaviour": "no_answer"}


def option(desk: Desktop, disposition: str):
    return desk.by("wrapup-disposition").locator(f"option[value={disposition}]")


async def _unanswered_wrap_up(live_factory, browser, session, *, before_sign_in=None) -> Desktop:
    """An agent in preview mode who dialed a number nobody answered, with the wrap-up form open."""
    client = await make_client(session, name="招商银行", overrides=ALL_DAY)
    agent = await make_user(session, role=Role.AGENT, team="team-r")
    seat = await make_seat(session, team="team-r")
    case = await make_case(session, client=client, team="team-r", assigned_agent=agent,
                           debtor_numbers=("+8613800000031",))
    party = (await session.execute(select(Party).where(Party.case_id == case.id))).scalar_one()
    number = (await session.execute(select(PhoneNumber).where(PhoneNumber.party_id == party.id))).scalar_one()
    await session.commit()
    live = live_factory(default=NOBODY_ANSWERS, numbers={seat_of(seat.softphone_identity): SEAT_ANSWERS})
    desk = await open_desktop(browser, live)
    if before_sign_in is not None:
        await before_sign_in(desk)
    await desk.sign_in(agent.username, seat_id=seat.id)
    await desk.page.keyboard.press("F2")
    await expect(desk.by(f"dial-{number.id}")).to_be_enabled()
    await desk.page.keyboard.press("F3")
    await expect(desk.by("agent-state")).to_have_attribute("data-state", "wrap_up")
    await expect(desk.by("wrapup-form")).to_be_visible()
    return desk


async def test_given_an_unanswered_call_then_conversations_are_disabled_and_a_missing_reason_is_marked(
        live_factory, browser, session):
    desk = await _unanswered_wrap_up(live_factory, browser, session)

    await expect(desk.by("wrapup-disposition")).to_have_value("no_contact")
    await expect(desk.by("wrapup-contact_status")).to_have_value("no_answer")
    for disposition in sorted(CONVERSATIONS):
        await expect(option(desk, disposition)).to_be_disabled()
    await expect(option(desk, "wrong_number")).to_be_enabled()

    await desk.by("wrapup-disposition").select_option("wrong_number")
    await desk.page.keyboard.press("Control+Enter")  # checked in the page first: the reason is missing

    await expect(desk.by("error-reason")).to_have_text("必填")
    await expect(desk.by("wrapup-error")).to_have_text("请更正标出的字段")
    await expect(desk.by("agent-state")).to_have_attribute("data-state", "wrap_up")

    await desk.by("wrapup-reason").fill("号码已易主")
    await desk.page.keyboard.press("Control+Enter")

    await expect(desk.by("wrapup-form")).to_be_hidden()
    assert desk.errors == []


async def test_given_the_service_serves_another_rule_then_the_page_applies_it(live_factory, browser, session):
    async def no_contact_needs_a_result(route: Route) -> None:
        served = await route.fetch()
        rules = await served.json()
        rules["required"]["no_contact"] = ["result"]
        await route.fulfill(response=served, json=rules)

    async def serve_changed_rules(desk: Desktop) -> None:
        await desk.page.route("**/v1/wrap-up/rules", no_contact_needs_a_result)

    desk = await _unanswered_wrap_up(live_factory, browser, session, before_sign_in=serve_changed_rules)

    await expect(desk.by("wrapup-disposition")).to_have_value("no_contact")
    await expect(desk.page.locator("[data-field=result] .req")).to_have_text(" *")
    await desk.page.keyboard.press("Control+Enter")

    await expect(desk.by("error-result")).to_have_text("必填")  # the page's check: the service needs no result here
    await desk.by("wrapup-result").fill("无人接听")
    await desk.page.keyboard.press("Control+Enter")

    await expect(desk.by("wrapup-form")).to_be_hidden()
    assert desk.errors == []
