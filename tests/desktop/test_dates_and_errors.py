"""The desktop's date fields and errors follow the chosen language: Chinese dates are laid out
yyyy/mm/dd and English ones dd/mm/yyyy, as the page writes its own dates, and every error on the
wrap-up form — a field's, the form's own, the page's checks and the service's refusals — is reworded
when the language is switched."""

from __future__ import annotations

import datetime as dt
import json
import re
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Route, expect

from tests.desktop.conftest import Desktop, dial_unanswered, one_case_desk

pytestmark = pytest.mark.timeout(180)

FIELD = re.compile(r"-webkit-datetime-edit-(year|month|day|hour|minute)-field")


async def parts_of(desk: Desktop, testid: str) -> list[str]:
    """The order Chromium lays a date field's parts out in: its user-agent shadow tree, read over CDP."""
    cdp = await desk.page.context.new_cdp_session(desk.page)
    try:
        document = await cdp.send("DOM.getDocument", {"depth": 0})
        found = await cdp.send("DOM.querySelector", {"nodeId": document["root"]["nodeId"],
                                                     "selector": f'[data-testid="{testid}"]'})
        node = (await cdp.send("DOM.describeNode", {"nodeId": found["nodeId"], "depth": -1, "pierce": True}))["node"]
    finally:
        await cdp.detach()
    parts: list[str] = []

    def walk(n: dict) -> None:
        attributes = n.get("attributes", [])
        pseudo = dict(zip(attributes[::2], attributes[1::2])).get("pseudo", "")
        if match := FIELD.fullmatch(pseudo):
            parts.append(match.group(1))
        for child in (*n.get("shadowRoots", ()), *n.get("children", ())):
            walk(child)

    walk(node)
    return parts


async def _wrap_up_after_no_answer(live_factory, browser, session) -> Desktop:
    """A preview agent who dialed a number nobody answered, with the wrap-up form open."""
    return await dial_unanswered(await one_case_desk(live_factory, browser, session, team="team-e",
                                                     e164="+8613800000041"))


async def test_given_the_language_switched_then_date_fields_and_the_pages_dates_change_order_values_kept(
        live_factory, browser, session):
    desk = await _wrap_up_after_no_answer(live_factory, browser, session)
    follow_up = desk.by("wrapup-next_follow_up_date")
    next_week = (dt.datetime.now(ZoneInfo("Asia/Shanghai")).date() + dt.timedelta(days=7)).isoformat()
    await follow_up.fill(next_week)

    assert await parts_of(desk, "wrapup-next_follow_up_date") == ["year", "month", "day"]
    assert await parts_of(desk, "wrapup-callback.at") == ["year", "month", "day", "hour", "minute"]
    await expect(desk.by("case-held-until")).to_have_text(re.compile(r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}$"))

    await desk.by("lang-toggle").click()

    assert await parts_of(desk, "wrapup-next_follow_up_date") == ["day", "month", "year"]
    assert await parts_of(desk, "wrapup-callback.at") == ["day", "month", "year", "hour", "minute"]
    await expect(follow_up).to_have_value(next_week)  # the field rebuilt, its value kept
    await expect(follow_up).to_have_attribute("lang", "en-GB")
    await expect(desk.by("case-held-until")).to_have_text(re.compile(r"^\d{2}/\d{2}/\d{4}, \d{2}:\d{2}$"))

    await desk.by("lang-toggle").click()

    assert await parts_of(desk, "wrapup-next_follow_up_date") == ["year", "month", "day"]
    await expect(follow_up).to_have_value(next_week)
    assert desk.errors == []


async def test_given_english_then_the_pages_checks_and_the_services_refusals_are_english_and_reworded_on_switch(
        live_factory, browser, session):
    desk = await _wrap_up_after_no_answer(live_factory, browser, session)
    form_error = desk.by("wrapup-error")
    await desk.by("wrapup-disposition").select_option("wrong_number")  # needs a reason

    await desk.page.keyboard.press("Control+Enter")  # the page's own check, in Chinese first

    await expect(desk.by("error-reason")).to_have_text("必填")
    await expect(form_error).to_have_text("请更正标出的字段")
    await desk.by("lang-toggle").click()
    await expect(desk.by("error-reason")).to_have_text("Required")  # reworded where it stands
    await expect(form_error).to_have_text("Please correct the marked fields")

    await desk.by("wrapup-disposition").select_option("no_contact")
    yesterday = (dt.datetime.now(ZoneInfo("Asia/Shanghai")).date() - dt.timedelta(days=1)).isoformat()
    await desk.by("wrapup-next_follow_up_date").fill(yesterday)
    await desk.page.keyboard.press("Control+Enter")  # the service refuses a follow-up in the past

    field_error = desk.by("error-next_follow_up_date")
    await expect(field_error).to_have_text(re.compile(rf"^{yesterday} is in the past \(today is "))
    await expect(form_error).to_have_text("Please correct the marked fields")
    await desk.by("lang-toggle").click()
    await expect(field_error).to_have_text(re.compile(rf"^下次跟进日期 {yesterday} 早于今天"))
    await expect(form_error).to_have_text("请更正标出的字段")

    async def refuse(route: Route) -> None:  # a refusal that names no field: the form's own error
        await route.fulfill(status=409, content_type="application/json", body=json.dumps(
            {"error": "wrap_up_exists", "detail": "call 1 already has its wrap-up note"}))

    await desk.page.route("**/v1/calls/*/wrap-up", refuse)
    await desk.by("wrapup-next_follow_up_date").fill("")
    await desk.page.keyboard.press("Control+Enter")

    await expect(form_error).to_have_text("该通话已保存过小结")
    await expect(field_error).to_be_hidden()
    await desk.by("lang-toggle").click()
    await expect(form_error).to_have_text("call 1 already has its wrap-up note")
    assert desk.errors == []
