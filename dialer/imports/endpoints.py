"""File imports from a client: cases (CSV/XLSX) and the stop-contact list (CSV/XLSX). All-or-nothing."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, UploadFile, status

from dialer.auth.deps import Principal, require
from dialer.auth.models import Role
from dialer.imports import service
from dialer.imports.schemas import ImportOut
from dialer.kit.deps import NowDep, SessionDep
from dialer.kit.errors import InvalidInput

router = APIRouter(prefix="/clients/{client_id}/imports", tags=["imports"])

Importers = Annotated[Principal, Depends(require(Role.ADMIN, Role.SUPERVISOR, Role.INTEGRATION))]

MAX_UPLOAD_BYTES = 50 * 1024 * 1024


async def _read(upload: UploadFile) -> bytes:
    content = await upload.read(MAX_UPLOAD_BYTES + 1)
    if len(content) > MAX_UPLOAD_BYTES:
        raise InvalidInput(f"file: larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB", field="file")
    return content


@router.post("/cases", response_model=ImportOut, status_code=status.HTTP_201_CREATED,
             summary="Import cases from a CSV or XLSX file; any bad row rejects the file (admin, supervisor, integration)")
async def import_cases(
    client_id: int, session: SessionDep, actor: Importers, now: NowDep, file: Annotated[UploadFile, File()],
) -> ImportOut:
    result = await service.import_cases(
        session, client_id=client_id, filename=file.filename or "upload", content=await _read(file), actor=actor, now=now
    )
    return ImportOut.model_validate(result, from_attributes=True)


@router.post("/stop-list", response_model=ImportOut, status_code=status.HTTP_201_CREATED,
             summary="Import the client's stop-contact list; any bad row rejects the file (admin, supervisor, integration)")
async def import_stop_list(
    client_id: int, session: SessionDep, actor: Importers, now: NowDep, file: Annotated[UploadFile, File()],
) -> ImportOut:
    result = await service.import_stop_list(
        session, client_id=client_id, filename=file.filename or "upload", content=await _read(file), actor=actor, now=now
    )
    return ImportOut.model_validate(result, from_attributes=True)
