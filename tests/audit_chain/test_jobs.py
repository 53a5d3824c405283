"""The two scheduled jobs, run as the scheduler runs them (scheduling.runner.run_job: one unit of work,
the job's lock): the sealer is idempotent; the daily verification keeps its outcome in the audit log,
alerts on a break, and sweeps up rows the sealer's horizon left behind."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select

from dialer.audit.chain.jobs import chain_seal_job, chain_verify_job
from dialer.audit.models import AuditEntry
from dialer.kit.db import session_factory
from dialer.kit.types import utcnow
from scheduling.runner import run_job
from tests.audit_chain.rows import audit_rows, bypassing_triggers, decisions, entries, later


async def _run(engine, job, at: dt.datetime):
    return await run_job(session_factory(engine), job.__name__, job, clock=lambda: at)


async def _audit(session, action: str) -> list[AuditEntry]:
    await session.commit()
    found = list((await session.execute(select(AuditEntry).where(AuditEntry.action == action))).scalars())
    await session.commit()
    return found


async def test_given_the_seal_job_run_twice_then_the_second_run_adds_nothing(engine, session):
    await audit_rows(session, 3)
    await decisions(session, 2)

    first = await _run(engine, chain_seal_job, later(seconds=5))
    chain = await entries(session, "audit"), await entries(session, "decisions")
    second = await _run(engine, chain_seal_job, later(seconds=6))

    assert first.ran and first.summary["sealed"] == len(chain[0]) + len(chain[1]) >= 5
    assert second.ran and second.summary == {"sealed": 0}
    assert (await entries(session, "audit"), await entries(session, "decisions")) == chain


async def test_given_intact_chains_then_the_daily_run_records_their_heads(engine, session):
    await audit_rows(session, 2)
    await decisions(session, 1)
    await _run(engine, chain_seal_job, later(seconds=5))

    run = await _run(engine, chain_verify_job, later(seconds=10))

    assert run.summary["audit"]["ok"] and run.summary["decisions"]["ok"]
    assert run.summary["decisions"]["anchor"].startswith("decisions:1:")
    verified = await _audit(session, "audit.chain_verified")
    assert sorted(row.entity for row in verified) == ["audit_chain", "decision_chain"]
    assert {row.detail["anchor"] for row in verified} == {run.summary["audit"]["anchor"],
                                                          run.summary["decisions"]["anchor"]}
    assert run.summary["swept"] == 0
    assert (await _run(engine, chain_seal_job, later(seconds=15))).summary == {"sealed": 2}  # those two entries


async def test_given_an_edited_decision_then_the_daily_run_alerts_with_the_first_break(engine, session, caplog):
    ids = await decisions(session, 3)
    await _run(engine, chain_seal_job, later(seconds=5))
    await bypassing_triggers(engine, "compliance_decisions",
                             "UPDATE compliance_decisions SET allowed = NOT allowed WHERE id = :id", id=ids[1])

    with caplog.at_level(logging.INFO, logger="dialer.audit.chain"):
        run = await _run(engine, chain_verify_job, later(seconds=10))

    assert not run.summary["decisions"]["ok"] and run.summary["audit"]["ok"]
    assert run.summary["decisions"]["first_break"] == {
        "kind": "row_edited", "seq": 2, "row_id": ids[1],
        "message": f"compliance_decisions row {ids[1]} differs from what entry 2 sealed"}
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "decisions chain verification FAILED: row_edited at entry 2" in errors[0].getMessage()
    [broken] = await _audit(session, "audit.chain_broken")
    assert broken.entity == "decision_chain" and broken.entity_id == "2"
    assert broken.detail["first_break"]["row_id"] == ids[1]


async def test_given_a_row_the_horizon_left_behind_then_the_daily_run_reports_and_seals_it(engine, session):
    t0 = utcnow()
    await audit_rows(session, 2, first_id=40)
    await _run(engine, chain_seal_job, t0 + dt.timedelta(seconds=5))
    [hidden] = await audit_rows(session, 1, at=t0, first_id=4)  # its transaction stayed open for hours
    t3 = t0 + dt.timedelta(hours=3)
    assert (await _run(engine, chain_seal_job, t3)).summary == {"sealed": 0}

    run = await _run(engine, chain_verify_job, t3 + dt.timedelta(seconds=5))

    assert run.summary["audit"]["unsealed_ids"] == [hidden] and not run.summary["audit"]["ok"]
    assert run.summary["swept"] >= 1
    assert hidden in {entry.row_id for entry in await entries(session, "audit")}
