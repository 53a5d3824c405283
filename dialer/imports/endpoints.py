"""File imports from a client: cases (CSV/XLSX) and the stop-contact list (CSV/XLSX). All-or-nothing."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, Response, UploadFile, status
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.types import Message

from dialer.auth.deps import Principal, require
from dialer.auth.models import Role
from dialer.imports import service
from dialer.imports.limits import LIMITS, ImportTooLarge
from dialer.imports.schemas import ImportOut
from dialer.kit.bounds import RowId
from dialer.kit.deps import NowDep, SessionDep

MAX_UPLOAD_BYTES = LIMITS.upload_bytes


class _Overflow(HTTPException):
    """Raised inside ``receive``: FastAPI lets an HTTPException out of body parsing untouched."""

    def __init__(self) -> None:
        super().__init__(status_code=413)


class _CappedUpload(APIRoute):
    """Refuse an upload whose declared length is over the cap before its body is read, and one
    that does not declare it (chunked) as soon as it streams past the cap."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def capped(request: Request) -> Response:
            length = request.headers.get("content-length", "")
            if length.isdigit() and int(length) > MAX_UPLOAD_BYTES:
                raise _too_large()
            seen = 0

            async def receive() -> Message:
                nonlocal seen
                message = await request.receive()
                if message["type"] == "http.request":
                    seen += len(message.get("body", b""))
                    if seen > MAX_UPLOAD_BYTES:
                        raise _Overflow()
                return message

            try:
                return await handler(Request(request.scope, receive))
            except _Overflow:
                raise _too_large() from None

        return capped


def _too_large() -> ImportTooLarge:
    return ImportTooLarge(
        f"the upload is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB", limit="upload_bytes",
        maximum=MAX_UPLOAD_BYTES,
    )


router = APIRouter(prefix="/clients/{client_id}/imports", tags=["imports"], route_class=_CappedUpload)

Importers = Annotated[Principal, Depends(require(Role.ADMIN, Role.SUPERVISOR, Role.INTEGRATION))]
Encoding = Annotated[str | None, Form(
    description="The CSV's encoding when it is neither UTF-8 nor GB18030, e.g. big5 or shift_jis", max_length=40,
)]
_TOO_LARGE_RESPONSE: dict[int | str, dict[str, Any]] = {413: {"description": "The upload, or what the XLSX unpacks to, is over a limit (named)"}}


async def _read(upload: UploadFile) -> bytes:
    content = await upload.read(MAX_UPLOAD_BYTES + 1)
    if len(content) > MAX_UPLOAD_BYTES:
        raise _too_large()
    return content


@router.post("/cases", response_model=ImportOut, status_code=status.HTTP_201_CREATED, responses=_TOO_LARGE_RESPONSE,
             summary="Import cases from a CSV or XLSX file; any bad row rejects the file (admin, supervisor, integration)")
async def import_cases(
    client_id: RowId, session: SessionDep, actor: Importers, now: NowDep, file: Annotated[UploadFile, File()],
    encoding: Encoding = None,
) -> ImportOut:
    result = await service.import_cases(
        session, client_id=client_id, filename=file.filename or "upload", content=await _read(file), actor=actor,
        now=now, encoding=encoding,
    )
    return ImportOut.model_validate(result, from_attributes=True)


@router.post("/stop-list", response_model=ImportOut, status_code=status.HTTP_201_CREATED, responses=_TOO_LARGE_RESPONSE,
             summary="Import the client's stop-contact list; any bad row rejects the file (admin, supervisor, integration)")
async def import_stop_list(
    client_id: RowId, session: SessionDep, actor: Importers, now: NowDep, file: Annotated[UploadFile, File()],
    encoding: Encoding = None,
) -> ImportOut:
    result = await service.import_stop_list(
        session, client_id=client_id, filename=file.filename or "upload", content=await _read(file), actor=actor,
        now=now, encoding=encoding,
    )
    return ImportOut.model_validate(result, from_attributes=True)
