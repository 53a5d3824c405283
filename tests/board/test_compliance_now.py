"""``GET /v1/board/compliance``: cap pressure (parties at a cap or one attempt from it) and calling
windows closing within 30 minutes, for a supervisor's team, read by the policy engine's own rules."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select

from dialer.auth.models import Role
from dialer.cases.models import PartyRole, PhoneNumber, Relation
from dialer.compliance.models import Attempt, AttemptSource
from dialer.kit.types import utcnow
from tests.e2e.conftest import ALL_DAY
from tests.calls_history.conftest import bearer
from tests.factories import make_case, make_client, make_party, make_user



def _zone_in_daytime(now: dt.datetime) -> str:
    """A zone where it is between 01:00 and 22:00 now: a window ending in 20 minutes ends today."""
    for name in ("Asia/Shanghai", "Europe/London", "America/New_York", "Pacific/Auckland", "Asia/Kolkata"):
        if 1 <= now.astimezone(ZoneInfo(name)).hour < 22:
            return name
    raise AssertionError("no zone in daytime")


def _closing_at(local_end: dt.datetime) -> dict:
    """Every day's window ends at ``local_end``'s minute (no holiday hours: the test runs any day)."""
    end = f"{local_end:%H:%M}"
    return {"holiday_calendar": "none", "calling_window": {"weekdays": {d: [{"start": "00:00", "end": end}]
                                            for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}}


async def _third_party_attempted(session, client, *, team: str, times: int, now: dt.datetime):
    case = await make_case(session, client=client, team=team)
    party = await make_party(session, case=case, role=PartyRole.THIRD_PARTY, relation=Relation.SPOUSE,
                             name="李四", numbers=(f"+86139{case.id:08d}",))
    number = (await session.execute(select(PhoneNumber).where(PhoneNumber.party_id == party.id))).scalar_one()
    for n in range(times):
        session.add(Attempt(client_id=client.id, case_id=case.id, party_id=party.id, number_id=number.id,
                            started_at=now - dt.timedelta(minutes=10 + n), outcome="no_answer",
                            source=AttemptSource.IMPORT))
    return case, party


async def test_given_parties_near_their_caps_and_a_window_closing_then_the_team_sees_them_most_urgent_first(
        api, app, session):
    now = utcnow()
    zone = _zone_in_daytime(now)
    closing = await make_client(session, code="CLOSING", default_time_zone=zone,
                                overrides=_closing_at(now.astimezone(ZoneInfo(zone)) + dt.timedelta(minutes=20)))
    open_all_day = await make_client(session, code="ALLDAY", overrides=ALL_DAY)
    _, one_away = await _third_party_attempted(session, open_all_day, team="team-a", times=1, now=now)
    _, at_cap = await _third_party_attempted(session, open_all_day, team="team-a", times=2, now=now)
    await _third_party_attempted(session, open_all_day, team="team-b", times=2, now=now)  # another team's
    await make_case(session, client=closing, team="team-a")
    await make_case(session, client=closing, team="team-a")
    supervisor = await make_user(session, role=Role.SUPERVISOR, team="team-a")
    await session.commit()

    answer = await api.get("/v1/board/compliance", headers=bearer(app, supervisor))

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [(p["party_id"], p["rule"], p["used"], p["limit"], p["at_cap"]) for p in body["pressure"]] == [
        (at_cap.id, "third_party_hourly_cap", 2, 2, True), (one_away.id, "third_party_hourly_cap", 1, 2, False)]
    assert body["pressure"][0]["role"] == "third_party" and body["pressure"][0]["client_code"] == "ALLDAY"
    [window] = body["closing"]
    assert (window["zone"], window["clients"], window["cases"]) == (zone, ["CLOSING"], 2)
    closes = dt.datetime.fromisoformat(window["closes_at"])
    assert now + dt.timedelta(minutes=18) <= closes <= now + dt.timedelta(minutes=21)


async def test_given_an_agent_then_refused_and_given_an_admin_then_every_team(api, app, session, headers):
    now = utcnow()
    client = await make_client(session, code="ALLDAY", overrides=ALL_DAY)
    _, theirs = await _third_party_attempted(session, client, team="team-b", times=2, now=now)
    admin = await make_user(session, role=Role.ADMIN, team=None)
    await session.commit()

    assert (await api.get("/v1/board/compliance", headers=headers["agent"])).status_code == 403
    everyone = (await api.get("/v1/board/compliance", headers=bearer(app, admin))).json()
    assert [p["party_id"] for p in everyone["pressure"]] == [theirs.id]
    team_a = (await api.get("/v1/board/compliance", params={"team": "team-a"}, headers=bearer(app, admin))).json()
    assert team_a["pressure"] == []
