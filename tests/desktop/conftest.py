"""The agent desktop driven in a real browser: Debian's Chromium, headless, through Playwright
(the system browser; ``playwright install`` is never run), against the live service and the
Twilio emulator of ``tests/e2e``."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.e2e.conftest import PASSWORD, Live, live_factory, twilio_emulator_factory  # noqa: F401

CHROMIUM = Path(os.environ.get("DIALER_TEST_CHROMIUM", "/usr/bin/chromium"))
TIMEOUT_MS = 20_000  # a whole call (ring, whisper, bridge) fits with room to spare on a slow CI machine
CHROMIUM_ARGS = ["--enable-blink-features=LangAttributeAwareFormControlUI"]
"""As the agents' browsers are started (README): date fields laid out in the page's language (their
``lang``), not in the browser's own."""

expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture
async def browser(live_factory) -> AsyncIterator[Browser]:  # noqa: F811
    """Headless Chromium. It depends on ``live_factory`` so it closes first: an open event stream
    would otherwise keep the service's shutdown waiting."""
    if not CHROMIUM.exists():  # a failure, never a skip: scripts/test installs it before pytest
        pytest.fail(f"{CHROMIUM} is missing: install it with `sudo apt-get install -y chromium fonts-noto-cjk` "
                    "(scripts/ensure-browser.sh, run by scripts/test, does so as root)", pytrace=False)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@dataclass
class Desktop:
    """A browser tab on the desktop page, with the JavaScript errors it raised."""

    page: Page
    errors: list[str]

    def by(self, testid: str):
        return self.page.get_by_test_id(testid)

    async def sign_in(self, username: str, *, seat_id: int | None = None, mode: str = "preview") -> None:
        await self.by("login-username").fill(username)
        await self.by("login-password").fill(PASSWORD)
        await self.by("login-submit").click()
        if seat_id is not None:
            await expect(self.by("seat-select")).to_be_visible()
            await self.by("seat-select").select_option(str(seat_id))
            await self.by("seat-mode").select_option(mode)
            await self.by("seat-login").click()
        await expect(self.by("agent-state")).to_have_attribute("data-state", "not_ready")
        await expect(self.by("live")).to_have_attribute("data-live", "true")


async def open_desktop(browser: Browser, live: Live) -> Desktop:
    context = await browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: print(f"console.{message.type}: {message.text}"))  # shown on failure
    await page.goto(f"{live.url}/desktop")
    return Desktop(page, errors)


SEAT_ANSWERS = {"behaviour": "answer", "ring_seconds": 0.5, "hangup_first": "caller"}
NOBODY_ANSWERS = {"behaviour": "no_answer"}


@dataclass(frozen=True)
class OneCase:
    desk: Desktop
    number_id: int
    e164: str


async def one_case_desk(make_live, browser, session, *, team: str, e164: str, before_sign_in=None) -> OneCase:
    """(``make_live``: the ``live_factory`` fixture.) A preview agent of ``team`` signed in at a seat that answers, one case assigned to them whose
    debtor's number ``e164`` nobody answers (the agent still not ready). ``before_sign_in`` runs on
    the open page first (a route to set up, say)."""
    from sqlalchemy import select

    from dialer.auth.models import Role
    from dialer.cases.models import Party, PhoneNumber
    from tests.e2e.conftest import ALL_DAY, seat_of
    from tests.factories import make_case, make_client, make_seat, make_user

    client = await make_client(session, name="招商银行", overrides=ALL_DAY)
    agent = await make_user(session, role=Role.AGENT, team=team)
    seat = await make_seat(session, team=team)
    case = await make_case(session, client=client, team=team, assigned_agent=agent, debtor_numbers=(e164,))
    number = (await session.execute(
        select(PhoneNumber).join(Party, Party.id == PhoneNumber.party_id).where(Party.case_id == case.id))).scalar_one()
    await session.commit()
    live = make_live(default=NOBODY_ANSWERS, numbers={seat_of(seat.softphone_identity): SEAT_ANSWERS})
    desk = await open_desktop(browser, live)
    if before_sign_in is not None:
        await before_sign_in(desk)
    await desk.sign_in(agent.username, seat_id=seat.id)
    return OneCase(desk, number.id, number.e164)


async def dial_unanswered(one: OneCase) -> Desktop:
    """Ready, dial the case's number (nobody answers): the wrap-up form opens."""
    desk = one.desk
    await desk.page.keyboard.press("F2")
    await expect(desk.by(f"dial-{one.number_id}")).to_be_enabled()
    await desk.page.keyboard.press("F3")
    await expect(desk.by("agent-state")).to_have_attribute("data-state", "wrap_up")
    await expect(desk.by("wrapup-form")).to_be_visible()
    return desk
