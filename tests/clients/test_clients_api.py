"""Clients and the version history of their policy."""

from __future__ import annotations


async def _create(api, headers, **overrides):
    body = {"code": "CMB", "name": "招商银行", "preset": "agency-default", **overrides}
    response = await api.post("/v1/clients", json=body, headers=headers["admin"])
    assert response.status_code == 201, response.text
    return response.json()


async def test_given_preset_when_creating_client_then_version_1_is_the_preset(api, headers):
    client = await _create(api, headers)
    assert client["policy_version"] == 1
    assert client["default_time_zone"] == "Asia/Shanghai"

    policy = (await api.get(f"/v1/clients/{client['id']}/policy", headers=headers["agent"])).json()
    assert policy["version"] == 1
    assert policy["preset"] == "agency-default"
    assert policy["document"]["caps"]["third_party_daily_cap"] == 6


async def test_given_policy_changes_then_every_version_is_kept_and_current_moves(api, headers, users):
    client = await _create(api, headers)
    cid = client["id"]

    v2 = await api.put(
        f"/v1/clients/{cid}/policy",
        json={"overrides": {"caps": {"third_party_daily_cap": 4}}, "reason": "client asked for 4/day"},
        headers=headers["admin"],
    )
    assert v2.status_code == 201, v2.text
    v3 = await api.put(
        f"/v1/clients/{cid}/policy",
        json={"preset": "cn-cba-2026", "overrides": {}, "reason": "new industry guideline"},
        headers=headers["admin"],
    )
    assert v3.status_code == 201, v3.text

    history = (await api.get(f"/v1/clients/{cid}/policy/versions", headers=headers["supervisor"])).json()
    assert [(v["version"], v["preset"]) for v in history] == [(1, "agency-default"), (2, "agency-default"), (3, "cn-cba-2026")]
    assert history[1]["document"]["caps"]["third_party_daily_cap"] == 4
    assert history[1]["reason"] == "client asked for 4/day"
    assert history[1]["created_by_id"] == users["admin"].id
    assert history[0]["document"]["caps"]["third_party_daily_cap"] == 6, "old versions never change"

    current = (await api.get(f"/v1/clients/{cid}", headers=headers["admin"])).json()
    assert current["policy_version"] == 3
    old = (await api.get(f"/v1/clients/{cid}/policy/versions/2", headers=headers["admin"])).json()
    assert old["overrides"] == {"caps": {"third_party_daily_cap": 4}}


async def test_given_bad_override_then_422_names_the_field_and_no_version_added(api, headers):
    client = await _create(api, headers)
    response = await api.put(
        f"/v1/clients/{client['id']}/policy",
        json={"overrides": {"caps": {"third_party_daily_cap": -1}}, "reason": "typo"},
        headers=headers["admin"],
    )
    assert response.status_code == 422
    assert response.json()["field"].endswith("caps.third_party_daily_cap")
    history = (await api.get(f"/v1/clients/{client['id']}/policy/versions", headers=headers["admin"])).json()
    assert len(history) == 1


async def test_given_unknown_preset_then_422_naming_preset(api, headers):
    response = await api.post(
        "/v1/clients", json={"code": "X1", "name": "X", "preset": "predictive-max"}, headers=headers["admin"]
    )
    assert response.status_code == 422
    assert response.json()["field"] == "preset"


async def test_given_duplicate_code_then_409(api, headers):
    await _create(api, headers)
    response = await api.post("/v1/clients", json={"code": "CMB", "name": "again"}, headers=headers["admin"])
    assert response.status_code == 409
    assert response.json()["error"] == "conflict"


async def test_given_policy_change_without_reason_then_refused(api, headers):
    client = await _create(api, headers)
    response = await api.put(f"/v1/clients/{client['id']}/policy", json={"overrides": {}}, headers=headers["admin"])
    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == "reason"


async def test_given_supervisor_then_cannot_change_policy(api, headers):
    client = await _create(api, headers)
    response = await api.put(
        f"/v1/clients/{client['id']}/policy", json={"overrides": {}, "reason": "try"}, headers=headers["supervisor"]
    )
    assert response.status_code == 403
