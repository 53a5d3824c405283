"""The chain jobs as the service schedules them run on the wall clock: rows are stamped with their
write time by the database columns' defaults (the wall clock), so a scheduler on a simulated clock
(the demo's, hours ahead) must not make every row look sealed late."""

from __future__ import annotations

import asyncio
import datetime as dt

from dialer.audit.chain.seal import SEAL_LAG
from dialer.jobs import CHAIN_JOBS
from dialer.kit.db import session_factory
from dialer.kit.types import utcnow
from scheduling.runner import run_job
from tests.audit_chain.rows import audit_rows, decisions, entries


async def test_given_a_scheduler_clock_hours_ahead_then_the_chains_seal_on_wall_time_and_verify_clean(
        engine, session) -> None:
    await audit_rows(session, 2)
    await decisions(session, 1)
    seal, verify = (spec.func for spec in CHAIN_JOBS)
    ahead = utcnow() + dt.timedelta(hours=5)
    before = utcnow()
    await asyncio.sleep(SEAL_LAG.total_seconds() + 0.2)  # the rows old enough to seal, by the wall clock

    await run_job(session_factory(engine), "audit_chain_seal", seal, clock=lambda: ahead + dt.timedelta(seconds=5))
    run = await run_job(session_factory(engine), "audit_chain_verify", verify,
                        clock=lambda: ahead + dt.timedelta(seconds=10))

    sealed = await entries(session, "audit") + await entries(session, "decisions")
    assert len(sealed) == 3
    assert all(before <= entry.sealed_at <= utcnow() for entry in sealed)
    assert run.summary["audit"]["ok"] and run.summary["decisions"]["ok"], run.summary
    assert run.summary["audit"]["late"] == run.summary["decisions"]["late"] == 0
