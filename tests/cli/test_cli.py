"""The `dialer` command line against real databases."""

from __future__ import annotations

from dialer.kit.migrations import head_revisions
from dialer.settings import REPO_ROOT

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import select
from typer.testing import CliRunner

from dialer.cases.models import Party
from dialer.cli import _in_session, _settings, app
from tests.factories import make_case

runner = CliRunner()




def _invoke(*args: str, stdin: str | None = None):
    return runner.invoke(app, list(args), input=stdin)


def test_given_database_when_migrate_then_reports_head(cli_env):
    result = _invoke("migrate")
    assert result.exit_code == 0, result.output
    (head,) = head_revisions(REPO_ROOT / "alembic")
    assert f"database at revision {head}" in result.output


def test_given_password_on_stdin_when_create_user_then_user_can_be_listed(cli_env):
    result = _invoke("create-user", "boss", "--role", "admin", "--password-stdin", stdin="a long password\n")
    assert result.exit_code == 0, result.output
    assert "created admin 'boss'" in result.output
    again = _invoke("create-user", "boss", "--role", "admin", "--password-stdin", stdin="a long password\n")
    assert again.exit_code == 2
    assert "error: username 'boss' is taken (conflict)" in again.output
    as_json = _invoke("--json", "create-user", "boss", "--role", "admin", "--password-stdin", stdin="a long password\n")
    assert as_json.exit_code == 2 and '"error": "conflict"' in as_json.output


def test_given_bad_role_then_usage_error(cli_env):
    result = _invoke("create-user", "x", "--role", "janitor", "--password-stdin", stdin="a long password\n")
    assert result.exit_code == 2
    assert "role must be one of" in result.output


def test_given_preset_when_policy_show_then_rules_and_window_printed(cli_env):
    result = _invoke("policy", "show", "--preset", "agency-default")
    assert result.exit_code == 0, result.output
    for rule in ("calling_window", "third_party_hourly_cap", "stop_contact", "wrap_up_first"):
        assert rule in result.output
    assert "08:00-22:00" in result.output


def test_given_unknown_client_when_policy_show_then_clear_error(cli_env):
    result = _invoke("policy", "show", "NOPE")
    assert result.exit_code == 2
    assert "client 'NOPE' not found" in result.output


def _first_answer(proc: subprocess.Popen, url: str, timeout_s: float = 30) -> httpx.Response:
    """Poll ``url`` until the process started by the test answers (or fail with its output)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return httpx.get(url, timeout=1)
        except httpx.TransportError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(proc.stdout.read().decode() if proc.stdout else f"{url} never answered") from None
            time.sleep(0.2)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_given_empty_directory_when_serve_then_sqlite_file_created_migrated_and_ready(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIALER_")}
    env.update(DIALER_PORT=str(port))
    dialer = Path(sys.executable).with_name("dialer")
    proc = subprocess.Popen([str(dialer), "serve"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        ready = _first_answer(proc, f"http://127.0.0.1:{port}/readyz")
        assert ready.status_code == 200, ready.text
        assert (tmp_path / "dialer.db").is_file()
        docs = httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=30).json()
        assert "/v1/cases" in docs["paths"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_given_party_when_check_then_same_decision_as_api_and_exit_code_tells(cli_env):
    async def _seed(session):
        case = await make_case(session)
        return (await session.execute(select(Party.id).where(Party.case_id == case.id))).scalar_one()

    party_id = asyncio.run(_in_session(_settings(), _seed))
    allowed = _invoke("check", "--party", str(party_id), "--at", "2026-11-24T10:00:00+08:00")
    assert allowed.exit_code == 0, allowed.output
    assert '"allowed": true' in allowed.output
    late = _invoke("check", "--party", str(party_id), "--at", "2026-11-24T22:30:00+08:00")
    assert late.exit_code == 1
    assert '"rule": "calling_window"' in late.output and '"next_allowed_at": "2026-11-25T00:00:00+00:00"' in late.output
    naive = _invoke("check", "--party", str(party_id), "--at", "2026-11-24T22:30:00")
    assert naive.exit_code == 2 and "naive" in naive.output


def test_given_twilio_emulator_command_then_it_serves_twilio_paths(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIALER_")}
    dialer = Path(sys.executable).with_name("dialer")
    proc = subprocess.Popen([str(dialer), "twilio-emulator", "--port", str(port)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        health = _first_answer(proc, f"http://127.0.0.1:{port}/_emulator/health")
        assert health.status_code == 200
        unauthorised = httpx.get(f"http://127.0.0.1:{port}/2010-04-01/Accounts/ACx/Calls.json", auth=("ACx", "bad"))
        assert unauthorised.status_code == 401 and unauthorised.json()["code"] == 20003
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_given_database_when_report_daily_then_csv_with_total_row_and_json(cli_env):
    csv_out = _invoke("report", "daily", "--day", "2026-11-24")
    assert csv_out.exit_code == 0, csv_out.output
    header, *rows = csv_out.output.lstrip("\ufeff").splitlines()
    assert header.startswith("day,scope,team,agent,calls,connects") and rows[-1].startswith("2026-11-24,total,")
    as_json = _invoke("report", "daily", "--day", "2026-11-24", "--json")
    assert as_json.exit_code == 0 and '"rows"' in as_json.output
    bad_day = _invoke("report", "daily", "--day", "24/11/2026")
    assert bad_day.exit_code == 2
