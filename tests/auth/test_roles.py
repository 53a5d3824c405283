"""Who may call what: no credentials → 401, a wrong role → 403."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dialer.audit.models import AuditEntry

CLIENT = {"code": "CMB", "name": "招商银行", "preset": "agency-default"}


async def test_given_no_token_when_listing_users_then_401_with_stable_code(api):
    response = await api.get("/v1/users")
    assert response.status_code == 401
    assert response.json()["error"] == "unauthenticated"
    assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_given_garbage_token_then_401(api, users):
    response = await api.get("/v1/users", headers={"Authorization": "Bearer not-a-jwt"})
    assert response.status_code == 401
    assert response.json() == {"error": "unauthenticated", "detail": "the bearer token is invalid"}


@pytest.mark.parametrize("role", ["agent", "integration"])
async def test_given_role_without_right_when_listing_users_then_403(api, headers, role):
    response = await api.get("/v1/users", headers=headers[role])
    assert response.status_code == 403
    body = response.json()
    assert body["error"] == "forbidden"
    assert role in body["detail"] and "admin" in body["detail"]


@pytest.mark.parametrize("role", ["agent", "supervisor", "integration"])
async def test_given_non_admin_when_creating_client_then_403_and_nothing_created(api, headers, role):
    response = await api.post("/v1/clients", json=CLIENT, headers=headers[role])
    assert response.status_code == 403
    listed = await api.get("/v1/clients", headers=headers["admin"])
    assert listed.json()["items"] == []


async def test_given_admin_when_creating_client_then_201(api, headers):
    response = await api.post("/v1/clients", json=CLIENT, headers=headers["admin"])
    assert response.status_code == 201, response.text


async def test_given_password_when_logging_in_then_token_works_and_carries_role(api, users):
    response = await api.post("/v1/auth/token", json={"username": "supervisor-1", "password": "correct horse battery"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["role"] == "supervisor"
    me = await api.get("/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["username"] == "supervisor-1"
    assert me.json()["last_login_at"] is not None


async def test_given_wrong_password_then_401_no_token_and_the_attempt_audited(api, users, app):
    response = await api.post("/v1/auth/token", json={"username": "agent-1", "password": "wrong password!"})
    assert response.status_code == 401
    assert "access_token" not in response.json()
    async with app.state.container.sessions() as s:
        entry = (await s.execute(select(AuditEntry).where(AuditEntry.action == "auth.login_failed"))).scalar_one()
    assert entry.entity_id == "agent-1" and entry.detail == {"known_user": True, "active": True}
    assert "wrong password!" not in str(entry.detail)


async def test_given_disabled_user_then_their_token_stops_working(api, users, headers):
    disabled = await api.patch(f"/v1/users/{users['agent'].id}", json={"active": False}, headers=headers["admin"])
    assert disabled.status_code == 200
    response = await api.get("/v1/auth/me", headers=headers["agent"])
    assert response.status_code == 401


async def test_given_integration_key_then_it_authenticates_until_revoked(api, users, headers):
    created = await api.post(
        f"/v1/users/{users['integration'].id}/api-keys", json={"name": "archive"}, headers=headers["admin"]
    )
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    assert key.startswith("dk_")

    me = await api.get("/v1/auth/me", headers={"X-API-Key": key})
    assert me.status_code == 200 and me.json()["role"] == "integration"
    as_bearer = await api.get("/v1/clients", headers={"Authorization": f"Bearer {key}"})
    assert as_bearer.status_code == 200
    forbidden = await api.get("/v1/users", headers={"X-API-Key": key})
    assert forbidden.status_code == 403

    revoked = await api.delete(f"/v1/api-keys/{created.json()['id']}", headers=headers["admin"])
    assert revoked.json()["revoked_at"] is not None
    after = await api.get("/v1/auth/me", headers={"X-API-Key": key})
    assert after.status_code == 401


async def test_given_key_with_right_prefix_but_wrong_secret_then_401(api, users, headers):
    created = await api.post(
        f"/v1/users/{users['integration'].id}/api-keys", json={"name": "archive"}, headers=headers["admin"]
    )
    key = created.json()["key"]
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    assert (await api.get("/v1/auth/me", headers={"X-API-Key": forged})).status_code == 401


async def test_given_api_key_for_non_integration_user_then_refused(api, users, headers):
    response = await api.post(
        f"/v1/users/{users['agent'].id}/api-keys", json={"name": "x"}, headers=headers["admin"]
    )
    assert response.status_code == 422
    assert response.json()["field"] == "user_id"


async def test_given_new_agent_without_password_then_field_named(api, headers):
    response = await api.post(
        "/v1/users", json={"username": "wang", "display_name": "王五", "role": "agent"}, headers=headers["admin"]
    )
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_input"
    assert response.json()["field"] == "password"


async def test_given_short_password_then_validation_error_names_field(api, headers):
    response = await api.post(
        "/v1/users", json={"username": "wang", "display_name": "王五", "role": "agent", "password": "short"},
        headers=headers["admin"],
    )
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "validation_error"
    assert body["fields"][0]["field"] == "password"


async def test_given_user_actions_then_audited(api, headers, app):
    await api.post(
        "/v1/users", json={"username": "wang", "display_name": "王五", "role": "agent", "password": "long enough pw"},
        headers=headers["admin"],
    )
    async with app.state.container.sessions() as s:
        actions = (await s.execute(select(AuditEntry.action, AuditEntry.actor_role))).all()
    assert ("user.create", "admin") in actions
