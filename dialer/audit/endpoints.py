"""``/v1/audit``: what an auditor reads (the audit log, the decisions ledger) and exports.

Read-only, all of it: the only row an export writes is its own audit entry (who, the scope, the
format, how many rows), in a short unit of work of its own once the file is complete, so the export's
long read holds no write lock (SQLite has one writer) and no export leaves unaudited."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import IO, Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialer.audit import export_files, exports, reads
from dialer.audit import service as audit
from dialer.audit.schemas import DecisionFilters, DecisionPage, ExportQuery, LogFilters, LogPage
from dialer.auth.deps import Principal, require
from dialer.auth.models import Role
from dialer.compliance import evidence
from dialer.compliance.models import Decision
from dialer.imports.formulas import neutralise
from dialer.kit.deps import NowDep, SessionDep, provided
from dialer.outbox.payloads import duration_of

router = APIRouter(tags=["audit"])

Auditors = Annotated[Principal, Depends(require(Role.AUDITOR, Role.ADMIN))]
LedgerReaders = Annotated[Principal, Depends(require(Role.AUDITOR, Role.ADMIN, Role.SUPERVISOR))]
WriteSessions = Annotated[async_sessionmaker[AsyncSession], Depends(provided("write_sessions"))]

CHUNK = 64 * 1024


@router.get("/audit/log", response_model=LogPage,
            summary="The audit log, newest first, with filters (range, actor, action, entity) (auditor, admin)")
async def audit_log(session: SessionDep, _: Auditors, filters: Annotated[LogFilters, Query()]) -> LogPage:
    items = await reads.audit_log(session, filters)
    return LogPage(items=items, next_before=reads.page_end([i.id for i in items], filters.limit))


@router.get("/audit/decisions", response_model=DecisionPage,
            summary="The compliance ledger, newest first, with filters (range, client, case, party, agent, "
                    "allowed or refused, dry run): each rule's result, the violations and the policy version "
                    "(auditor, admin; supervisors: their team's cases and agents)")
async def decisions(session: SessionDep, reader: LedgerReaders,
                    filters: Annotated[DecisionFilters, Query()]) -> DecisionPage:
    items = await reads.decisions(session, filters, everything=reader.role is not Role.SUPERVISOR, team=reader.team)
    return DecisionPage(items=items, next_before=reads.page_end([i.id for i in items], filters.limit))


async def _evidence(session: AsyncSession, decisions: Sequence[Decision]) -> dict[int, dict[str, Any]]:
    rebuilt = await evidence.rebuild(session, decisions)
    return {decision_id: {
        "zone_sources": e.zone_sources, "basis": evidence.BASIS,
        "zones": [{"zone": z.zone, "sources": list(z.sources)} for z in e.zones],
        "counts": [{"rule": c.rule, "used": c.used, "limit": c.limit, "window": c.window} for c in e.counts],
    } for decision_id, e in rebuilt.items()}


def _chunks(file: IO[bytes]) -> Iterator[bytes]:
    try:
        while chunk := file.read(CHUNK):
            yield chunk
    finally:
        file.close()


async def _stream(file: IO[bytes]) -> AsyncIterator[bytes]:
    for chunk in _chunks(file):
        yield chunk


@router.get(
    "/audit/exports", response_class=StreamingResponse,
    summary="Export every attempt and refused decision of a party, case or client (or of every client within a "
            "range) with its decision, rule results, policy version, zones and counts, agent and seat, call and "
            "recording SHA-256, as CSV, XLSX or JSON; audited (auditor, admin)",
    responses={200: {"content": {media: {} for media in export_files.MEDIA_TYPES.values()},
                     "description": "The file (`Content-Disposition: attachment`)"},
               422: {"description": f"`validation_error` naming the parameter, or `export_too_large`: more than "
                                    f"{exports.MAX_ROWS} rows in scope (`limit` names the most)"}},
)
async def export(session: SessionDep, writes: WriteSessions, actor: Auditors, now: NowDep,
                 query: Annotated[ExportQuery, Query()]) -> StreamingResponse:
    await exports.read_only(session)
    found = await exports.keys(session, query)
    about = {"scope": query.scope(), "format": query.format, "generated_at": now.isoformat(),
             "generated_by": actor.username, "evidence_basis": evidence.BASIS}
    file, count = await export_files.write(
        exports.rows(session, found, evidence=_evidence, duration=duration_of), fmt=query.format, about=about,
        text=neutralise)
    try:
        async with writes() as audited:
            await audit.record(audited, action="audit.export", actor=actor, entity="export", who=actor.username,
                               scope=query.scope(), format=query.format, rows=count)
            await audited.commit()
    except BaseException:
        file.close()
        raise
    name = f"dialer-export-{now.astimezone(dt.timezone.utc):%Y%m%dT%H%M%SZ}.{query.format}"
    return StreamingResponse(_stream(file), media_type=export_files.MEDIA_TYPES[query.format],
                             headers={"Content-Disposition": f'attachment; filename="{name}"',
                                      "X-Export-Rows": str(count)})
