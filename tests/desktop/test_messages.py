"""The desktop speaks the agent's language about the service's refusals too: a refusal's stable code
is shown in Chinese by default, and the service's own English text on the switch."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from dialer.agents.models import AgentSession, AgentState
from dialer.auth.models import Role
from tests.desktop.conftest import open_desktop
from tests.e2e.conftest import PASSWORD
from tests.factories import make_seat, make_user

pytestmark = pytest.mark.timeout(180)


async def test_given_a_seat_another_agent_is_at_then_the_refusal_is_chinese_then_english_on_the_switch(
        live_factory, browser, session):
    agent = await make_user(session, role=Role.AGENT, team="team-m")
    other = await make_user(session, role=Role.AGENT, team="team-m")
    seat = await make_seat(session, team="team-m")
    session.add(AgentSession(agent_id=other.id, seat_id=seat.id, state=AgentState.NOT_READY))
    await session.commit()
    desk = await open_desktop(browser, live_factory())
    await desk.by("login-username").fill(agent.username)
    await desk.by("login-password").fill(PASSWORD)
    await desk.by("login-submit").click()
    await expect(desk.by("seat-select")).to_be_visible()
    await desk.by("seat-select").select_option(str(seat.id))

    await desk.by("seat-login").click()

    await expect(desk.by("seat-error")).to_have_text("该坐席已有其他人员签入，请选择其他坐席")
    await desk.by("lang-toggle").click()
    await desk.by("seat-login").click()
    await expect(desk.by("seat-error")).to_have_text(f"seat {seat.code} is in use by another agent")
    assert desk.errors == []
