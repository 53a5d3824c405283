"""An auditor's account is made like any other (the admin API, the command line), with a password,
logs in and is throttled like any other, and is listed by role."""

from __future__ import annotations

from typer.testing import CliRunner

from dialer.cli import app as cli


async def test_given_an_admin_when_creating_an_auditor_then_they_log_in_as_auditor(api, headers):
    created = await api.post("/v1/users", headers=headers["admin"], json={
        "username": "inspector", "display_name": "Bank inspector", "role": "auditor",
        "password": "a long auditor password"})
    token = await api.post("/v1/auth/token", json={"username": "inspector", "password": "a long auditor password"})
    me = await api.get("/v1/auth/me", headers={"Authorization": f"Bearer {token.json()['access_token']}"})
    listed = await api.get("/v1/users", params={"role": "auditor"}, headers=headers["admin"])

    assert created.status_code == 201 and created.json()["role"] == "auditor"
    assert token.status_code == 200 and token.json()["role"] == "auditor"
    assert (me.json()["username"], me.json()["role"]) == ("inspector", "auditor")
    assert {u["username"] for u in listed.json()["items"]} == {"auditor-1", "inspector"}


async def test_given_an_auditor_without_a_password_then_refused_naming_it(api, headers):
    answer = await api.post("/v1/users", headers=headers["admin"], json={
        "username": "inspector", "display_name": "Bank inspector", "role": "auditor"})

    assert answer.status_code == 422 and answer.json()["field"] == "password"


async def test_given_failed_logins_then_an_auditor_is_locked_out_like_anyone(api, users):
    answers = [await api.post("/v1/auth/token", json={"username": "auditor-1", "password": "not the password"})
               for _ in range(6)]

    assert [a.status_code for a in answers] == [401] * 5 + [429]


def test_given_the_command_line_when_creating_an_auditor_then_created(cli_env):
    result = CliRunner().invoke(cli, ["create-user", "inspector", "--role", "auditor", "--password-stdin"],
                                input="a long auditor password\n")

    assert result.exit_code == 0, result.output
    assert "created auditor 'inspector'" in result.output
