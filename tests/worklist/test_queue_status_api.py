"""Why the queue has nothing for the agent (GET /v1/agent/queue-status): the open cases in their scope,
those held by others, resting, skipped, and those the policy set aside by rule, with when the calling
window opens again and in which client zone."""

from __future__ import annotations

import datetime as dt


from dialer.cases.models import CaseStatus
from dialer.campaigns.models import Campaign, CampaignStatus, DialMode
from dialer.worklist.models import CaseSkip
from tests.factories import make_client
from tests.worklist.helpers import NOW, SH, queued_case, stop_debtor

LATE = dt.datetime(2026, 11, 24, 23, 0, tzinfo=SH)  # Tuesday night: the default window (08:00–22:00) is closed
MIDNIGHT = dt.datetime(2026, 11, 25, 0, 0, tzinfo=SH)
EIGHT = dt.datetime(2026, 11, 25, 8, 0, tzinfo=SH)




def _at(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value)


async def test_given_no_open_case_in_scope_then_all_counts_are_zero(app, api, desk, users):
    async with app.state.container.sessions() as s:
        client = await make_client(s)
        await queued_case(s, client=client, team="team-b")  # another team's
        await queued_case(s, client=client, assigned_agent=users["supervisor"])  # another agent's
        await queued_case(s, client=client, status=CaseStatus.SETTLED)  # not open
        await s.commit()

    response = await api.get("/v1/agent/queue-status", headers=desk)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {"mode": "preview", "campaigns": None, "open": 0, "callable": 0, "held": 0, "resting": 0,
                    "skipped": 0, "set_aside": 0, "next_allowed_at": None, "rules": [], "reasons": [], "window": []}


async def test_given_the_window_closed_then_next_is_null_and_the_status_says_until_when_and_in_which_zone(
        app, api, desk, users):
    app.state.container.clock = lambda: LATE.astimezone(dt.timezone.utc)
    async with app.state.container.sessions() as s:
        client = await make_client(s)  # the agency's default window, in Asia/Shanghai
        for _ in range(3):
            await queued_case(s, client=client)
        await stop_debtor(s, await queued_case(s, client=client))  # a stop-contact: only a person lifts it
        await queued_case(s, client=client, held_by_agent_id=users["supervisor"].id,
                          held_until=LATE + dt.timedelta(minutes=5))  # another agent holds it
        await queued_case(s, client=client, team="team-b")  # out of scope
        await s.commit()

    assert (await api.get("/v1/agent/next", headers=desk)).json() is None  # the queue sets them aside
    response = await api.get("/v1/agent/queue-status", headers=desk)

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["open"], body["callable"], body["held"], body["resting"], body["skipped"], body["set_aside"]) == (
        5, 0, 1, 0, 0, 4)
    recheck = LATE + dt.timedelta(hours=1)  # the stop-contact case is looked at again in an hour
    assert [(r["rule"], r["cases"], _at(r["next_allowed_at"])) for r in body["rules"]] == [
        ("calling_window", 4, recheck), ("stop_contact", 1, recheck)]
    assert [(r["reason"], r["cases"]) for r in body["reasons"]] == [("calling_window", 4), ("stops", 1)]
    # the window holds back the three others: it opens at 08:00 in the client's zone
    assert [(w["zone"], _at(w["opens_at"]), w["cases"]) for w in body["window"]] == [("Asia/Shanghai", EIGHT, 3)]
    assert _at(body["next_allowed_at"]) == recheck


