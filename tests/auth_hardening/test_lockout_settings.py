"""The lockout limits are settings (``DIALER_LOGIN_MAX_FAILURES_PER_USER`` / ``..._PER_SOURCE``):
defaults 5 and 20, bounded, and the running service locks by what is configured."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from dialer.settings import Settings
from tests.conftest import TEST_SECRET
from tests.factories import make_user

GOOD = "correct horse battery"  # tests.factories' default password


def test_given_nothing_configured_then_five_per_user_and_twenty_per_source():
    settings = Settings(_env_file=None)

    assert (settings.login_max_failures_per_user, settings.login_max_failures_per_source) == (5, 20)


def test_given_the_environment_then_the_limits_are_read_from_it(monkeypatch):
    monkeypatch.setenv("DIALER_LOGIN_MAX_FAILURES_PER_USER", "8")
    monkeypatch.setenv("DIALER_LOGIN_MAX_FAILURES_PER_SOURCE", "50")

    settings = Settings(_env_file=None)

    assert (settings.login_max_failures_per_user, settings.login_max_failures_per_source) == (8, 50)


@pytest.mark.parametrize(("values", "field"), [
    ({"login_max_failures_per_user": 0}, "login_max_failures_per_user"),
    ({"login_max_failures_per_user": 2}, "login_max_failures_per_user"),
    ({"login_max_failures_per_user": 101}, "login_max_failures_per_user"),
    ({"login_max_failures_per_source": -1}, "login_max_failures_per_source"),
    ({"login_max_failures_per_source": 10_001}, "login_max_failures_per_source"),
])
def test_given_a_limit_out_of_bounds_then_the_settings_are_refused_naming_it(values, field):
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None, **values)

    assert [error["loc"] for error in refused.value.errors()] == [(field,)]


def test_given_a_source_limit_under_the_user_limit_then_refused():
    with pytest.raises(ValidationError, match=r"login_max_failures_per_source \(4\) must be at least"):
        Settings(_env_file=None, login_max_failures_per_user=6, login_max_failures_per_source=4)


@contextlib.asynccontextmanager
async def _service(db_url: str, data_dir: Path, **limits: int) -> AsyncIterator[httpx.AsyncClient]:
    """The app on these settings, with two agents, and a client calling it."""
    from dialer.app import create_app

    settings = Settings(_env_file=None, database_url=db_url, data_dir=data_dir, secret_key=TEST_SECRET,
                        auto_migrate=False, run_scheduler=False, run_webhooks=False, **limits)
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        async with application.state.container.sessions() as s:
            await make_user(s, username="agent-1")
            await make_user(s, username="agent-2")
            await s.commit()
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://t") as client:
            yield client


async def _codes(api: httpx.AsyncClient, attempts: list[tuple[str, str]]) -> list[int]:
    return [(await api.post("/v1/auth/token", json={"username": u, "password": p})).status_code for u, p in attempts]


async def test_given_three_per_user_then_the_fourth_attempt_is_refused_even_with_the_right_password(db_url, tmp_path):
    async with _service(db_url, tmp_path, login_max_failures_per_user=3) as api:
        codes = await _codes(api, [("agent-1", "guess")] * 3 + [("agent-1", GOOD), ("agent-2", GOOD)])

    assert codes == [401, 401, 401, 429, 200]


async def test_given_eight_per_user_then_seven_failures_do_not_lock_where_five_would(db_url, tmp_path):
    async with _service(db_url, tmp_path, login_max_failures_per_user=8) as api:
        codes = await _codes(api, [("agent-1", "guess")] * 7 + [("agent-1", GOOD)])

    assert codes == [401] * 7 + [200]


async def test_given_four_per_source_then_four_sprayed_usernames_lock_the_address_for_everyone(db_url, tmp_path):
    async with _service(db_url, tmp_path, login_max_failures_per_user=3, login_max_failures_per_source=4) as api:
        codes = await _codes(api, [(f"sprayed-{n}", "guess") for n in range(4)] + [("agent-2", GOOD)])

    assert codes == [401] * 4 + [429]
