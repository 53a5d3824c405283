"""The docs in a real browser (Debian's Chromium, headless, as in ``tests/desktop``) with every request
to another host blocked, as on an agency's closed intranet: the operations are still shown."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page, Route, expect

from tests.desktop.conftest import TIMEOUT_MS
from tests.e2e.conftest import Live

pytestmark = [pytest.mark.timeout(120), pytest.mark.sqlite_only]  # the docs read no table

REDOCLY_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"  # in ReDoc's bundle; the page's policy refuses it


async def open_offline(browser: Browser, live: Live, path: str) -> tuple[Page, list[str], list[str]]:
    """A tab on ``path`` that may reach the service only; with the URLs it was refused and its errors
    (uncaught, or logged: the page's own policy refusing a load is one)."""
    page = await (await browser.new_context()).new_page()
    page.set_default_timeout(TIMEOUT_MS)
    refused: list[str] = []
    errors: list[str] = []

    async def only_the_service(route: Route) -> None:
        if route.request.url.startswith(live.url + "/"):
            await route.continue_()
        else:
            refused.append(route.request.url)
            await route.abort("blockedbyclient")

    await page.route("**/*", only_the_service)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    await page.goto(f"{live.url}{path}")
    return page, refused, errors


async def test_given_no_other_host_reachable_when_docs_open_then_swagger_ui_shows_the_operations(
        live_factory, browser):
    page, refused, errors = await open_offline(browser, live_factory(), "/docs")

    login = page.locator(".opblock-post", has=page.locator(".opblock-summary-path[data-path='/v1/auth/token']"))
    await expect(login.locator(".opblock-summary-description")).to_have_text(
        "Log in with username and password (no auth); 429 with Retry-After after repeated failures")
    assert refused == [] and errors == []


async def test_given_no_other_host_reachable_when_redoc_opens_then_it_shows_the_operations(
        live_factory, browser):
    page, refused, errors = await open_offline(browser, live_factory(), "/redoc")

    await expect(page.get_by_role("heading", name="Log in with username and password (no auth)")).to_be_visible()
    assert refused == []
    assert all(REDOCLY_LOGO in error and "Content Security Policy" in error for error in errors), errors
