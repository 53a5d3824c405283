"""Cases, parties and numbers through the API."""

from __future__ import annotations

import datetime as dt

from dialer.worklist import repository as queue_repository


async def _client(api, headers):
    response = await api.post("/v1/clients", json={"code": "CMB", "name": "招商银行"}, headers=headers["admin"])
    return response.json()["id"]


def _case_body(client_id, account_ref="ACC-1", **extra):
    return {
        "client_id": client_id, "account_ref": account_ref, "total_owed": "15800.50", "principal": "15000.00",
        "interest_fees": "800.50", "overdue_days": 45, "team": "team-a",
        "parties": [
            {"role": "debtor", "name": "张三", "id_number": "110101199003074514",
             "numbers": [{"number": "13800138000"}, {"number": "+86 10 6552 9988"}]},
            {"role": "third_party", "relation": "spouse", "name": "李四", "numbers": [{"number": "13900139000"}]},
        ],
        **extra,
    }


async def test_given_case_with_parties_then_created_with_e164_numbers_and_bucket(api, headers):
    cid = await _client(api, headers)
    response = await api.post("/v1/cases", json=_case_body(cid), headers=headers["supervisor"])
    assert response.status_code == 201, response.text
    case = response.json()
    assert case["bucket"] == "M2"
    assert case["total_owed"] == "15800.50"
    debtor, spouse = case["parties"]
    assert debtor["relation"] == "self"
    assert [n["e164"] for n in debtor["numbers"]] == ["+8613800138000", "+861065529988"]
    assert [n["kind"] for n in debtor["numbers"]] == ["mobile", "home"]
    assert debtor["numbers"][0]["time_zone"] == "Asia/Shanghai"
    assert spouse["relation"] == "spouse"


async def test_given_unparseable_number_then_422_names_the_path_and_nothing_created(api, headers):
    cid = await _client(api, headers)
    body = _case_body(cid)
    body["parties"][1]["numbers"] = [{"number": "12345"}]
    response = await api.post("/v1/cases", json=body, headers=headers["admin"])
    assert response.status_code == 422
    assert response.json()["field"] == "parties.1.numbers.0.number"
    listed = await api.get("/v1/cases", headers=headers["admin"])
    assert listed.json()["items"] == []


async def test_given_two_debtors_or_third_party_without_relation_then_validation_error(api, headers):
    cid = await _client(api, headers)
    body = _case_body(cid)
    body["parties"][1] = {"role": "debtor", "name": "王五"}
    response = await api.post("/v1/cases", json=body, headers=headers["admin"])
    assert response.status_code == 422
    assert "exactly one debtor" in response.json()["detail"]

    body = _case_body(cid)
    del body["parties"][1]["relation"]
    response = await api.post("/v1/cases", json=body, headers=headers["admin"])
    assert response.status_code == 422
    assert "relation" in response.json()["detail"]


async def test_given_amount_with_three_decimals_then_refused(api, headers):
    cid = await _client(api, headers)
    response = await api.post("/v1/cases", json=_case_body(cid, total_owed="10.001"), headers=headers["admin"])
    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == "total_owed"


async def test_given_many_cases_then_filters_and_keyset_pagination_work(api, headers):
    cid = await _client(api, headers)
    for i in range(7):
        body = _case_body(cid, account_ref=f"ACC-{i}", overdue_days=10 + i * 20)
        assert (await api.post("/v1/cases", json=body, headers=headers["admin"])).status_code == 201

    seen, after = [], None
    while True:
        params = {"limit": 3, **({"after": after} if after else {})}
        page = (await api.get("/v1/cases", params=params, headers=headers["admin"])).json()
        seen += [c["account_ref"] for c in page["items"]]
        after = page["next_after"]
        if after is None:
            break
    assert seen == [f"ACC-{i}" for i in range(7)]

    m1 = (await api.get("/v1/cases", params={"bucket": "M1"}, headers=headers["admin"])).json()["items"]
    assert [c["overdue_days"] for c in m1] == [10, 30]
    late = (await api.get("/v1/cases", params={"min_overdue_days": 100}, headers=headers["admin"])).json()["items"]
    assert [c["overdue_days"] for c in late] == [110, 130]


