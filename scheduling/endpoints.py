"""Tasks, the under-minimum list, payment imports, daily statistics, running a job by hand."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile, status
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialer.auth.deps import Principal, require
from dialer.auth.models import Role
from dialer.imports.limits import LIMITS, ImportTooLarge
from dialer.kit import bounds
from dialer.kit.bounds import AfterId, RowId
from dialer.kit.clock import Clock
from dialer.settings import Settings
from dialer.kit.deps import NowDep, SessionDep, provided
from dialer.kit.errors import NotFound
from dialer.kit.schemas import Page, TimeZoneName, page_of
from dialer.tasks.models import TaskKind, TaskStatus
from scheduling import payments, service, stats, stats_xlsx
from scheduling.jobs import JobSpec
from scheduling.payment_rows import PaymentRow
from scheduling.runner import run_job
from scheduling.schemas import (
    DailyReportOut,
    JobRunOut,
    PaymentImport,
    PaymentImportOut,
    TaskOut,
    TaskUpdate,
    UnderMinimumOut,
)

router = APIRouter(tags=["scheduling"])

Workers = Annotated[Principal, Depends(require(Role.AGENT, Role.SUPERVISOR, Role.ADMIN))]
Supervisors = Annotated[Principal, Depends(require(Role.SUPERVISOR, Role.ADMIN))]
Importers = Annotated[Principal, Depends(require(Role.ADMIN, Role.SUPERVISOR, Role.INTEGRATION))]
Admins = Annotated[Principal, Depends(require(Role.ADMIN))]
Day = Annotated[bounds.Day | None, Query(description="Local calendar day (YYYY-MM-DD); today when absent")]
Zone = Annotated[TimeZoneName | None, Query(description="The zone the day is counted in (default: the service's, DIALER_DEFAULT_TIME_ZONE)")]
First = Annotated[bounds.Day | None, Query(
    alias="from", description=f"A range's first day (YYYY-MM-DD); the range spans at most {stats.MAX_DAYS} days")]
Last = Annotated[bounds.Day | None, Query(alias="to", description="A range's last day; today when absent")]
Team = Annotated[str | None, Query(max_length=64, description="Admins: one team only (a supervisor sees their own)")]
Language = Literal["en", "zh"]
SettingsDep = Annotated[Settings, Depends(provided("settings"))]

MAX_UPLOAD_BYTES = LIMITS.upload_bytes  # a payment file is held to the case import's limits
Encoding = Annotated[str | None, Form(
    description="The CSV's encoding when it is neither UTF-8 nor GB18030, e.g. big5 or shift_jis", max_length=40,
)]
_TOO_LARGE_RESPONSE: dict[int | str, dict[str, Any]] = {
    413: {"description": "The upload, or what the XLSX unpacks to, is over a limit (named)"}}


@router.get("/tasks", response_model=Page[TaskOut],
            summary="Call and follow-up tasks; agents see the tasks assigned to them (agent, supervisor, admin)")
async def list_tasks(
    session: SessionDep, principal: Workers, status_: Annotated[TaskStatus | None, Query(alias="status")] = None,
    kind: TaskKind | None = None, case_id: RowId | None = None, agent_id: RowId | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50, after: AfterId | None = None,
) -> Page[TaskOut]:
    rows = await service.list_tasks(
        session, principal=principal, status=status_, kind=kind, case_id=case_id, agent_id=agent_id, limit=limit,
        after=after,
    )
    return page_of(rows, limit, TaskOut)


@router.patch("/tasks/{task_id}", response_model=TaskOut,
              responses={409: {"description": "`conflict`: the task is done or cancelled already"}},
              summary="Mark an open task done or cancelled; agents only their own (agent, supervisor, admin)")
async def close_task(task_id: RowId, body: TaskUpdate, session: SessionDep, principal: Workers, now: NowDep) -> TaskOut:
    task = await service.close_task(
        session, task_id=task_id, status=TaskStatus(body.status), principal=principal, now=now,
    )
    return TaskOut.model_validate(task)


@router.get("/reports/under-minimum", response_model=list[UnderMinimumOut],
            summary="Cases behind the minimum contact frequency or about to miss it, with reasons (supervisor, admin)")
async def under_minimum(
    session: SessionDep, _: Supervisors, now: NowDep, client_id: RowId | None = None,
) -> list[UnderMinimumOut]:
    return await service.under_minimum(session, now=now, client_id=client_id)


async def _report(
    session: SessionDep, principal: Supervisors, now: NowDep, settings: SettingsDep, day: Day = None,
    first: First = None, last: Last = None, time_zone: Zone = None, team: Team = None,
) -> stats.DailyReport:
    return await stats.report_for(session, principal=principal, now=now, day=day, first=first, last=last, team=team,
                                  time_zone=time_zone or settings.default_time_zone)


Report = Annotated[stats.DailyReport, Depends(_report)]


@router.get("/reports/daily", response_model=DailyReportOut,
            summary="Daily statistics (催收记录统计表) and KPIs per agent, team and in total, for a day or a range of "
                    "days with the series of the days; a supervisor sees their own team (supervisor, admin)")
async def daily_report(report: Report) -> dict:
    return report.as_dict()


@router.get("/reports/daily.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}, "description": "UTF-8 CSV with a byte-order mark"}},
            summary="The daily statistics as CSV (supervisor, admin)")
async def daily_report_csv(report: Report, language: Language = "en") -> Response:
    return Response(
        stats.render_csv(report, language=language).encode("utf-8-sig"), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{report.filename("csv")}"'},
    )


@router.get("/reports/daily.xlsx", response_class=Response,
            responses={200: {"content": {stats_xlsx.MEDIA_TYPE: {}},
                             "description": "A workbook: the statistics, then the series of the days"}},
            summary="The daily statistics as XLSX (supervisor, admin)")
async def daily_report_xlsx(report: Report, language: Language = "en") -> Response:
    return Response(
        stats_xlsx.render_xlsx(report, language=language), media_type=stats_xlsx.MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{report.filename("xlsx")}"'},
    )


@router.post("/payments/import", response_model=PaymentImportOut, status_code=status.HTTP_201_CREATED,
             summary="Import payments; marks promises kept or broken; all-or-nothing (admin, supervisor, integration)")
async def import_payments(body: PaymentImport, session: SessionDep, actor: Importers, now: NowDep) -> PaymentImportOut:
    rows = [
        PaymentRow(index + 1, p.account_ref, p.amount, p.paid_at, p.reference, p.promise_id)
        for index, p in enumerate(body.payments)
    ]
    result = await payments.import_payments(
        session, client_id=body.client_id, rows=rows, filename="api", content=body.model_dump_json().encode(),
        actor=actor, now=now,
    )
    return PaymentImportOut.model_validate(result, from_attributes=True)


@router.post("/clients/{client_id}/imports/payments", response_model=PaymentImportOut,
             status_code=status.HTTP_201_CREATED, responses=_TOO_LARGE_RESPONSE,
             summary="Import a payment file (CSV or XLSX); any bad row rejects it (admin, supervisor, integration)")
async def import_payment_file(
    client_id: RowId, session: SessionDep, actor: Importers, now: NowDep, file: Annotated[UploadFile, File()],
    encoding: Encoding = None,
) -> PaymentImportOut:
    content = await file.read(MAX_UPLOAD_BYTES + 1)
    if len(content) > MAX_UPLOAD_BYTES:
        raise ImportTooLarge(f"the upload is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB",
                             limit="upload_bytes", maximum=MAX_UPLOAD_BYTES)
    result = await payments.import_payment_file(
        session, client_id=client_id, filename=file.filename or "upload", content=content, actor=actor, now=now,
        encoding=encoding,
    )
    return PaymentImportOut.model_validate(result, from_attributes=True)


@router.post("/scheduler/jobs/{name}/run", response_model=JobRunOut,
             summary="Run a scheduled job now, once across replicas (admin)")
async def run_job_now(
    name: str, _: Admins, jobs: Annotated[tuple[JobSpec, ...], Depends(provided("jobs"))],
    sessions: Annotated[async_sessionmaker[AsyncSession], Depends(provided("sessions"))],
    clock: Annotated[Clock, Depends(provided("clock"))],
) -> JobRunOut:
    spec = next((job for job in jobs if job.name == name), None)
    if spec is None:
        raise NotFound(f"no job {name!r}; jobs: {', '.join(job.name for job in jobs)}")
    run = await run_job(sessions, spec.name, spec.func, clock=clock)
    return JobRunOut(name=run.name, ran=run.ran, started_at=run.started_at, summary=run.summary)
