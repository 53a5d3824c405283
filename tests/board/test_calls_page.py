"""The board's calls page (``/board/calls``) in headless Chromium against the live service, on the call
history of ``tests/calls_history`` (two teams' calls): a supervisor filters their team's calls, opens one
and reads its timeline, the decision that allowed it, whisper, note and promise, and plays its recording
(stereo, seeking, one side at a time) — a listen the recordings API audited; an agent is refused; an
admin pages on and filters by team and party role (the API's filters); the language switch shows English."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from playwright.async_api import Page, expect
from sqlalchemy import select

from dialer.audit.models import AuditEntry
from dialer.calls.models import Call, CallOutcome, CallState, Direction, Recording, RecordingStatus
from dialer.compliance.models import Channel, Decision
from dialer.notes.models import PromiseToPay
from dialer.policy.document import RULES
from tests.calls_history.conftest import T0, Floor, floor  # noqa: F401
from tests.desktop.conftest import TIMEOUT_MS
from tests.e2e.conftest import PASSWORD, eventually
from tests.recordings_api.conftest import wav

pytestmark = pytest.mark.timeout(120)

WHISPER = "本次通话对象：债务人（本人）。您是受银行甲委托的催收公司工作人员。"
TEAM_A = ("a1_debtor", "a1_friend", "a2_busy", "a1_inbound", "b3_on_a", "a2_tie")
"""The calls of team-a (its agents' and those on its case), as the supervisor of team-a sees them."""


async def _seed_the_answered_call(app, floor: Floor) -> int:  # noqa: F811
    """Call ``a1_debtor`` as a dial leaves it: the decision that allowed it (every rule of the policy,
    one of them off), its whisper, a promise, and its stored recording — 10 s of two-channel WAV in
    the service's storage. Returns the recording's id."""
    stored = await app.state.container.storage.put(wav(seconds=10.0))
    async with app.state.container.sessions() as s:
        call = await s.get(Call, floor.calls["a1_debtor"])
        results = {rule.id: "pass" for rule in RULES}
        results["us_7_in_7"] = "off"
        decision = Decision(client_id=call.client_id, policy_version=3, case_id=call.case_id, party_id=call.party_id,
                            number_id=call.number_id, agent_id=call.agent_id, channel=Channel.CALL,
                            at=T0 - dt.timedelta(seconds=1), allowed=True, dry_run=False, violations=[],
                            rule_results=results)
        s.add(decision)
        await s.flush()
        call.decision_id, call.whisper_text = decision.id, WHISPER
        s.add(PromiseToPay(case_id=call.case_id, call_id=call.id, party_id=call.party_id, amount=Decimal("15800.00"),
                           due_date=dt.date(2026, 12, 1), created_by_id=call.agent_id))
        recording = (await s.execute(select(Recording).where(Recording.call_id == call.id,
                                                             Recording.status == RecordingStatus.STORED))).scalar_one()
        recording.sha256, recording.size_bytes, recording.content_type = stored.sha256, stored.size_bytes, "audio/wav"
        recording.duration_s, recording.stored_at = 10, T0 + dt.timedelta(minutes=3)
        await s.commit()
        return recording.id


async def _open(browser, url: str) -> tuple[Page, list[str]]:
    context = await browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: print(f"console.{message.type}: {message.text}"))  # shown on failure
    await page.goto(f"{url}/board/calls")
    return page, errors


async def _sign_in(page: Page, username: str) -> None:
    await page.get_by_test_id("login-username").fill(username)
    await page.get_by_test_id("login-password").fill(PASSWORD)
    await page.get_by_test_id("login-submit").click()


async def _listed(page: Page, floor: Floor, *names: str) -> None:  # noqa: F811
    """The list shows exactly these calls, newest first."""
    rows = page.locator("#call-rows > tr")
    wanted = sorted(floor.ids(*names), reverse=True)  # the fixture's starts grow with its ids; a tie: by id
    await expect(rows).to_have_count(len(wanted))
    shown = [int(v) for v in await rows.evaluate_all("rows => rows.map(r => r.dataset.callId)")]
    assert shown == wanted


async def _filter(page: Page, **chosen: str) -> None:
    await page.get_by_test_id("f-reset").click()
    for testid, value in chosen.items():
        field = page.get_by_test_id(testid)
        if testid in ("f-from", "f-to"):
            await field.fill(value)
        else:
            await field.select_option(value)
    await page.get_by_test_id("f-apply").click()


async def _audio(page: Page, script: str):
    return await page.get_by_test_id("audio").evaluate(script)


