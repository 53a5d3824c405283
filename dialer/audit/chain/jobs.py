"""The chain's two scheduled jobs, ``(session, *, now) -> summary``: the sealer (every few seconds) and
the daily verification, which alerts (an error logged, an audit entry) on the first break."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dialer.audit import service as audit
from dialer.audit.chain.seal import seal
from dialer.audit.chain.tables import CHAINS
from dialer.audit.chain.verify import Report, verify
from dialer.kit.db import begin_write

log = logging.getLogger("dialer.audit.chain")

SEAL_EVERY = dt.timedelta(seconds=10)
VERIFY_EVERY = dt.timedelta(hours=24)


async def chain_seal_job(session: AsyncSession, *, now: dt.datetime) -> dict[str, Any]:
    """Seal the rows written since the last run."""
    return {"sealed": await seal(session, now=now)}


async def chain_verify_job(session: AsyncSession, *, now: dt.datetime) -> dict[str, Any]:
    """Verify both chains from their first entry; report rows sealed late since the previous run; then
    sweep (seal rows any run's horizon left behind). Each table's outcome is logged and kept as an
    audit entry (``audit.chain_verified`` with the head to note, or ``audit.chain_broken``)."""
    await begin_write(session)  # SQLite: this run writes (the audit entries, the sweep) after reading
    summary: dict[str, Any] = {}
    for name in CHAINS:
        report = await verify(session, table=name, now=now, late_since=now - VERIFY_EVERY - dt.timedelta(hours=1))
        summary[name] = _summary(report)
        await _record(session, report)
    summary["swept"] = await seal(session, now=now, horizon=None)
    return summary


def _summary(report: Report) -> dict[str, Any]:
    brk = report.first_break
    return {
        "ok": report.ok, "checked": report.checked, "anchor": report.head.anchor if report.head else None,
        "first_break": None if brk is None else {"kind": brk.kind, "seq": brk.seq, "row_id": brk.row_id,
                                                 "message": brk.message},
        "unsealed": report.unsealed, "unsealed_ids": report.unsealed_ids, "late": report.late,
        "late_rows": [{"seq": late.seq, "row_id": late.row_id, "reason": late.reason} for late in report.late_rows],
    }


async def _record(session: AsyncSession, report: Report) -> None:
    summary = _summary(report)
    entity = CHAINS[report.table].chain.name
    if report.ok:
        log.info("%s chain verified: %d entries, head %s", report.table, report.checked, summary["anchor"])
        await audit.record(session, action="audit.chain_verified", entity=entity,
                           entity_id=report.head.seq if report.head else None, **summary)
        return
    brk = report.first_break
    log.error("%s chain verification FAILED: %s; %d row(s) unsealed, %d sealed late (verified through %s)",
              report.table, f"{brk.kind} at entry {brk.seq}: {brk.message}" if brk else "no break",
              report.unsealed, report.late, summary["anchor"])
    await audit.record(session, action="audit.chain_broken", entity=entity,
                       entity_id=brk.seq if brk else None, **summary)
