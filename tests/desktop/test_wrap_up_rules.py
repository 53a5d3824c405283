"""The wrap-up form follows the service's rules (GET /v1/wrap-up/rules), read once signed in: after an
unanswered call the dispositions that need a conversation cannot be chosen, a disposition's missing
field is marked before anything is sent, and a rule the service serves is the rule the page applies."""

from __future__ import annotations

import pytest
from playwright.async_api import Route, expect

from dialer.notes.schemas import CONVERSATIONS
from tests.desktop.conftest import Desktop, dial_unanswered, one_case_desk

pytestmark = pytest.mark.timeout(180)



def option(desk: Desktop, disposition: str):
    return desk.by("wrapup-disposition").locator(f"option[value={disposition}]")


async def _unanswered_wrap_up(live_factory, browser, session, *, before_sign_in=None) -> Desktop:
    """An agent in preview mode who dialed a number nobody answered, with the wrap-up form open."""
    return await dial_unanswered(await one_case_desk(live_factory, browser, session, team="team-r",
                                                     e164="+8613800000031", before_sign_in=before_sign_in))


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