async def test_given_caps_rests_skips_and_zones_then_each_is_counted_and_progressive_counts_its_campaigns(
        app, api, desk, users):
    me = users["agent"].id
    async with app.state.container.sessions() as s:
        bank = await make_client(s)
        far = await make_client(s, default_time_zone="Asia/Urumqi")
        await queued_case(s, client=bank, next_allowed_at=MIDNIGHT,  # two caps: counted once by kind
                          blocked_rules="debtor_number_daily_cap,third_party_daily_cap")
        await queued_case(s, client=bank, next_allowed_at=EIGHT, blocked_rules="calling_window,debtor_number_daily_cap")
        await queued_case(s, client=bank, held_until=NOW + dt.timedelta(minutes=10))  # resting after a call
        skipped = await queued_case(s, client=bank)
        s.add(CaseSkip(case_id=skipped.id, agent_id=me, reason="debtor in hospital",
                       created_at=NOW - dt.timedelta(minutes=5)))
        await queued_case(s, client=bank)  # callable: not asked about yet
        await queued_case(s, client=bank, next_allowed_at=NOW - dt.timedelta(hours=1),
                          blocked_rules="calling_window")  # its time has come: callable again
        opens_there = dt.datetime(2026, 11, 25, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=6)))  # 08:00 in Urumqi
        await queued_case(s, client=far, next_allowed_at=opens_there, blocked_rules="calling_window")
        s.add_all([Campaign(client_id=bank.id, name="bank", mode=DialMode.PROGRESSIVE, status=CampaignStatus.RUNNING,
                            team="team-a"),
                   Campaign(client_id=far.id, name="far", mode=DialMode.PROGRESSIVE, status=CampaignStatus.PAUSED)])
        await s.commit()

    body = (await api.get("/v1/agent/queue-status", headers=desk)).json()

    assert (body["mode"], body["campaigns"]) == ("preview", None)
    assert (body["open"], body["callable"], body["held"], body["resting"], body["skipped"], body["set_aside"]) == (
        7, 2, 0, 1, 1, 3)
    assert [(r["rule"], r["cases"], _at(r["next_allowed_at"])) for r in body["rules"]] == [
        ("calling_window", 2, EIGHT), ("debtor_number_daily_cap", 2, MIDNIGHT), ("third_party_daily_cap", 1, MIDNIGHT)]
    assert [(r["reason"], r["cases"], _at(r["next_allowed_at"])) for r in body["reasons"]] == [
        ("calling_window", 2, EIGHT), ("caps", 2, MIDNIGHT)]
    assert [(w["zone"], _at(w["opens_at"]), w["cases"]) for w in body["window"]] == [
        ("Asia/Shanghai", EIGHT, 1), ("Asia/Urumqi", opens_there, 1)]
    assert _at(body["next_allowed_at"]) == MIDNIGHT

    assert (await api.post("/v1/agent/mode", json={"mode": "progressive"}, headers=desk)).status_code == 200
    progressive = (await api.get("/v1/agent/queue-status", headers=desk)).json()

    assert (progressive["mode"], progressive["campaigns"]) == ("progressive", 1)  # the paused campaign does not count
    assert (progressive["open"], progressive["callable"], progressive["set_aside"]) == (6, 2, 2)
    assert [w["zone"] for w in progressive["window"]] == ["Asia/Shanghai"]


async def test_given_no_running_campaign_then_a_progressive_agent_has_none_and_nothing_in_scope(app, api, desk):
    async with app.state.container.sessions() as s:
        await queued_case(s, client=await make_client(s))
        await s.commit()
    assert (await api.post("/v1/agent/mode", json={"mode": "progressive"}, headers=desk)).status_code == 200

    body = (await api.get("/v1/agent/queue-status", headers=desk)).json()

    assert (body["mode"], body["campaigns"], body["open"]) == ("progressive", 0, 0)


async def test_given_a_campaign_not_running_or_no_seat_or_another_role_then_refused(app, api, desk, headers):
    async with app.state.container.sessions() as s:
        campaign = Campaign(client_id=(await make_client(s)).id, name="paused", status=CampaignStatus.PAUSED)
        s.add(campaign)
        await s.commit()

    paused = await api.get(f"/v1/agent/queue-status?campaign_id={campaign.id}", headers=desk)
    unknown = await api.get("/v1/agent/queue-status?campaign_id=999999", headers=desk)
    no_seat = await api.get("/v1/agent/queue-status", headers=headers["supervisor"])
    admin = await api.get("/v1/agent/queue-status", headers=headers["admin"])

    assert paused.status_code == 409 and paused.json()["error"] == "campaign_not_running"
    assert unknown.status_code == 404 and unknown.json()["error"] == "not_found"
    assert no_seat.status_code == 404 and no_seat.json()["error"] == "not_logged_in"
    assert admin.status_code == 403