async def test_given_two_teams_calls_then_the_supervisor_filters_theirs_opens_one_and_plays_its_recording(
        app, live_factory, browser, floor):  # noqa: F811
    recording_id = await _seed_the_answered_call(app, floor)
    live = live_factory()
    page, errors = await _open(browser, live.url)
    by = page.get_by_test_id

    # signed in: team-a's calls only, in Chinese; no team filter for a supervisor
    await _sign_in(page, "supervisor-1")
    await expect(page).to_have_title("通话记录与录音")
    await _listed(page, floor, *TEAM_A)
    await expect(by("list-count")).to_have_text("共 6 条")
    await expect(by("f-team")).to_be_hidden()
    row = by(f"call-{floor.calls['a1_debtor']}")
    await expect(row.get_by_test_id("agent")).to_have_text("Agent-1")
    await expect(row.get_by_test_id("party")).to_have_text("债务人（本人）")
    await expect(row.get_by_test_id("client")).to_have_text("银行甲")
    await expect(row.get_by_test_id("outcome")).to_have_text("已接通")
    await expect(row.get_by_test_id("duration")).to_have_text("02:00")
    await expect(row.get_by_test_id("disposition")).to_have_text("拒绝还款")
    await expect(row.get_by_test_id("recording")).to_contain_text("有录音")
    await expect(row.get_by_test_id("open")).to_have_text("2026/11/24 09:00:00")  # the browser's zone

    # filtered: by agent, by party role, by direction, by date
    agent2 = floor.users["agent-2"].id
    await _filter(page, **{"f-agent": str(agent2)})
    await _listed(page, floor, "a2_busy", "a2_tie")
    await _filter(page, **{"f-party": "third_party"})
    await _listed(page, floor, "a1_friend")
    await _filter(page, **{"f-direction": "inbound"})
    await _listed(page, floor, "a1_inbound")
    await _filter(page, **{"f-outcome": "no_answer", "f-from": "2026-11-24", "f-to": "2026-11-24"})
    await _listed(page, floor, "a1_friend", "b3_on_a")
    await _filter(page, **{"f-from": "2026-11-25"})
    await expect(by("list-empty")).to_have_text("没有符合条件的通话")
    await _filter(page)
    await _listed(page, floor, *TEAM_A)

    # the call opened from the keyboard: its facts, decision, whisper, note, promise and timeline
    await row.get_by_test_id("open").focus()
    await page.keyboard.press("Enter")
    panel = by("call-panel")
    await expect(by("call-title")).to_have_text(f"通话 #{floor.calls['a1_debtor']}")
    await expect(by("call-title")).to_be_focused()
    await expect(by("fact-agent")).to_have_text("Agent-1 · team-a")
    await expect(by("decision-allowed")).to_have_text("允许拨打")
    await expect(by("decision-policy")).to_have_text("政策版本 3")
    for rule in RULES:  # the page's names of the rules are the policy's
        await expect(by(f"rule-{rule.id}").get_by_test_id("rule-name")).to_have_text(rule.name_zh)
    await expect(by("rule-us_7_in_7").get_by_test_id("rule-result")).to_have_text("未启用")
    await expect(by("rule-calling_window").get_by_test_id("rule-result")).to_have_text("通过")
    await expect(by("decision")).not_to_contain_text("null")
    await expect(by("whisper")).to_have_text(WHISPER)
    await expect(by("note-disposition")).to_have_text("拒绝还款")
    await expect(by("note-contact_name")).to_have_text("张三")
    await expect(by("promises").get_by_test_id("amount")).to_have_text("15800.00")
    await expect(by("promises").get_by_test_id("due")).to_have_text("2026-12-01")
    events = by("timeline").locator("li")
    kinds = await events.evaluate_all("items => items.map(li => li.dataset.source + ':' + li.dataset.kind)")
    assert kinds[:3] == ["compliance:allowed", "state:requested", "state:answered"], kinds
    assert {"state:completed", "recording:noted", "recording:stored", "note:wrap_up", "promise:promise_made"} <= set(kinds)
    first = events.nth(0)
    await expect(first.get_by_test_id("event-time")).to_have_text("08:59:59")
    await expect(first.get_by_test_id("event-kind")).to_have_text("合规允许拨打")
    await expect(events.nth(2).get_by_test_id("event-kind")).to_have_text("接听")
    await expect(panel.locator('li[data-kind="stored"]')).to_contain_text("录音已存储")

    # the recording: fetched with the token, played, sought; its channels are the recording's own
    recordings = by("recordings")
    await expect(by(f"recording-{recording_id}")).to_contain_text("已存储")
    await expect(recordings.get_by_test_id("listen")).to_have_count(1)  # the pending one cannot be played
    await recordings.get_by_test_id("listen").click()
    await expect(by("audio")).to_be_focused()
    await expect(by("player-status")).to_contain_text(f"录音 #{recording_id} 已载入")
    await page.wait_for_function("a => a.duration > 9.9 && a.currentTime > 0.2", arg=await by("audio").element_handle())
    await by("forward").click()
    assert await _audio(page, "a => a.currentTime") >= 5.0
    await by("back").click()
    assert await _audio(page, "a => a.currentTime") < 5.0
    player = by("player")
    await expect(player).to_have_attribute("data-channels", "1,2")
    await by("ch-agent").check()  # Twilio's file: the party on channel 1, the agent on 2
    await expect(player).to_have_attribute("data-channels", "2,2")
    await page.keyboard.press("ArrowRight")  # the radio group, from the keyboard: the party alone
    await expect(by("ch-party")).to_be_checked()
    await expect(player).to_have_attribute("data-channels", "1,1")
    assert not await _audio(page, "a => a.paused")

    # the listen is in the audit log, by the supervisor, as the recordings API answered it
    async def listened() -> list[AuditEntry]:
        async with app.state.container.sessions() as s:
            return list((await s.execute(select(AuditEntry).where(
                AuditEntry.action == "recording.media", AuditEntry.entity_id == str(recording_id)))).scalars())
    [entry] = await eventually(listened, what="the listen's audit row")
    assert (entry.actor_id, entry.actor_role) == (floor.users["supervisor"].id, "supervisor")
    assert (entry.detail["status"], entry.detail["via"], entry.detail["method"]) == (200, "token", "GET")

    # the English switch: the same page in English
    await by("lang-toggle").click()
    await expect(page).to_have_title("Calls and recordings")
    await expect(by("decision-allowed")).to_have_text("Allowed")
    await expect(by("decision-policy")).to_have_text("policy version 3")
    await expect(by("rule-calling_window").get_by_test_id("rule-name")).to_have_text("Calling window")
    await expect(first.get_by_test_id("event-kind")).to_have_text("Allowed by the policy")
    await expect(by("note-disposition")).to_have_text("Refused to pay")
    await expect(row.get_by_test_id("party")).to_have_text("Debtor (Self)")
    await expect(by("list-count")).to_have_text("6 calls")
    await expect(by("ch-agent").locator("xpath=..")).to_have_text("Agent only")

    # closed with Escape: the keyboard back on the call's row
    await by("call-title").focus()
    await page.keyboard.press("Escape")
    await expect(panel).to_be_hidden()
    await expect(row.get_by_test_id("open")).to_be_focused()
    assert await _audio(page, "a => a.paused")
    assert errors == []


