"""The case card reads well in both languages: an empty history says so in words (never "None" or
"null"), a number's type stays on the number's line, the call just made joins the history when it
ends, and the keyboard shortcuts are shown; once noted, the case rests and the desktop says so."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect
from sqlalchemy import select

from dialer.calls.models import Call
from dialer.kit.db import session_factory
from tests.desktop.conftest import Desktop, one_case_desk

pytestmark = pytest.mark.timeout(180)

LITERALS = re.compile(r"\b(None|null|undefined|NaN)\b")


_BOXES = """([numberId, kindId]) => {
    const number = document.querySelector(`[data-testid="${numberId}"] strong`);
    const kind = document.querySelector(`[data-testid="${kindId}"]`);
    if (!number || !kind || !number.offsetParent || !kind.offsetParent) return null;
    const a = number.getBoundingClientRect(), b = kind.getBoundingClientRect();
    return [{x: a.x, y: a.y}, {x: b.x, y: b.y}];
}"""


async def _on_one_line(desk: Desktop, number_id: int) -> bool:
    """The number and its type's label start on the same line of the card. Both boxes are read in
    one step in the page: the desktop re-renders the card as it polls, so two separate reads could
    straddle a re-render."""
    await expect(desk.by(f"number-kind-{number_id}")).to_be_visible()
    boxes = await desk.page.evaluate(_BOXES, [f"number-{number_id}", f"number-kind-{number_id}"])
    assert boxes is not None, "the card shows the number and its type"
    e164, kind = boxes
    return abs(e164["y"] - kind["y"]) < 4 and kind["x"] > e164["x"]


async def test_given_a_call_then_the_card_shows_it_in_its_history_in_words_and_the_worked_case_rests(
        live_factory, browser, session, engine):
    one = await one_case_desk(live_factory, browser, session, team="team-h", e164="+8613800000051")
    desk = one.desk
    keys = desk.by("keys-hint")
    await expect(keys).to_be_visible()
    await expect(keys).to_have_text("F2 就绪/未就绪 · F3 拨号 · F4 挂断 · Ctrl+Enter 保存小结 · Alt+N 下一案件")

    await desk.page.keyboard.press("F2")

    card = desk.by("case-card")
    await expect(desk.by("case-no-calls")).to_have_text("暂无通话记录")
    await expect(desk.by("case-no-notes")).to_have_text("暂无小结")
    assert await _on_one_line(desk, one.number_id)
    await desk.by("lang-toggle").click()
    await expect(desk.by("case-no-calls")).to_have_text("No calls yet")
    await expect(desk.by("case-no-notes")).to_have_text("No notes yet")
    await expect(keys).to_have_text("F2 ready/not ready · F3 dial · F4 hang up · Ctrl+Enter save notes · Alt+N next case")
    assert not LITERALS.search(await card.inner_text())
    assert await _on_one_line(desk, one.number_id)

    await desk.page.keyboard.press("F3")  # nobody answers: the call ends, the wrap-up form opens

    await expect(desk.by("wrapup-form")).to_be_visible()
    async with session_factory(engine)() as s:
        call = (await s.execute(select(Call).where(Call.number_id == one.number_id))).scalar_one()
    row = desk.by("case-calls").locator(f"tr[data-call-id='{call.id}']")
    await expect(row).to_contain_text("No answer")  # the card's history, read again when the call ended
    await expect(row).to_contain_text(one.e164)
    await expect(desk.by("case-no-calls")).to_have_count(0)
    assert not LITERALS.search(await card.inner_text())

    await desk.by("wrapup-save").click()  # no contact, no answer: prefilled

    await expect(desk.by("wrapup-form")).to_be_hidden()
    await expect(desk.by("queue-status")).to_have_text("1 case resting after a recent call")
    await desk.by("lang-toggle").click()
    await expect(desk.by("queue-status")).to_have_text("1 个案件刚联系过，稍后再分配")
    assert desk.errors == []
