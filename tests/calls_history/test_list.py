"""GET /v1/calls: each filter narrows the history, pages run newest first without gaps or repeats,
each role sees its own scope, and a page is one statement whatever its size."""

from __future__ import annotations

import pytest

from tests.calls_history.conftest import Floor, at, counted

ALL = ("a1_debtor", "a1_friend", "a2_busy", "b3_done", "b_missed", "a1_inbound", "b3_on_a", "a2_tie")


async def _ids(api, headers, **params) -> list[int]:
    answer = await api.get("/v1/calls", params={"limit": 500, **params}, headers=headers)
    assert answer.status_code == 200, answer.text
    return [item["id"] for item in answer.json()["items"]]


FILTERS = [
    pytest.param(lambda f: {"from": at(2).isoformat(), "to": at(5).isoformat()},
                 ("a2_busy", "b3_done", "b_missed"), id="from-to (half-open)"),
    pytest.param(lambda f: {"from": "2026-11-24T14:00:00+08:00"},  # 06:00 UTC, with an offset
                 ("a1_inbound", "b3_on_a", "a2_tie"), id="from with an offset"),
    pytest.param(lambda f: {"agent_id": f.users["agent-2"].id}, ("a2_busy", "a2_tie"), id="agent"),
    pytest.param(lambda f: {"team": "team-b"}, ("b3_done", "b_missed", "b3_on_a"), id="team (its agents and cases)"),
    pytest.param(lambda f: {"client_id": f.client_b}, ("b3_done", "b_missed"), id="client"),
    pytest.param(lambda f: {"direction": "inbound"}, ("b_missed", "a1_inbound"), id="direction"),
    pytest.param(lambda f: {"state": "no_answer"}, ("a1_friend", "b3_on_a"), id="state"),
    pytest.param(lambda f: {"outcome": "answered"}, ("a1_debtor", "b3_done", "a1_inbound"), id="outcome"),
    pytest.param(lambda f: {"party_id": f.friend_a}, ("a1_friend",), id="party"),
    pytest.param(lambda f: {"party_role": "third_party"}, ("a1_friend",), id="party role"),
    pytest.param(lambda f: {"case_id": f.case_b}, ("b3_done", "b_missed"), id="case"),
    pytest.param(lambda f: {"case_id": f.case_a, "agent_id": f.users["agent-1"].id, "direction": "outbound"},
                 ("a1_debtor", "a1_friend"), id="combined"),
]


@pytest.mark.parametrize(("params", "expected"), FILTERS)
async def test_given_a_filter_when_listing_as_admin_then_exactly_the_matching_calls(api, floor: Floor, params,
                                                                                     expected):
    everything = set(await _ids(api, floor.headers["admin"]))
    assert everything == floor.ids(*ALL)

    found = await _ids(api, floor.headers["admin"], **params(floor))

    assert set(found) == floor.ids(*expected)
    assert len(found) == len(expected) < len(ALL)  # no row twice, and the filter did narrow


async def test_given_calls_when_listed_then_newest_first_with_the_names_and_recordings_of_each(api, floor: Floor):
    answer = await api.get("/v1/calls", headers=floor.headers["admin"])

    items = answer.json()["items"]
    assert [i["requested_at"] for i in items] == sorted((i["requested_at"] for i in items), reverse=True)
    assert items[0]["id"] == floor.calls["a2_tie"] and items[1]["id"] == floor.calls["b3_on_a"]  # a tie: id desc
    first = next(i for i in items if i["id"] == floor.calls["a1_debtor"])
    agent = floor.users["agent-1"]
    assert first["agent"] == {"id": agent.id, "name": agent.display_name, "team": "team-a"}
    assert first["party"] == {"id": floor.debtor_a, "role": "debtor", "relation": "self"}
    assert first["case"]["id"] == floor.case_a and first["case"]["team"] == "team-a"
    assert first["client"]["id"] == floor.client_a and first["client"]["name"] == "银行甲"
    assert first["seat"]["code"] and first["campaign"] is None
    assert (first["recordings"], first["recording_stored"], first["disposition"]) == (2, True, "refused")
    assert (first["duration_s"], first["talk_s"], first["state"], first["outcome"]) == (120, 105, "completed",
                                                                                        "answered")
    assert "name" not in first["party"]  # a party is its role and relation
    pending_only = next(i for i in items if i["id"] == floor.calls["b3_done"])
    assert (pending_only["recordings"], pending_only["recording_stored"]) == (1, False)
    missed = next(i for i in items if i["id"] == floor.calls["b_missed"])
    assert (missed["agent"], missed["seat"], missed["recordings"], missed["duration_s"]) == (None, None, 0, 120)