async def test_given_agent_then_sees_own_and_team_cases_only_with_masked_id(api, headers, users):
    cid = await _client(api, headers)
    mine = (await api.post("/v1/cases", json=_case_body(cid, "MINE", team=None, assigned_agent_id=users["agent"].id),
                           headers=headers["admin"])).json()
    team = (await api.post("/v1/cases", json=_case_body(cid, "TEAM", team="team-a"), headers=headers["admin"])).json()
    other = (await api.post("/v1/cases", json=_case_body(cid, "OTHER", team="team-b"), headers=headers["admin"])).json()

    listed = (await api.get("/v1/cases", headers=headers["agent"])).json()["items"]
    assert sorted(c["account_ref"] for c in listed) == ["MINE", "TEAM"]
    assert (await api.get(f"/v1/cases/{other['id']}", headers=headers["agent"])).status_code == 404

    detail = (await api.get(f"/v1/cases/{mine['id']}", headers=headers["agent"])).json()
    assert detail["parties"][0]["id_number"] == "110***********4514"
    full = (await api.get(f"/v1/cases/{team['id']}", headers=headers["supervisor"])).json()
    assert full["parties"][0]["id_number"] == "110101199003074514"


async def test_given_number_marked_invalid_then_reason_required_and_only_supervisor_restores(api, headers):
    cid = await _client(api, headers)
    case = (await api.post("/v1/cases", json=_case_body(cid), headers=headers["admin"])).json()
    number_id = case["parties"][0]["numbers"][0]["id"]

    no_reason = await api.patch(f"/v1/numbers/{number_id}", json={"valid": False}, headers=headers["agent"])
    assert no_reason.status_code == 422
    marked = await api.patch(f"/v1/numbers/{number_id}", json={"valid": False, "invalid_reason": "空号"},
                             headers=headers["agent"])
    assert marked.status_code == 200 and marked.json()["valid"] is False
    by_agent = await api.patch(f"/v1/numbers/{number_id}", json={"valid": True}, headers=headers["agent"])
    assert by_agent.status_code == 422
    restored = await api.patch(f"/v1/numbers/{number_id}", json={"valid": True}, headers=headers["supervisor"])
    assert restored.json()["valid"] is True and restored.json()["invalid_reason"] is None


async def test_given_party_and_number_added_later_then_listed_on_case(api, headers):
    cid = await _client(api, headers)
    case = (await api.post("/v1/cases", json=_case_body(cid), headers=headers["admin"])).json()
    party = await api.post(
        f"/v1/cases/{case['id']}/parties",
        json={"role": "third_party", "relation": "colleague", "name": "赵六", "debt_related": False},
        headers=headers["supervisor"],
    )
    assert party.status_code == 201, party.text
    number = await api.post(f"/v1/parties/{party.json()['id']}/numbers", json={"number": "+8613700137000"},
                            headers=headers["supervisor"])
    assert number.status_code == 201
    again = await api.post(f"/v1/parties/{party.json()['id']}/numbers", json={"number": "13700137000"},
                           headers=headers["supervisor"])
    assert again.status_code == 409
    detail = (await api.get(f"/v1/cases/{case['id']}", headers=headers["admin"])).json()
    assert [p["name"] for p in detail["parties"]] == ["张三", "李四", "赵六"]
    assert detail["parties"][2]["numbers"][0]["e164"] == "+8613700137000"



async def test_given_a_case_the_policy_set_aside_then_listed_with_its_rules_and_time_and_filterable(app, api, headers):
    cid = await _client(api, headers)
    parked = (await api.post("/v1/cases", json=_case_body(cid, "ACC-P"), headers=headers["admin"])).json()
    free = (await api.post("/v1/cases", json=_case_body(cid, "ACC-F"), headers=headers["admin"])).json()
    until = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + dt.timedelta(hours=3)
    async with app.state.container.sessions() as s:  # what the work queue writes when the policy refuses every number
        await queue_repository.park(s, case_id=parked["id"], until=until, rules="calling_window,debtor_daily_cap")
        await s.commit()

    aside = (await api.get(f"/v1/cases?client_id={cid}&set_aside=true", headers=headers["supervisor"])).json()
    others = (await api.get(f"/v1/cases?client_id={cid}&set_aside=false", headers=headers["supervisor"])).json()
    detail = (await api.get(f"/v1/cases/{parked['id']}", headers=headers["supervisor"])).json()

    [row] = aside["items"]
    assert row["id"] == parked["id"] and row["blocked_rules"] == ["calling_window", "debtor_daily_cap"]
    assert dt.datetime.fromisoformat(row["next_allowed_at"]) == until
    assert [c["id"] for c in others["items"]] == [free["id"]] and others["items"][0]["blocked_rules"] == []
    assert detail["blocked_rules"] == ["calling_window", "debtor_daily_cap"] and detail["held_by_agent_id"] is None
