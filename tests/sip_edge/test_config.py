"""The edge's configuration, rendered from the settings, is one Kamailio accepts (``kamailio -c``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from dialer.settings import Settings
from dialer.telephony.sip.edge.config import EdgeError, check, kamailio_database, render
from dialer.telephony.sip.edge.process import options_status, start_kamailio
from tests.sip_edge.conftest import free_udp_port

SQLITE = "sqlite+aiosqlite:////srv/dialer/dialer.db"
POSTGRES = "postgresql+asyncpg://dialer:s3cret@db.internal:6432/dialer"


def _settings(database_url: str, **values: object) -> Settings:
    return Settings(_env_file=None, database_url=database_url, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize("database_url", [SQLITE, POSTGRES], ids=["sqlite", "postgres"])
@pytest.mark.parametrize("trunk", [None, "127.0.0.9"], ids=["no-trunk", "trunk"])
def test_given_settings_when_rendered_then_kamailio_accepts_the_config(tmp_path: Path, database_url, trunk):
    config = render(_settings(database_url, sip_trunk_host=trunk, sip_trunk_port=5080), tmp_path)

    output = check(config)

    assert "config file ok" in output
    text = config.read_text()
    assert text.startswith("#!KAMAILIO\n")
    assert ("#!define WITH_TRUNK" in text) == (trunk is not None)
    assert ("#!define WITH_SQLITE" in text) == (database_url == SQLITE)
    assert ("#!define WITH_POSTGRES" in text) == (database_url == POSTGRES)


def test_given_sqlite_url_then_kamailio_reads_the_same_file_by_its_absolute_path(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    database = kamailio_database("sqlite+aiosqlite:///./data/dialer.db")

    assert database.url == f"sqlite://{tmp_path.resolve()}/data/dialer.db"
    assert database.driver == "sqlite" and database.sqlite_file == tmp_path.resolve() / "data" / "dialer.db"


def test_given_postgres_url_then_kamailio_gets_its_db_postgres_form():
    assert kamailio_database(POSTGRES).url == "postgres://dialer:s3cret@db.internal:6432/dialer"
    assert kamailio_database("postgresql+asyncpg://postgres@127.0.0.1/d1").url == "postgres://postgres@127.0.0.1:5432/d1"


def test_given_a_domain_with_a_quote_when_rendered_then_refused(tmp_path: Path):
    with pytest.raises(EdgeError, match="cannot hold"):
        render(_settings(SQLITE, sip_domain='dialer.local"; evil'), tmp_path)


def test_given_the_config_is_readable_only_by_its_owner_since_it_may_hold_the_database_password(tmp_path: Path):
    config = render(_settings(POSTGRES), tmp_path)

    assert config.stat().st_mode & 0o077 == 0


async def test_given_migrated_database_when_edge_started_then_it_answers_options_until_stopped(settings, tmp_path):
    port = free_udp_port()
    edge = start_kamailio(settings.model_copy(update={"sip_edge_host": "127.0.0.1", "sip_edge_port": port}),
                          tmp_path / "edge")
    try:
        answered = options_status("127.0.0.1", port)
    finally:
        status = edge.stop()

    assert answered == 200
    assert status == 0 and not edge.running()
    assert options_status("127.0.0.1", port) is None


async def test_given_a_relative_data_dir_as_by_default_when_edge_started_then_it_runs(settings, tmp_path,
                                                                                       monkeypatch):
    monkeypatch.chdir(tmp_path)  # DIALER_DATA_DIR is ./.dialer by default: Kamailio itself runs from /
    port = free_udp_port()
    edge = start_kamailio(settings.model_copy(update={"sip_edge_host": "127.0.0.1", "sip_edge_port": port}),
                          Path(".dialer") / "sip-edge")
    try:
        answered = options_status("127.0.0.1", port)
    finally:
        status = edge.stop()

    assert answered == 200 and status == 0
    assert (tmp_path / ".dialer" / "sip-edge" / "kamailio.cfg").exists()


async def test_given_run_edge_when_sigterm_arrives_then_kamailio_stops_and_it_exits_0(settings, tmp_path):
    port = free_udp_port()
    env = {**os.environ, "DIALER_DATABASE_URL": settings.database_url, "DIALER_DATA_DIR": str(tmp_path / "data"),
           "DIALER_SIP_EDGE_HOST": "127.0.0.1", "DIALER_SIP_EDGE_PORT": str(port)}
    runner = subprocess.Popen(
        [sys.executable, "-c", "from dialer.settings import Settings\n"
                               "from dialer.telephony.sip.edge.process import run_edge\n"
                               "raise SystemExit(run_edge(Settings(_env_file=None)))"],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        answered = None
        while runner.poll() is None and answered != 200:
            answered = options_status("127.0.0.1", port)
        runner.send_signal(signal.SIGTERM)
        out, _ = runner.communicate(timeout=60)
    finally:
        if runner.poll() is None:
            runner.kill()

    assert answered == 200, out
    assert runner.returncode == 0, out
    assert "SIP edge (Kamailio" in out and (tmp_path / "data" / "sip-edge" / "kamailio.log").is_file()
    assert options_status("127.0.0.1", port) is None
