"""Progressive mode in the browser: the agent goes ready and calls arrive by themselves; the
notes of one are saved and the next call follows."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from dialer.auth.models import Role
from tests.desktop.conftest import open_desktop
from tests.e2e.conftest import ALL_DAY, seat_of
from tests.factories import make_case, make_client, make_seat, make_user

pytestmark = pytest.mark.timeout(180)

SEAT_STAYS = {"behaviour": "answer", "ring_seconds": 0.5, "hangup_first": "caller"}
PARTY_HANGS_UP = {"behaviour": "answer", "ring_seconds": 10, "talk_seconds": 300}  # at the emulator's speed: 3 s of talk


async def test_given_a_progressive_agent_then_calls_arrive_by_themselves_with_notes_between(
        live_factory, browser, session):
    client = await make_client(session, name="招商银行", overrides=ALL_DAY)
    agent = await make_user(session, role=Role.AGENT, team="team-p")
    boss = await make_user(session, role=Role.SUPERVISOR, team="team-p")
    seat = await make_seat(session, team="team-p")
    cases = [await make_case(session, client=client, team="team-p", total_owed=10000 + i * 1000,
                             debtor_numbers=(f"+861390000{i:04d}",)) for i in range(3)]
    await session.commit()
    live = live_factory(default=PARTY_HANGS_UP, numbers={seat_of(seat.softphone_identity): SEAT_STAYS})
    async with live.client(await live.login(boss.username)) as http:
        campaign = (await http.post("/v1/campaigns", json={"client_id": client.id, "name": "desktop",
                                                           "mode": "progressive", "team": "team-p"})).json()
        started = await http.post(f"/v1/campaigns/{campaign['id']}/status", json={"status": "running"})
        assert started.status_code == 200, started.text
    desk = await open_desktop(browser, live)
    await desk.sign_in(agent.username, seat_id=seat.id, mode="progressive")
    await expect(desk.by("mode-select")).to_have_value("progressive")
    await expect(desk.by("case-empty")).to_be_visible()

    await desk.by("ready-toggle").click()

    call_state = desk.by("call-state")
    await expect(call_state).to_have_attribute("data-call-id", re.compile(r"\d+"))
    first_call = await call_state.get_attribute("data-call-id")
    await expect(desk.by("case-account")).to_have_text(cases[-1].account_ref)  # the largest amount first
    await expect(desk.by("whisper-text")).to_contain_text("受招商银行委托")
    await expect(desk.page.locator("button.dial")).to_have_count(0)  # no Dial buttons in progressive mode: the engine dials
    # the card is the held case's full card: each number with the policy's verdict (during the call the
    # agent's own open call refuses a second one, so allowed or refused depends on the moment)
    await expect(desk.page.locator("[data-testid^='number-status-']").first).to_have_attribute(
        "class", re.compile(r"^(allowed|refused)$"))
    await expect(desk.by("agent-state")).to_have_attribute("data-state", "wrap_up")  # the party hung up
    await expect(call_state).to_have_attribute("data-state", "completed")
    await expect(desk.by("wrapup-form")).to_be_visible()
    await expect(desk.by("wrapup-contact_name")).to_have_value("张三")

    await desk.by("wrapup-disposition").select_option("refused")
    await desk.by("wrapup-result").fill("拒绝还款，称下月再说")
    await desk.by("wrapup-next_action").fill("一周后再跟进")
    await desk.by("wrapup-save").click()

    await expect(desk.by("wrapup-form")).to_be_hidden()
    await expect(call_state).not_to_have_attribute("data-call-id", first_call)  # the next call, by itself
    await expect(desk.by("case-account")).not_to_have_text(cases[-1].account_ref)
    await expect(desk.by("whisper-text")).to_contain_text("受招商银行委托")
    await expect(desk.by("agent-state")).to_have_attribute("data-state", "wrap_up")
    assert desk.errors == []
