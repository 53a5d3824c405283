"""Fixtures shared by the command line's tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def cli_env(db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("DIALER_DATABASE_URL", db_url)
    monkeypatch.setenv("DIALER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    return db_url
