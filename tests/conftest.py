"""Shared fixtures. Every database test runs on SQLite *and* PostgreSQL, each test in its own
database cloned from a template that the Alembic migrations built once per run."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor
from collections.abc import AsyncIterator, Generator, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from dialer.kit.db import create_engine, session_factory
from dialer.kit.migrations import upgrade_to_head
from dialer.settings import REPO_ROOT

MIGRATIONS = REPO_ROOT / "alembic"
PG_ADMIN_DSN = os.environ.get("DIALER_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKENDS = os.environ.get("DIALER_TEST_BACKENDS", "sqlite,postgres").split(",")
SKIP_FAILS = os.environ.get("CI", "").lower() not in ("", "0", "false")  # CI sets CI=true: see below


def _run(coro):
    """Run a coroutine to completion from sync code, even when an event loop is running."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _pg_url(database: str) -> str:
    base = PG_ADMIN_DSN.rsplit("/", 1)[0]
    return base.replace("postgresql://", "postgresql+asyncpg://", 1) + "/" + database


async def _pg_admin(*statements: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def _pg_reachable() -> bool:
    try:
        await _pg_admin("SELECT 1")
        return True
    except (OSError, asyncpg.PostgresError):
        return False


async def _migrate(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade_to_head(engine, MIGRATIONS)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    _run(_migrate(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    if not _run(_pg_reachable()):
        # No server: start or install one rather than skip (see scripts/ensure-postgres.sh).
        subprocess.run([str(REPO_ROOT / "scripts" / "ensure-postgres.sh")], check=True)
    name = f"dialer_tmpl_{os.getpid()}"
    _run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'))
    _run(_migrate(_pg_url(name)))
    yield name
    _run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _backends_for(definition: pytest.Function) -> list[str]:
    """The backends a test runs on: ``BACKENDS``, less the one its ``sqlite_only`` or
    ``postgres_only`` mark excludes."""
    marks = {m.name for m in definition.iter_markers()}
    return [b for b in BACKENDS
            if not (b == "sqlite" and "postgres_only" in marks) and not (b == "postgres" and "sqlite_only" in marks)]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test that uses ``backend`` is generated once per backend it runs on, so a
    PostgreSQL-only test has no SQLite variant at all (rather than one that skips)."""
    if "backend" in metafunc.fixturenames:
        backends = _backends_for(metafunc.definition)
        if backends:
            metafunc.parametrize("backend", backends, indirect=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test whose only backend ``DIALER_TEST_BACKENDS`` leaves out got no parameter above: it is
    deselected (reported as such), not skipped."""
    left_out = [item for item in items if "backend" in getattr(item, "fixturenames", ())
                and "backend" not in getattr(getattr(item, "callspec", None), "params", {})]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if item not in left_out]


# --- in CI a skip is a failure ------------------------------------------------------------------
# A test skipped for a missing tool (a browser, a server) passes for nothing, and a summary line
# is easy to miss: when CI is set, every skip (in a test, a fixture, a mark or at collection) is
# reported as a failure naming the test and the reason. xfail is not a skip and stays as it is.

_SKIPS_FAILED: list[str] = []  # "test id: reason", listed again at the end of the run


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None],
                              ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report: pytest.TestReport = yield
    if not (SKIP_FAILS and report.skipped and not hasattr(report, "wasxfail")):
        return report
    message = f"skipped, which fails the run when CI is set: {_skip_reason(report.longrepr)}"
    _SKIPS_FAILED.append(f"{report.nodeid}: {message}")
    failed = pytest.CallInfo.from_call(lambda: pytest.fail(message, pytrace=False), when=call.when)
    replaced = pytest.TestReport.from_item_and_call(item, failed)
    replaced.start, replaced.stop, replaced.duration = report.start, report.stop, report.duration
    return replaced


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector,
                               ) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    report: pytest.CollectReport = yield
    if SKIP_FAILS and report.skipped:
        report.outcome = "failed"
        report.longrepr = f"skipped, which fails the run when CI is set: {_skip_reason(report.longrepr)}"
        _SKIPS_FAILED.append(f"{report.nodeid}: {report.longrepr}")
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The skips that failed, in full (the short summary cuts a long test id's reason off)."""
    if _SKIPS_FAILED:
        terminalreporter.section("skipped tests, failed because CI is set", red=True)
        for line in _SKIPS_FAILED:
            terminalreporter.line(line)


def _skip_reason(longrepr: object) -> str:
    """The reason of a skip report, whose longrepr is ``(path, line, "Skipped: reason")``."""
    reason = str(longrepr[2]) if isinstance(longrepr, tuple) else str(longrepr)
    return reason.removeprefix("Skipped: ")


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """``sqlite`` or ``postgres``, as ``pytest_generate_tests`` parametrized the test."""
    return request.param


@pytest.fixture
async def db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, migrated database for this test alone."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "test.db"
        shutil.copyfile(template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    template_name: str = request.getfixturevalue("postgres_template")
    name = f"dialer_t_{uuid.uuid4().hex[:12]}"
    await _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"')
    try:
        yield _pg_url(name)
    finally:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(db_url)
    try:
        yield eng
    finally:
        await eng.dispose()


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    async with session_factory(engine)() as s:
        yield s


# --- the HTTP application -------------------------------------------------------------------

TEST_SECRET = "test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"


@pytest.fixture
def cli_env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The command line pointed at this test's database and a data directory of its own."""
    monkeypatch.setenv("DIALER_DATABASE_URL", db_url)
    monkeypatch.setenv("DIALER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    return db_url


@pytest.fixture
def settings(db_url: str, tmp_path: Path):
    from dialer.settings import Settings

    return Settings(
        _env_file=None, database_url=db_url, data_dir=tmp_path / "data", secret_key=TEST_SECRET,
        auto_migrate=False, run_scheduler=False, run_webhooks=False,  # tests that deliver run the worker themselves
    )


@pytest.fixture
async def app(settings):
    from dialer.app import create_app

    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def api(app):
    import httpx

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://dialer.test") as client:
        yield client


@pytest.fixture
async def users(app):
    """One active user per role, keyed by role name."""
    from dialer.auth.models import Role
    from tests.factories import make_user

    async with app.state.container.sessions() as s:
        made = {role.value: await make_user(s, username=f"{role.value}-1", role=role) for role in Role}
        await s.commit()
    return made


@pytest.fixture
def headers(app, users):
    """Bearer headers per role: ``headers["admin"]``."""
    container = app.state.container
    out = {}
    for name, user in users.items():
        token, _ = container.tokens.issue(user_id=user.id, role=user.role, now=container.clock())
        out[name] = {"Authorization": f"Bearer {token}"}
    return out
