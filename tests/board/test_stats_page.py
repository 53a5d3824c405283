"""The board's statistics page (``/board/stats``, 催收记录统计表) in headless Chromium against the live
service: an agent is refused; a supervisor sees their own team's table for a day, drawn as charts by
the locally served ECharts, then a range with its per-day line, downloads the workbook, and reads it
all in English."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.async_api import Page, expect

from dialer.auth.models import Role
from dialer.notes.models import Payment, PromiseStatus
from tests.desktop.conftest import TIMEOUT_MS
from tests.e2e.conftest import PASSWORD
from tests.factories import make_case, make_client, make_user
from tests.scheduling.helpers import make_call, make_promise, sh

pytestmark = pytest.mark.timeout(90)

DAY = "2026-11-24"

CHART = """(id) => {
  const el = document.getElementById(id);
  const chart = echarts.getInstanceByDom(el);
  const canvas = el.querySelector('canvas');
  if (!chart || !canvas || !canvas.width || !canvas.height) return null;
  const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i]) painted += 1;
  const option = chart.getOption();
  return { painted, axis: option.xAxis[0].data, series: option.series.map((s) => ({ name: s.name, data: s.data })) };
}"""
"""An ECharts instance on the element, its canvas and how many of its pixels are painted, and the
option it draws."""


async def _seed(session) -> dict[str, int]:
    """team-a: wang (3 calls, 2 answered, on the day; one more the day before and after) and zhao (1,
    unanswered); team-b: li. A promise taken and one kept with its payment, on the day."""
    client = await make_client(session)
    wang = await make_user(session, username="wang", team="team-a")
    zhao = await make_user(session, username="zhao", team="team-a")
    li = await make_user(session, username="li", team="team-b")
    await make_user(session, username="sup-a", role=Role.SUPERVISOR, team="team-a")
    await make_user(session, username="agent-x", role=Role.AGENT, team="team-a")
    case = await make_case(session, client=client, assigned_agent=wang)
    other = await make_case(session, client=client, assigned_agent=zhao)
    for hour, answered in ((9, True), (10, True), (11, False)):
        await make_call(session, case=case, agent_id=wang.id, at=sh(2026, 11, 24, hour), answered=answered, talk_s=90)
    await make_call(session, case=case, agent_id=wang.id, at=sh(2026, 11, 23, 9), answered=True, talk_s=30)
    await make_call(session, case=case, agent_id=wang.id, at=sh(2026, 11, 25, 9))
    await make_call(session, case=other, agent_id=zhao.id, at=sh(2026, 11, 24, 14))
    await make_call(session, case=other, agent_id=li.id, at=sh(2026, 11, 24, 15), answered=True)
    await make_promise(session, case=case, due_date=dt.date(2026, 11, 30), amount="1500.00",
                       created_at=sh(2026, 11, 24, 9, 5), created_by_id=wang.id)
    kept = await make_promise(session, case=case, due_date=dt.date(2026, 11, 24), amount="800.00",
                              created_at=sh(2026, 11, 20, 9), created_by_id=wang.id, status=PromiseStatus.KEPT,
                              settled_at=sh(2026, 11, 24, 13))
    session.add(Payment(client_id=client.id, case_id=case.id, promise_id=kept.id, amount=Decimal("800.00"),
                        paid_at=sh(2026, 11, 24, 13), reference="T1"))
    await session.commit()
    return {"wang": wang.id, "zhao": zhao.id, "li": li.id}


async def _sign_in(page: Page, username: str) -> None:
    await page.get_by_test_id("login-username").fill(username)
    await page.get_by_test_id("login-password").fill(PASSWORD)
    await page.get_by_test_id("login-submit").click()


async def _drawn(page: Page, chart_id: str) -> dict:
    handle = await page.wait_for_function(f"({CHART})('{chart_id}')", timeout=TIMEOUT_MS)
    drawn = await handle.json_value()
    assert drawn["painted"] > 0, chart_id
    return drawn


async def test_given_an_agent_then_refused_and_a_supervisor_sees_their_teams_day_and_range_as_table_charts_and_xlsx(
        live_factory, browser, session, tmp_path: Path):
    ids = await _seed(session)
    live = live_factory()
    context = await browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: print(f"console.{message.type}: {message.text}"))  # shown on failure
    by = page.get_by_test_id
    await page.goto(f"{live.url}/board/stats")
    await expect(page).to_have_title("催收记录统计表")

    # an agent is refused, in words, and sees no figures
    await _sign_in(page, "agent-x")
    await expect(by("login-error")).to_have_text("统计报表仅供主管和管理员使用，坐席账号无权访问。")
    await expect(page.locator("#stats-view")).to_be_hidden()

    # the supervisor: today's report first, then the day asked for, from the keyboard (Enter submits)
    await _sign_in(page, "sup-a")
    await expect(by("who")).to_have_text("Sup-A · 主管 · team-a")
    await expect(by("team")).to_be_hidden()  # a supervisor's report is their own team's
    await by("from").fill(DAY)
    await by("to").fill(DAY)
    await by("to").press("Enter")
    await expect(by("period")).to_have_text(DAY)
    wang, zhao = by(f"row-agent-{ids['wang']}"), by(f"row-agent-{ids['zhao']}")
    await expect(wang.get_by_test_id("cell-calls")).to_have_text("3")
    await expect(wang.get_by_test_id("cell-connects")).to_have_text("2")
    await expect(wang.get_by_test_id("cell-connect_rate")).to_have_text("66.7%")
    await expect(wang.get_by_test_id("cell-ptp_rate")).to_have_text("50.0%")
    await expect(wang.get_by_test_id("cell-collected")).to_have_text("800.00")
    await expect(wang.get_by_test_id("cell-talk_seconds")).to_have_text("0:03:00")
    await expect(zhao.get_by_test_id("cell-connect_rate")).to_have_text("0.0%")
    await expect(zhao.get_by_test_id("cell-kept_rate")).to_have_text("—")  # nothing settled: no rate
    await expect(by(f"row-agent-{ids['li']}")).to_have_count(0)  # another team's agent
    await expect(by("row-team-team-a").get_by_test_id("cell-name")).to_have_text("team-a 小计")
    await expect(by("row-total").get_by_test_id("cell-calls")).to_have_text("4")
    await expect(by("summary-connect_rate")).to_contain_text("50.0%")

    # the charts: ECharts instances on their elements, drawn, with the table's figures
    rates = await _drawn(page, "chart-rates")
    agents = rates["axis"]
    assert {"wang", "zhao"} <= set(agents) and "li" not in agents
    by_agent = {name: (rates["series"][0]["data"][i], rates["series"][1]["data"][i]) for i, name in enumerate(agents)}
    assert by_agent["wang"] == (66.7, 50) and by_agent["zhao"] == (0, "-")
    assert [s["name"] for s in rates["series"]] == ["接通率", "承诺率"]
    amounts = await _drawn(page, "chart-amounts")
    assert amounts["series"][1]["data"][agents.index("wang")] == 800

    # a range: the per-day line of calls and connects
    await by("from").fill("2026-11-23")
    await by("to").fill("2026-11-25")
    await by("apply").click()
    await expect(by("period")).to_have_text("2026-11-23 至 2026-11-25（共 3 天）")
    await expect(wang.get_by_test_id("cell-calls")).to_have_text("5")
    days = await _drawn(page, "chart-days")
    assert days["axis"] == ["2026-11-23", "2026-11-24", "2026-11-25"]
    assert [s["data"] for s in days["series"][:2]] == [[1, 4, 1], [1, 2, 0]]

    # the XLSX of the range shown, fetched with the token and saved from the page
    async with page.expect_download() as started:
        await by("download-xlsx").click()
    download = await started.value
    assert download.suggested_filename == "daily-2026-11-23_2026-11-25.xlsx"
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    book = load_workbook(io.BytesIO(saved.read_bytes()))
    assert book.sheetnames == ["催收记录统计表", "每日趋势"]
    header, *lines = book.active.iter_rows(values_only=True)
    rows = {line[header.index("坐席")]: dict(zip(header, line, strict=True)) for line in lines}
    assert rows["wang"]["拨打量"] == 5 and rows["wang"]["日期"] == "2026-11-23/2026-11-25"
    assert "li" not in rows
    await expect(by("flash")).to_contain_text("daily-2026-11-23_2026-11-25.xlsx")

    # one agent picked: the table and the charts show them (with their team and the total)
    await by("agent").select_option(str(ids["zhao"]))
    await expect(wang).to_have_count(0)
    await expect(zhao).to_be_visible()
    assert (await _drawn(page, "chart-rates"))["axis"] == ["zhao"]
    await by("agent").select_option("")

    # the English switch, from the keyboard: the words, the table and the charts in English
    await by("lang-toggle").focus()
    await page.keyboard.press("Enter")
    await expect(page).to_have_title("Collection statistics")
    await expect(by("period")).to_have_text("2026-11-23 to 2026-11-25 (3 days)")
    await expect(by("table")).to_contain_text("Connect rate")
    await expect(by("row-team-team-a").get_by_test_id("cell-name")).to_have_text("team-a subtotal")
    await expect(by("row-total").get_by_test_id("cell-name")).to_have_text("Total")
    await expect(by("download-xlsx")).to_have_text("Download Excel")
    english = await _drawn(page, "chart-rates")
    assert [s["name"] for s in english["series"]] == ["Connect rate", "PTP rate"]
    assert errors == []
