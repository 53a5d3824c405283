"""``dialer audit verify`` and ``dialer audit seal``: what an operator or a cron job reads, and the exit
codes it alerts on (0 intact, 1 a break or rows the chain cannot vouch for, 2 a bad option)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest
import typer
from typer.testing import CliRunner

from dialer.audit.chain import seal
from dialer.audit.verify_cli import register
from dialer.kit.db import create_engine, session_factory
from dialer.kit.types import utcnow
from tests.audit_chain.rows import audit_rows, bypassing_triggers, decisions, later

runner = CliRunner()


@pytest.fixture
def cli(settings):
    """``dialer`` with the ``audit`` group as dialer.archive_cli builds it, and these commands on it."""
    app, audit_app = typer.Typer(), typer.Typer()
    app.add_typer(audit_app, name="audit")
    register(audit_app, settings=lambda: settings)
    return lambda *args: runner.invoke(app, ["audit", *args])


def _db(db_url: str, work, *, then=None) -> None:
    """Write what a test needs (``work`` in a unit of work; ``then`` on the engine, after it)."""
    async def run() -> None:
        engine = create_engine(db_url)
        try:
            async with session_factory(engine)() as session:
                await work(session)
                await session.commit()
            if then is not None:
                await then(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())


def _sealed(audit: int = 2, decided: int = 1):
    async def work(session) -> None:
        await audit_rows(session, audit)
        await decisions(session, decided)
        await seal(session, now=later(seconds=5))
    return work


def test_given_intact_chains_then_exit_0_with_each_head_to_note(cli, db_url):
    _db(db_url, _sealed())

    shown = cli("verify")
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert lines[0].startswith("audit log: intact — ") and "decision ledger: intact — 1 entries verified (seq 1…1)" in lines
    assert any(line.startswith("  anchor (note it where the database cannot reach): decisions:1:") for line in lines)

    as_json = json.loads(cli("verify", "--json").output)
    assert as_json["ok"] and set(as_json["tables"]) == {"audit", "decisions"}
    assert as_json["tables"]["decisions"]["head"]["seq"] == 1 and as_json["tables"]["decisions"]["first_break"] is None


def test_given_an_edited_row_then_exit_1_naming_the_break(cli, db_url):
    async def edit(engine) -> None:
        await bypassing_triggers(engine, "audit_log", "UPDATE audit_log SET action = 'case.delete' WHERE id = "
                                 "(SELECT row_id FROM audit_chain WHERE seq = 2)")
    _db(db_url, _sealed(audit=3), then=edit)

    shown = cli("verify")
    assert shown.exit_code == 1
    assert "audit log: BROKEN — row_edited at entry 2: audit_log row" in shown.output
    assert "decision ledger: intact" in shown.output
    assert cli("verify", "--table", "decisions").exit_code == 0


def test_given_anchors_then_a_noted_head_matches_and_a_wrong_one_fails(cli, db_url):
    _db(db_url, _sealed())
    anchor = json.loads(cli("verify", "--json").output)["tables"]["audit"]["head"]["anchor"]

    matched = cli("verify", "--table", "audit", "--anchor", anchor)
    assert matched.exit_code == 0 and "1 anchor(s) matched" in matched.output
    wrong = cli("verify", "--anchor", anchor[:-4] + "0000")
    assert wrong.exit_code == 1 and "anchor_mismatch" in wrong.output

    assert cli("verify", "--anchor", "audit:2:xyz").exit_code == 2
    other = cli("verify", "--table", "decisions", "--anchor", anchor)
    assert other.exit_code == 2 and "not being verified" in other.output


def test_given_rows_never_sealed_then_exit_1_until_sealed(cli, db_url):
    async def work(session) -> None:
        await audit_rows(session, 2, at=utcnow() - dt.timedelta(hours=1))
    _db(db_url, work)

    unsealed = cli("verify", "--table", "audit")
    assert unsealed.exit_code == 1 and "2 row(s) left unsealed" in unsealed.output

    sealed = cli("seal")
    assert sealed.exit_code == 0 and sealed.output.strip() == "sealed 2 row(s)"
    assert cli("verify", "--table", "audit").exit_code == 0


def test_given_a_range_then_only_it_is_walked(cli, db_url):
    _db(db_url, _sealed(audit=4))

    tail = json.loads(cli("verify", "--table", "audit", "--since-seq", "3", "--json").output)["tables"]["audit"]
    assert (tail["first_seq"], tail["checked"]) == (3, 2)
    future = cli("verify", "--from", (utcnow() + dt.timedelta(days=2)).date().isoformat())
    assert future.exit_code == 0 and "no entries in the range" in future.output
    past = cli("verify", "--table", "audit", "--to", "2020-01-01", "--json")
    assert json.loads(past.output)["tables"]["audit"]["checked"] == 0

    assert cli("verify", "--since-seq", "2").exit_code == 2  # which table?
    bad = cli("verify", "--from", "01/12/2026")
    assert bad.exit_code == 2 and "neither a date" in bad.output