async def test_given_pages_of_three_when_followed_then_every_call_once_newest_first(api, floor: Floor):
    everything = await _ids(api, floor.headers["admin"])
    seen: list[int] = []
    pages, before = 0, None
    while True:
        params = {"limit": 3} | ({"before": before} if before else {})
        page = (await api.get("/v1/calls", params=params, headers=floor.headers["admin"])).json()
        seen += [i["id"] for i in page["items"]]
        pages += 1
        before = page["next_before"]
        if before is None:
            break
        assert before == page["items"][-1]["id"]

    assert seen == everything and pages == 3  # 3 + 3 + 2; the tie split across no page twice


async def test_given_a_filter_and_pages_when_followed_then_pages_keep_the_filter(api, floor: Floor):
    first = (await api.get("/v1/calls", params={"case_id": floor.case_a, "limit": 2},
                           headers=floor.headers["admin"])).json()
    second = (await api.get("/v1/calls", params={"case_id": floor.case_a, "limit": 2,
                                                 "before": first["next_before"]},
                            headers=floor.headers["admin"])).json()

    assert [i["id"] for i in first["items"]] == [floor.calls["a2_tie"], floor.calls["b3_on_a"]]
    assert [i["id"] for i in second["items"]] == [floor.calls["a1_inbound"], floor.calls["a2_busy"]]


SCOPES = [
    pytest.param("agent-1", ("a1_debtor", "a1_friend", "a1_inbound"), id="agent: own calls only"),
    pytest.param("agent-3", ("b3_done", "b3_on_a"), id="another agent: own calls only"),
    pytest.param("supervisor", ("a1_debtor", "a1_friend", "a2_busy", "a1_inbound", "b3_on_a", "a2_tie"),
                 id="team-a's supervisor: its agents' calls and its cases'"),
    pytest.param("boss-b", ("b3_done", "b_missed", "b3_on_a"), id="team-b's supervisor"),
    pytest.param("boss-none", (), id="supervisor without a team: none"),
    pytest.param("admin", ALL, id="admin: every call"),
]


@pytest.mark.parametrize(("who", "expected"), SCOPES)
async def test_given_a_role_when_listing_then_only_the_calls_in_its_scope(api, floor: Floor, who, expected):
    assert set(await _ids(api, floor.headers[who])) == floor.ids(*expected)


async def test_given_an_agent_when_filtering_on_another_agent_or_team_then_nothing_of_theirs(api, floor: Floor):
    desk = floor.headers["agent-1"]

    assert await _ids(api, desk, agent_id=floor.users["agent-2"].id) == []
    assert await _ids(api, desk, case_id=floor.case_b) == []
    assert set(await _ids(api, desk, team="team-a")) == floor.ids("a1_debtor", "a1_friend", "a1_inbound")


async def test_given_a_supervisor_when_asking_for_another_team_then_only_what_both_teams_share(api, floor: Floor):
    boss = floor.headers["supervisor"]

    assert await _ids(api, boss, team="team-b") == [floor.calls["b3_on_a"]]  # the one call both teams share
    assert await _ids(api, boss, client_id=floor.client_b) == []
    assert await _ids(api, boss, agent_id=floor.users["agent-3"].id) == [floor.calls["b3_on_a"]]


async def test_given_a_cursor_outside_the_scope_then_an_empty_page_that_tells_nothing(api, floor: Floor):
    page = (await api.get("/v1/calls", params={"before": floor.calls["a2_tie"]},
                          headers=floor.headers["agent-1"])).json()

    assert page == {"items": [], "next_before": None}


async def test_given_the_integration_role_then_403(api, headers):
    assert (await api.get("/v1/calls", headers=headers["integration"])).status_code == 403


@pytest.mark.parametrize("params", [
    {"from": "2026-11-24T09:00:00"},  # naive
    {"to": "2026-11-24"},
    {"from": "9999-12-31T23:59:59-23:59"},  # past what UTC can write
    {"from": "2026-11-24T10:00:00+08:00", "to": "2026-11-24T09:00:00+08:00"},  # to before from
    {"agent_id": 2**63},  # past any id
    {"limit": 501},
    {"direction": "sideways"},
    {"unknown": "1"},
], ids=["naive from", "a date, no time", "beyond UTC", "to before from", "id too large", "limit too large",
        "bad direction", "unknown parameter"])
async def test_given_bad_parameters_then_422(api, headers, params):
    answer = await api.get("/v1/calls", params=params, headers=headers["admin"])

    assert answer.status_code == 422, answer.text


async def test_given_pages_of_one_and_of_all_then_the_same_statements(app, api, floor: Floor):
    """No N+1: a page is authentication plus one statement, whatever its size (each call here has an
    agent, seat, party, case, client, note or recordings to name)."""
    async def statements(limit: int) -> list[str]:
        with counted(app.state.container.engine) as sent:
            answer = await api.get("/v1/calls", params={"limit": limit}, headers=floor.headers["admin"])
        assert len(answer.json()["items"]) == min(limit, len(ALL))
        return [s for s in sent if s.lstrip().upper().startswith("SELECT")]

    one, everything = await statements(1), await statements(100)

    assert len(one) == len(everything)
    assert sum("FROM calls" in s for s in everything) == 1
