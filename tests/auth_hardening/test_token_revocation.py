"""Tokens die with a password change or a deactivation, re-activation does not revive them, and
the last active admin cannot deactivate themselves."""

from __future__ import annotations

from tests.factories import make_user

GOOD = "correct horse battery"


async def _me(api, headers) -> int:
    return (await api.get("/v1/auth/me", headers=headers)).status_code


async def _login(api, username: str, password: str) -> dict[str, str]:
    response = await api.post("/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_given_a_password_change_then_tokens_issued_before_die_and_the_new_password_works(api, users, headers):
    old = await _login(api, "agent-1", GOOD)
    changed = await api.patch(f"/v1/users/{users['agent'].id}", json={"password": "a brand new passphrase"},
                              headers=headers["admin"])
    assert changed.status_code == 200
    assert await _me(api, old) == 401 and await _me(api, headers["agent"]) == 401
    assert await _me(api, await _login(api, "agent-1", "a brand new passphrase")) == 200


async def test_given_a_deactivation_and_reactivation_then_old_tokens_stay_dead(api, users, headers):
    agent = f"/v1/users/{users['agent'].id}"
    assert (await api.patch(agent, json={"active": False}, headers=headers["admin"])).status_code == 200
    assert (await api.patch(agent, json={"active": True}, headers=headers["admin"])).status_code == 200
    assert await _me(api, headers["agent"]) == 401
    assert await _me(api, await _login(api, "agent-1", GOOD)) == 200


async def test_given_an_other_change_then_tokens_live_on(api, users, headers):
    renamed = await api.patch(f"/v1/users/{users['agent'].id}", json={"display_name": "Agent One"},
                              headers=headers["admin"])
    assert renamed.status_code == 200 and await _me(api, headers["agent"]) == 200


async def test_given_an_integration_user_deactivated_and_reactivated_then_its_api_key_stays_revoked(api, users, headers):
    robot = f"/v1/users/{users['integration'].id}"
    key = (await api.post(f"{robot}/api-keys", json={"name": "archive"}, headers=headers["admin"])).json()["key"]
    assert await _me(api, {"X-API-Key": key}) == 200
    await api.patch(robot, json={"active": False}, headers=headers["admin"])
    await api.patch(robot, json={"active": True}, headers=headers["admin"])
    assert await _me(api, {"X-API-Key": key}) == 401


async def test_given_the_last_active_admin_when_deactivating_themselves_then_409_and_still_active(api, users, headers):
    response = await api.patch(f"/v1/users/{users['admin'].id}", json={"active": False}, headers=headers["admin"])
    assert response.status_code == 409
    assert response.json()["error"] == "last_admin" and "last active admin" in response.json()["detail"]
    assert await _me(api, headers["admin"]) == 200


async def test_given_a_second_admin_then_an_admin_may_step_down(api, users, headers, app):
    from dialer.auth.models import Role

    async with app.state.container.sessions() as s:
        await make_user(s, username="admin-2", role=Role.ADMIN)
        await s.commit()
    response = await api.patch(f"/v1/users/{users['admin'].id}", json={"active": False}, headers=headers["admin"])
    assert response.status_code == 200 and response.json()["active"] is False
    assert await _me(api, headers["admin"]) == 401
