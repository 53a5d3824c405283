"""The supervisor board's page (``/board``) in headless Chromium against the live service and the
Twilio emulator: a supervisor sees their own team's floor change live, joins a bridged call from
their seat to monitor and switches to whisper; a long not-ready agent is flagged; an agent is
refused; the language switch shows English; a board whose connection is cut catches up."""

from __future__ import annotations

import asyncio
import datetime as dt
import re

import pytest
from playwright.async_api import Page, expect
from sqlalchemy import update

from dialer.agents.models import AgentSession
from dialer.auth.models import Role
from dialer.campaigns.models import Campaign, CampaignStatus
from dialer.kit.types import utcnow
from dialer.seats.models import Seat
from tests.desktop.conftest import TIMEOUT_MS
from tests.e2e.conftest import DEBTOR, PASSWORD, eventually, seat_agent_with_case, seat_of
from tests.factories import make_client, make_seat, make_user

pytestmark = pytest.mark.timeout(120)

STAYS = {"behaviour": "answer", "ring_seconds": 0.5, "hangup_first": "caller"}
"""Answers, and stays on the line until the other side hangs up."""


async def _open_board(browser, url: str) -> tuple[Page, list[str]]:
    context = await browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: print(f"console.{message.type}: {message.text}"))  # shown on failure
    await page.goto(f"{url}/board")
    return page, errors


async def _sign_in(page: Page, username: str) -> None:
    await page.get_by_test_id("login-username").fill(username)
    await page.get_by_test_id("login-password").fill(PASSWORD)
    await page.get_by_test_id("login-submit").click()