async def _older_calls(app, floor: Floor, count: int) -> None:  # noqa: F811
    """``count`` unanswered calls of agent-2 to case A's friend, before every call of the fixture."""
    async with app.state.container.sessions() as s:
        s.add_all(Call(direction=Direction.OUTBOUND, carrier="twilio", state=CallState.NO_ANSWER,
                       outcome=CallOutcome.NO_ANSWER, client_id=floor.client_a, case_id=floor.case_a,
                       party_id=floor.friend_a, agent_id=floor.users["agent-2"].id,
                       requested_at=T0 - dt.timedelta(minutes=n + 1)) for n in range(count))
        await s.commit()


async def test_given_an_agent_then_refused_and_an_admin_pages_on_and_filters_by_team_and_party(
        app, live_factory, browser, floor):  # noqa: F811
    await _older_calls(app, floor, 50)
    live = live_factory()
    page, errors = await _open(browser, live.url)
    by = page.get_by_test_id

    # an agent is refused, in words, and sees no call
    await _sign_in(page, "agent-1")
    await expect(by("login-error")).to_have_text("通话记录仅供主管、管理员和审计人员使用，坐席账号无权访问。")
    await expect(by("calls")).to_be_hidden()
    await by("lang-toggle").click()
    await expect(by("login-error")).to_have_text(
        "The call history is for supervisors, admins and auditors; an agent account cannot open it.")

    # an admin: every call, a page of 50 and then the rest
    await _sign_in(page, "admin-1")
    rows = page.locator("#call-rows > tr")
    await expect(rows).to_have_count(50)
    await expect(by("list-count")).to_have_text("50 shown, more to come")
    await by("more").click()
    await expect(rows).to_have_count(58)
    await expect(by("list-count")).to_have_text("58 calls")
    await expect(by("more")).to_be_hidden()
    shown = await rows.evaluate_all("rows => rows.map(r => Number(r.dataset.callId))")
    assert shown[:8] == sorted(floor.calls.values(), reverse=True) and len(set(shown)) == 58

    # the party role (the API's filter): every third-party call, a page of 50 and then the last
    await _filter(page, **{"f-party": "third_party"})
    await expect(rows).to_have_count(50)
    await by("more").click()
    await expect(rows).to_have_count(51)
    await expect(page.locator("#call-rows [data-testid=party]")).to_have_text(["Third party (Friend)"] * 51)
    await expect(by("more")).to_be_hidden()

    # and a team's calls (its agents' and those on its cases)
    await expect(by("f-team")).to_be_visible()
    await _filter(page, **{"f-team": "team-b"})
    await _listed(page, floor, "b3_done", "b_missed", "b3_on_a")
    await expect(by(f"call-{floor.calls['b_missed']}").get_by_test_id("agent")).to_have_text("(nobody took it)")
    assert errors == []

    # an auditor reads every team's calls too (and may filter by team)
    audit, audit_errors = await _open(browser, live.url)
    await _sign_in(audit, "auditor-1")
    await expect(audit.locator("#call-rows > tr")).to_have_count(50)
    await expect(audit.get_by_test_id("f-team")).to_be_visible()
    assert audit_errors == []
