"""Liveness and readiness."""

from __future__ import annotations

from sqlalchemy import text

from dialer.app import create_app
from dialer.settings import Settings
from tests.conftest import TEST_SECRET


async def test_given_running_app_then_healthz_ok(api):
    response = await api.get("/healthz")
    assert response.json() == {"status": "ok"}


async def test_given_migrated_database_then_ready(api):
    response = await api.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ready"


async def test_given_database_behind_head_then_not_ready(api, app):
    async with app.state.container.engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = 'older'"))
    response = await api.get("/readyz")
    assert response.status_code == 503
    assert response.json()["error"] == "schema_not_at_head"


async def test_given_database_down_then_not_ready_but_alive(tmp_path):
    import httpx

    # A port with nothing listening: the database is down.
    settings = Settings(
        _env_file=None, database_url="postgresql+asyncpg://postgres@127.0.0.1:1/none",
        data_dir=tmp_path, secret_key=TEST_SECRET, auto_migrate=False,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            ready = await client.get("/readyz")
            alive = await client.get("/healthz")
    assert ready.status_code == 503
    assert ready.json()["error"] == "database_unreachable"
    assert alive.status_code == 200


async def test_given_empty_sqlite_file_when_app_starts_then_it_migrates_itself_and_is_ready(tmp_path):
    import httpx

    settings = Settings(
        _env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}", data_dir=tmp_path / "d",
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            ready = await client.get("/readyz")
    assert ready.status_code == 200
    secret_file = tmp_path / "d" / "secret_key"
    assert secret_file.stat().st_mode & 0o077 == 0, "generated secret must be private to its owner"