class Relay:
    """A TCP relay in front of the service whose open connections a test cuts at once, as a load
    balancer losing the replica behind it would: the board reconnects and catches up."""

    def __init__(self, port: int) -> None:
        self._port = port
        self._open: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self.url = ""

    async def __aenter__(self) -> Relay:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        self.cut()

    def cut(self) -> None:
        for writer in list(self._open):
            writer.transport.abort()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._port)
        self._open |= {writer, up_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except OSError:
                pass
            finally:
                sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._open -= {writer, up_writer}


def _legs(live, call_id: int) -> list:
    """The emulator's participants in the call's conference."""
    emulator = live.emulator.emulator
    return [participant for conference in emulator.conferences.values()
            if conference.friendly_name == f"call-{call_id}" for participant in emulator.rooms.participants(conference)]


def _participant(live, call_id: int, sid: str):
    return next((p for p in _legs(live, call_id) if p.call_sid == sid), None)


def _connected(live, call_id: int):
    """The supervisor's leg (the one muted participant) once connected to the call's conference."""
    return next((p for p in _legs(live, call_id) if p.muted and p.status == "connected"), None)


async def test_given_two_teams_then_the_supervisor_follows_their_floor_live_and_monitors_then_whispers_a_call(
        live_factory, browser, session):
    mine = await seat_agent_with_case(session, ready=False, team="team-a")
    theirs = await seat_agent_with_case(session, ready=False, team="team-b")
    await make_user(session, username="sup-a", role=Role.SUPERVISOR, team="team-a")
    booth = await make_seat(session, code="SUP-A1", team="team-a")
    client = await make_client(session, name="工商银行")
    campaign = Campaign(client_id=client.id, name="十二月渐进", team="team-a")
    session.add_all([campaign, Campaign(client_id=client.id, name="乙组活动", team="team-b")])
    await session.commit()
    live = live_factory(numbers={DEBTOR: STAYS, seat_of(mine.seat_identity): STAYS,
                                 seat_of(booth.softphone_identity): STAYS})
    agent_token = await live.login(mine.username)
    page, errors = await _open_board(browser, live.url)
    by = page.get_by_test_id

    # given: signed in, the supervisor sees their own team only, in Chinese
    await _sign_in(page, "sup-a")
    row = by(f"agent-{mine.agent_id}")
    await expect(row).to_be_visible()
    await expect(page).to_have_title("催收主管看板")
    await expect(by(f"agent-{theirs.agent_id}")).to_have_count(0)
    await expect(row.get_by_test_id("state")).to_have_text("未就绪")
    await expect(row.get_by_test_id("seat")).to_have_text(await _seat_code(session, mine.seat_id))
    await expect(by("count-not_ready")).to_contain_text("1")
    await expect(by("live")).to_have_attribute("data-live", "true")
    await expect(by("campaigns").locator("li")).to_have_count(1)  # the other team's campaign is not theirs

    # when the agent goes ready on their desktop: the row follows, no reload
    async with live.client(agent_token) as desk:
        assert (await desk.post("/v1/agent/state", json={"state": "ready"})).status_code == 200
        await expect(row.get_by_test_id("state")).to_have_attribute("data-state", "ready")
        await expect(row.get_by_test_id("state")).to_have_text("就绪")
        await expect(by("count-ready")).to_contain_text("1")

        # and dials: the call shows on the row, then bridged with the supervise buttons
        dialed = await desk.post("/v1/calls", json={"number_id": mine.number_id})
        assert dialed.status_code == 201, dialed.text
        call_id = dialed.json()["id"]
        await expect(row.get_by_test_id("call-state")).to_have_attribute("data-state", "bridged")
        await expect(row.get_by_test_id("call-state")).to_have_text("已接通")
        await expect(row.get_by_test_id("call-party")).to_have_text("债务人（本人）")
        await expect(row.get_by_test_id("state")).to_have_text("通话中")
        await expect(row.get_by_test_id("call-duration")).to_have_text(re.compile(r"^\d\d:\d\d$"))

        # no seat chosen and none logged in at: the service's refusal, in words
        await row.get_by_test_id("monitor").click()
        await expect(row.get_by_test_id("row-error")).to_have_text(re.compile("请先在上方“我的坐席”中选择"))
        await expect(row.get_by_test_id("supervising")).to_have_count(0)

        # then from their own seat: monitor, the mode on the row, the carrier's leg muted
        await by("my-seat").select_option(str(booth.id))
        await row.get_by_test_id("monitor").click()
        await expect(row.get_by_test_id("supervising")).to_have_attribute("data-mode", "monitor")
        await expect(row.get_by_test_id("supervising")).to_have_text("您正在监听")
        await expect(row.get_by_test_id("row-error")).to_be_empty()
        await expect(row.get_by_test_id("monitor")).to_have_attribute("aria-pressed", "true")
        leg = await eventually(lambda: _connected(live, call_id), what="the supervisor's leg")
        assert (leg.muted, leg.coaching) == (True, False)

        # switched to whisper from the keyboard: the row says so, the leg coaches the agent
        await row.get_by_test_id("whisper").focus()
        await page.keyboard.press("Enter")
        await expect(row.get_by_test_id("supervising")).to_have_attribute("data-mode", "whisper")
        await expect(row.get_by_test_id("supervising")).to_have_text("您正在密语")
        await eventually(lambda: _participant(live, call_id, leg.call_sid).coaching, what="coaching")

        # the campaign strip: started from the board
        strip = by(f"campaign-{campaign.id}")
        await expect(strip.get_by_test_id("campaign-status")).to_have_text("已暂停")
        await strip.get_by_test_id("campaign-start").click()
        await expect(strip.get_by_test_id("campaign-status")).to_have_text("运行中")
        await expect(strip.get_by_test_id("campaign-start")).to_be_disabled()
        listed = {c["id"]: c["status"] for c in (await desk.get("/v1/campaigns")).json()}
        assert listed[campaign.id] == CampaignStatus.RUNNING

        # the English switch: the same floor in English
        await by("lang-toggle").click()
        await expect(page).to_have_title("Supervisor board")
        await expect(row.get_by_test_id("supervising")).to_have_text("You are on this call: Whisper")
        await expect(row.get_by_test_id("state")).to_have_text("On a call")
        await expect(row.get_by_test_id("call-party")).to_have_text("Debtor (Self)")
        await expect(strip.get_by_test_id("campaign-status")).to_have_text("Running")
        await expect(by("nav-calls")).to_have_text("Calls")
        await expect(by("nav-calls")).to_have_attribute("href", "/board/calls")
        await expect(by("nav-stats")).to_have_text("Statistics")

        # a reload keeps the mode (the service keeps the supervision on the call); then Leave: the
        # supervision ends, the supervisor's leg is hung up, the buttons offer joining again
        await page.evaluate("sessionStorage.removeItem('board.supervising')")
        await page.reload()
        await expect(row.get_by_test_id("supervising")).to_have_attribute("data-mode", "whisper")
        await row.get_by_test_id("leave").click()
        await expect(row.get_by_test_id("supervising")).to_have_count(0)
        await expect(row.get_by_test_id("leave")).to_have_count(0)
        await expect(row.get_by_test_id("monitor")).to_be_enabled()
        await eventually(lambda: getattr(_participant(live, call_id, leg.call_sid), "status", None) != "connected",
                         what="the supervisor's leg hung up")
        async with live.client(await live.login("sup-a")) as boss:
            kept = (await boss.get(f"/v1/calls/{call_id}/supervisors")).json()
        assert [(k["mode"], k["ended_by"]) for k in kept] == [("whisper", "left")]

        # when the agent hangs up: wrap-up on the row, nothing left to join
        assert (await desk.post(f"/v1/calls/{call_id}/hang-up")).status_code == 200
        await expect(row.get_by_test_id("state")).to_have_text("Wrap-up")
        await expect(row.get_by_test_id("monitor")).to_have_count(0)
        await expect(row.get_by_test_id("supervising")).to_have_count(0)
    assert errors == []


async def _seat_code(session, seat_id: int) -> str:
    return (await session.get(Seat, seat_id)).code


async def test_given_a_long_not_ready_agent_then_the_board_alerts_refuses_an_agent_and_catches_up_after_a_cut(
        live_factory, browser, session):
    idle = await seat_agent_with_case(session, ready=False, team="team-a")
    busy = await seat_agent_with_case(session, ready=True, team="team-a")
    await session.execute(update(AgentSession).where(AgentSession.agent_id == idle.agent_id)
                          .values(state_since=utcnow() - dt.timedelta(minutes=20)))  # over the 15 minutes
    await make_user(session, username="sup-a", role=Role.SUPERVISOR, team="team-a")
    await session.commit()
    live = live_factory()
    async with Relay(live.server.port) as relay:
        page, errors = await _open_board(browser, relay.url)
        await _alerts_refusal_and_reconnect(page, live, relay, idle, busy)
    assert errors == []


async def _alerts_refusal_and_reconnect(page: Page, live, relay: Relay, idle, busy) -> None:
    by = page.get_by_test_id

    # an agent who signs in is refused, in words, and sees no floor
    await _sign_in(page, idle.username)
    await expect(by("login-error")).to_have_text("主管看板仅供主管和管理员使用，坐席账号无权访问。")
    await expect(by("floor")).to_be_hidden()

    # the supervisor: the long not-ready agent flagged on the row and in the alert panel
    await _sign_in(page, "sup-a")
    row = by(f"agent-{idle.agent_id}")
    await expect(row).to_have_attribute("data-alert", "long_not_ready")
    await expect(row.get_by_test_id("alert-flag")).to_have_text("未就绪过长")
    await expect(row.get_by_test_id("since")).to_have_text(re.compile(r"^2\d:\d\d$"))
    alert = by(f"alert-{idle.agent_id}")
    await expect(alert).to_contain_text("未就绪过长")
    await expect(alert).to_contain_text("上限 15:00")
    await expect(by(f"alert-{busy.agent_id}")).to_have_count(0)
    await expect(by(f"agent-{busy.agent_id}")).to_have_attribute("data-alert", "")
    await expect(by("alerts-count")).to_have_text("1")

    await by("lang-toggle").focus()  # the switch, from the keyboard
    await page.keyboard.press("Enter")
    await expect(alert).to_contain_text("Long not ready")
    await expect(row.get_by_test_id("state")).to_have_text("Not ready")
    await expect(page.locator("#alerts-h")).to_contain_text("Alerts")

    # when the agent goes ready: the alert is gone, live
    async with live.client(await live.login(idle.username)) as desk:
        assert (await desk.post("/v1/agent/state", json={"state": "ready"})).status_code == 200
        await expect(row.get_by_test_id("state")).to_have_text("Ready")
        await expect(alert).to_have_count(0)
        await expect(row).to_have_attribute("data-alert", "")
        await expect(by("alerts-empty")).to_have_text("No alerts")

        # the connection cut: what happened meanwhile shows once the board is back, resumed after the last event
        streams: list[str] = []
        page.on("request", lambda request: streams.append(request.url) if "/v1/board/events" in request.url else None)
        relay.cut()
        answer = await desk.post("/v1/agent/state", json={"state": "not_ready", "reason": "lunch"})
        assert answer.status_code == 200
        await expect(row.get_by_test_id("state")).to_have_text("Not ready")
        await expect(row.get_by_test_id("reason")).to_have_text("Lunch")
        await expect(by("live")).to_have_attribute("data-live", "true")
    assert streams and all(re.search(r"[?&]after=\d+$", url) for url in streams), streams  # resumed, not afresh


async def test_given_a_refused_dial_and_a_party_at_its_cap_then_the_compliance_panel_shows_both(
        live_factory, browser, session):
    from sqlalchemy import select

    from dialer.cases.models import Case, PartyRole, PhoneNumber, Relation
    from dialer.clients.models import Client
    from dialer.compliance.models import Attempt, AttemptSource, StopContact, StopSource
    from tests.factories import make_case, make_party

    mine = await seat_agent_with_case(session, ready=True, team="team-a")
    await make_user(session, username="sup-c", role=Role.SUPERVISOR, team="team-a")
    case = await session.get(Case, mine.case_id)
    session.add(StopContact(client_id=case.client_id, case_id=case.id, party_id=mine.party_id,
                            source=StopSource.CLIENT_LIST, reason="客户要求停催"))  # the debtor: not to be called
    friend_case = await make_case(session, client=await session.get(Client, case.client_id), team="team-a")
    friend = await make_party(session, case=friend_case, role=PartyRole.THIRD_PARTY, relation=Relation.FRIEND,
                              name="王五", numbers=("+8613911112222",))
    number = (await session.execute(select(PhoneNumber).where(PhoneNumber.party_id == friend.id))).scalar_one()
    for minutes in (5, 15):  # two attempts this hour: the third party is at the hourly cap of two
        session.add(Attempt(client_id=friend_case.client_id, case_id=friend_case.id, party_id=friend.id,
                            number_id=number.id, started_at=utcnow() - dt.timedelta(minutes=minutes),
                            outcome="no_answer", source=AttemptSource.IMPORT))
    # a running campaign of the team with cases to call, and the agent ready for five minutes: idle with work
    session.add(Campaign(client_id=case.client_id, name="十二月", team="team-a", status=CampaignStatus.RUNNING))
    await session.execute(update(AgentSession).where(AgentSession.agent_id == mine.agent_id)
                          .values(state_since=utcnow() - dt.timedelta(minutes=5)))
    await session.commit()
    live = live_factory()
    page, errors = await _open_board(browser, live.url)
    by = page.get_by_test_id
    await _sign_in(page, "sup-c")
    await expect(by(f"alert-{mine.agent_id}")).to_have_attribute("data-kind", "idle_with_work")
    await expect(by(f"alert-{mine.agent_id}")).to_contain_text("有案件待拨却空闲")
    await expect(by("campaigns").get_by_test_id("campaign-work")).to_contain_text("待拨")

    # the party at its cap, read on sign-in
    at_cap = by("pressure").locator(f"li[data-party='{friend.id}']")
    await expect(at_cap).to_have_attribute("data-rule", "third_party_hourly_cap")
    await expect(at_cap).to_contain_text("已达上限（2/2）")

    # the agent dials the stopped debtor: refused, and the refusal reaches the feed live
    async with live.client(await live.login(mine.username)) as desk:
        refused = await desk.post("/v1/calls", json={"number_id": mine.number_id})
    assert refused.status_code == 409 and refused.json()["error"] == "policy_blocked"
    entry = by("feed").locator("li[data-kind='refusal']")
    await expect(entry).to_contain_text(f"案件{mine.case_id}")
    await expect(entry).to_contain_text("stop_contact")
    await by("lang-toggle").click()
    await expect(entry).to_contain_text(f"refused: case {mine.case_id} (debtor)")
    await expect(at_cap).to_contain_text("at the cap (2/2)")
    assert errors == []
