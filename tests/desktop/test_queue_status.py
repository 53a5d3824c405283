"""When nothing is callable the desktop says why, in the agent's language: the calling window closed
until when and in which zone, and what else holds the cases back — in preview after "Next case" found
nothing, and in progressive mode while the engine finds nothing."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import expect

from dialer.auth.models import Role
from dialer.campaigns.models import Campaign, CampaignStatus, DialMode
from tests.desktop.conftest import open_desktop
from tests.factories import make_case, make_client, make_seat, make_user
from tests.worklist.helpers import stop_debtor

pytestmark = pytest.mark.timeout(180)

SH = ZoneInfo("Asia/Shanghai")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def closed_window() -> tuple[dict, str]:
    """A client's policy whose calling window is one hour a day starting three hours from now in
    Shanghai (closed at the test's clock, the wall clock the live service runs on), and that hour."""
    start = (dt.datetime.now(SH).hour + 3) % 24
    day = [{"start": f"{start:02d}:00", "end": "24:00" if start == 23 else f"{start + 1:02d}:00"}]
    window = {"weekdays": {d: day for d in DAYS}, "on_calendar_holidays": day}
    return {"calling_window": window}, f"{start:02d}:00"


async def test_given_the_window_closed_then_a_preview_agent_is_told_until_when_and_in_which_zone(
        live_factory, browser, session):
    overrides, opens = closed_window()
    client = await make_client(session, name="招商银行", overrides=overrides)
    agent = await make_user(session, role=Role.AGENT, team="team-w")
    seat = await make_seat(session, team="team-w")
    for i in range(2):
        await make_case(session, client=client, team="team-w", debtor_numbers=(f"+861380000{i:04d}",))
    await stop_debtor(session, await make_case(session, client=client, team="team-w",
                                               debtor_numbers=("+8613800009999",)))
    await session.commit()
    desk = await open_desktop(browser, live_factory())
    await desk.sign_in(agent.username, seat_id=seat.id)

    await desk.page.keyboard.press("F2")  # ready: "Next case" finds nothing the policy allows now

    await expect(desk.by("case-empty")).to_have_text("当前没有可拨打的案件，请稍后点击“下一案件”。")
    why = desk.by("queue-status")
    await expect(why).to_have_text(re.compile(
        rf"^通话时段已结束：最早 (\d{{4}}/\d{{2}}/\d{{2}} )?{opens}（Asia/Shanghai）可再拨打 · 1 个案件因停止联系要求暂缓$"))
    await desk.by("lang-toggle").click()
    await expect(why).to_have_text(re.compile(
        rf"^Calling window closed: next at (\d{{2}}/\d{{2}}/\d{{4}} )?{opens} \(Asia/Shanghai\)"
        r" · 1 case set aside by stop-contact requests$"))
    await desk.by("ready-toggle").click()  # not ready: the explanation goes with the empty queue
    await expect(why).to_be_hidden()
    assert desk.errors == []


async def test_given_the_window_closed_then_a_progressive_agent_is_told_why_the_engine_dials_nothing(
        live_factory, browser, session):
    overrides, opens = closed_window()
    client = await make_client(session, name="招商银行", overrides=overrides)
    agent = await make_user(session, role=Role.AGENT, team="team-v")
    seat = await make_seat(session, team="team-v")
    for i in range(3):
        await make_case(session, client=client, team="team-v", debtor_numbers=(f"+861390001{i:03d}",))
    session.add(Campaign(client_id=client.id, name="night", mode=DialMode.PROGRESSIVE, status=CampaignStatus.RUNNING,
                         team="team-v"))
    await session.commit()
    desk = await open_desktop(browser, live_factory())
    await desk.sign_in(agent.username, seat_id=seat.id, mode="progressive")

    await desk.page.keyboard.press("F2")  # ready: the engine finds nothing and sets the cases aside

    await expect(desk.by("agent-state")).to_have_attribute("data-state", "ready")
    await expect(desk.by("case-empty")).to_have_text("等待系统自动拨号…")
    await expect(desk.by("queue-status")).to_have_text(re.compile(
        rf"^通话时段已结束：最早 (\d{{4}}/\d{{2}}/\d{{2}} )?{opens}（Asia/Shanghai）可再拨打$"))
    await expect(desk.by("call-panel")).to_be_hidden()
    assert desk.errors == []
