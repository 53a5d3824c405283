"""Failed logins are counted per username and per source address in the database: a locked key
is answered 429 with Retry-After (audited, no password), across replicas and under concurrency."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from dialer.audit.models import AuditEntry
from tests.factories import make_user

GOOD = "correct horse battery"  # tests.factories' default password


async def _token(api, username: str, password: str):
    return await api.post("/v1/auth/token", json={"username": username, "password": password})


async def _fail(api, username: str, times: int) -> list[int]:
    return [(await _token(api, username, f"guess number {i}")).status_code for i in range(times)]


async def test_given_five_wrong_passwords_then_even_the_right_one_is_429_with_retry_after_and_audited(api, users, app):
    assert await _fail(api, "agent-1", 5) == [401] * 5
    response = await _token(api, "agent-1", GOOD)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "300"
    assert response.json()["error"] == "login_throttled" and response.json()["retry_after_seconds"] == 300
    async with app.state.container.sessions() as s:
        entry = (await s.execute(select(AuditEntry).where(AuditEntry.action == "auth.login_throttled"))).scalar_one()
    assert entry.entity_id == "agent-1" and entry.detail["source"] == "127.0.0.1"
    assert GOOD not in str(entry.detail)


async def test_given_an_unknown_username_then_it_locks_like_a_known_one(api, users):
    assert await _fail(api, "nobody-at-all", 6) == [401] * 5 + [429]


async def test_given_failures_then_a_success_then_the_user_count_starts_afresh(api, users):
    assert await _fail(api, "agent-1", 4) == [401] * 4
    assert (await _token(api, "agent-1", GOOD)).status_code == 200
    assert await _fail(api, "agent-1", 4) == [401] * 4
    assert (await _token(api, "agent-1", GOOD)).status_code == 200


async def test_given_many_usernames_failing_from_one_address_then_that_address_is_locked(api, users, settings):
    limit = settings.login_max_failures_per_source
    codes = [(await _token(api, f"sprayed-{i}", "guess")).status_code for i in range(limit)]
    assert codes == [401] * limit
    assert (await _token(api, "supervisor-1", GOOD)).status_code == 429


async def test_given_ten_guesses_at_once_then_only_five_are_checked(api, users):
    answers = await asyncio.gather(*(_token(api, "agent-1", f"guess {i}") for i in range(10)))
    assert sorted(r.status_code for r in answers) == [401] * 5 + [429] * 5


async def test_given_a_lock_taken_on_one_replica_then_another_replica_refuses_too(api, users, settings):
    import httpx

    from dialer.app import create_app

    await _fail(api, "agent-1", 5)
    replica = create_app(settings)
    async with replica.router.lifespan_context(replica):
        transport = httpx.ASGITransport(app=replica)
        async with httpx.AsyncClient(transport=transport, base_url="http://replica.test") as other:
            assert (await _token(other, "agent-1", GOOD)).status_code == 429
            assert (await _token(other, "admin-1", GOOD)).status_code == 200


async def test_given_another_users_lock_then_a_colleague_still_logs_in(api, users, app):
    async with app.state.container.sessions() as s:
        await make_user(s, username="colleague-1")
        await s.commit()
    await _fail(api, "agent-1", 5)
    assert (await _token(api, "colleague-1", GOOD)).status_code == 200
