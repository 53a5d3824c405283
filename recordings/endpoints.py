"""Recordings over HTTP: a recording's metadata, its media (byte ranges, ETag), and signed expiring
links to the media for systems that hold no credentials (the archive, a browser's ``<audio>``).

Who may: supervisors, admins, integrations (bearer token or API key) and auditors (who only read:
no signed links); the media also to anyone holding a valid signed link. Every request that reaches a recording is audited with what it was
answered (``recording.read`` / ``recording.media`` / ``recording.link``), refusals and errors too:
those errors keep the unit of work, so the audit row is committed with the answer."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, Security, status
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialer.audit import service as audit
from dialer.auth.deps import Principal, current_principal, require
from dialer.auth.models import Role
from dialer.auth.tokens import TokenSigner
from dialer.calls.models import Call, Recording, RecordingStatus
from dialer.calls.schemas import RecordingFacts
from dialer.kit.bounds import RowId
from dialer.kit.clock import Clock
from dialer.kit.db import begin_write
from dialer.kit.deps import NowDep, SessionDep, provided
from dialer.kit.errors import Conflict, DialerError, Forbidden, NotFound
from dialer.kit.schemas import Schema
from dialer.kit.signed_links import LinkRefused, LinkSigner
from dialer.outbox.payloads import channel_sides
from recordings import media
from recordings.storage import RecordingStorage, key_of

router = APIRouter(prefix="/recordings", tags=["recordings"])

READERS = (Role.SUPERVISOR, Role.ADMIN, Role.INTEGRATION, Role.AUDITOR)
LINK_MAKERS = (Role.SUPERVISOR, Role.ADMIN, Role.INTEGRATION)
"""A link is made by a POST, which an auditor may not send (a link outlives the auditor's read)."""
MAX_LINK_TTL_S = 7 * 24 * 3600
CONTENT_TYPE = "audio/wav"

_READER_NAMES = sorted(r.value for r in READERS)  # the OpenAPI document's roles for the credentials, as require's
_admit = require(*READERS)
Reader = Annotated[Principal, Depends(_admit)]
LinkMaker = Annotated[Principal, Depends(require(*LINK_MAKERS))]
Storage = Annotated[RecordingStorage, Depends(provided("storage"))]
Links = Annotated[LinkSigner, Depends(provided("links"))]
_bearer = HTTPBearer(auto_error=False, description="A token from POST /v1/auth/token, or an integration API key")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="An integration API key")


class RecordingNotFound(NotFound):
    code = "recording_not_found"
    keep_work = True  # the audit row of the attempt


class RecordingNotStored(Conflict):
    code = "recording_not_stored"
    keep_work = True


class RecordingGone(DialerError):
    code = "recording_gone"
    status = 410
    keep_work = True


class LinkNotAccepted(Forbidden):
    code = "link_refused"
    keep_work = True


class RecordingOut(RecordingFacts):
    call_id: int
    carrier: str
    carrier_call_id: str | None
    purge_rule: str | None
    media_path: str = Field(description="GET it with credentials, or ask POST …/link for a signed link")


class LinkIn(Schema):
    ttl_s: int = Field(3600, ge=1, le=MAX_LINK_TTL_S, description="How long the link works, in seconds (≤ 7 days)")


class LinkOut(Schema):
    url: str
    expires_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Access:
    """Who asks for the media: a principal, or the holder of a signed link (``refused``: why the link failed)."""

    principal: Principal | None
    via: str  # "token" | "api_key" | "signed_link"
    refused: str | None = None


def media_path(request: Request, recording_id: int) -> str:
    """The path the media is served on, as mounted (``/v1/recordings/{id}/media``): what a link signs."""
    return str(request.app.url_path_for("recording_media", recording_id=str(recording_id)))


async def media_access(
    request: Request, recording_id: RowId,
    tokens: Annotated[TokenSigner, Depends(provided("tokens"))],
    sessions: Annotated[async_sessionmaker[AsyncSession], Depends(provided("sessions"))],
    clock: Annotated[Clock, Depends(provided("clock"))], links: Links,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer, scopes=_READER_NAMES)],
    api_key: Annotated[str | None, Security(_api_key, scopes=_READER_NAMES)],
    expires: Annotated[str | None, Query(description="A signed link's expiry (unix seconds)")] = None,
    signature: Annotated[str | None, Query(description="A signed link's signature")] = None,
) -> Access:
    """A request carrying a link's ``expires`` or ``signature`` is judged by the link alone;
    otherwise by its credentials (none: 401; a role not admitted: 403)."""
    if expires is None and signature is None:
        principal = await _admit(await current_principal(request, tokens, sessions, clock, credentials, api_key))
        return Access(principal, principal.via)
    try:
        links.verify(media_path(request, recording_id), expires=expires, signature=signature, now=clock())
    except LinkRefused as refused:
        return Access(None, "signed_link", refused=refused.reason)
    return Access(None, "signed_link")


MediaAccess = Annotated[Access, Depends(media_access)]


@dataclass(slots=True)
class Audit:
    """The audit of one request for a recording: written once, with the status it was answered."""

    session: AsyncSession
    action: str
    recording_id: int
    actor: Principal | None
    detail: dict[str, Any] = field(default_factory=dict)

    async def __call__(self, status: int, **more: Any) -> None:
        who = self.actor.username if self.actor is not None else "signed link"
        await audit.record(self.session, action=self.action, actor=self.actor, entity="recording",
                           entity_id=self.recording_id, who=who, status=status, **self.detail, **more)


async def _recording(session: AsyncSession, recording_id: int, audited: Audit) -> Recording:
    recording = await session.get(Recording, recording_id)
    if recording is None:
        await audited(404)
        raise RecordingNotFound(f"no recording {recording_id}")
    return recording


async def _stored_media(storage: RecordingStorage, recording: Recording, audited: Audit) -> tuple[str, int]:
    """The storage key and size of a recording's media; 409 while it is not stored, 410 when its media is gone
    (purged past its retention, or lost: the row and its checksum stay)."""
    if recording.status is RecordingStatus.PURGED:
        await audited(410)
        when = recording.purged_at.isoformat() if recording.purged_at else "an unknown time"
        raise RecordingGone(f"recording {recording.id} was purged at {when} ({recording.purge_rule or 'retention'}); "
                            "its row and checksum are kept, its media is not", reason="purged",
                            sha256=recording.sha256)
    if recording.status is not RecordingStatus.STORED or recording.sha256 is None:
        await audited(409)
        raise RecordingNotStored(f"recording {recording.id} is {recording.status.value}: its media is not stored",
                                 recording_status=recording.status.value)
    key = key_of(recording.sha256)
    size = await storage.size(key)
    if size is None:
        await audited(410)
        raise RecordingGone(f"recording {recording.id}'s media is no longer in storage (lost: it was never purged); "
                            f"its checksum {recording.sha256} is kept", reason="missing", sha256=recording.sha256)
    return key, size


@router.get("/{recording_id}", response_model=RecordingOut,
            summary="A recording's metadata: status, checksum, channels and the side each holds, retention "
                    "(supervisor, admin, integration, auditor)")
async def get_recording(recording_id: RowId, request: Request, session: SessionDep, actor: Reader) -> RecordingOut:
    await begin_write(session)  # read, then write the audit row: a writer from the start on SQLite
    audited = Audit(session, "recording.read", recording_id, actor)
    recording = await _recording(session, recording_id, audited)
    call = await session.get(Call, recording.call_id)
    await audited(200)
    return RecordingOut(
        id=recording.id, call_id=recording.call_id, carrier=recording.carrier,
        carrier_call_id=call.carrier_call_id if call else None, status=recording.status,
        content_type=recording.content_type, channels=recording.channels,
        channel_sides=channel_sides(recording, call) if call else {}, duration_s=recording.duration_s,
        size_bytes=recording.size_bytes, sha256=recording.sha256, partial=recording.partial,
        stored_at=recording.stored_at, retain_until=recording.retain_until, legal_hold=recording.legal_hold,
        purged_at=recording.purged_at, purge_rule=recording.purge_rule, media_path=media_path(request, recording.id),
    )


@router.api_route(
    "/{recording_id}/media", methods=["GET", "HEAD"], name="recording_media", response_class=StreamingResponse,
    summary="The recording's WAV, streamed; single byte ranges (206), ETag (304), HEAD. With credentials "
            "(supervisor, admin, integration, auditor) or a signed link (?expires=…&signature=…)",
    responses={200: {"content": {CONTENT_TYPE: {}}}, 206: {"description": "One byte range"},
               304: {"description": "Not modified"}, 403: {"description": "Role not admitted, or link refused"},
               409: {"description": "Not stored yet"}, 410: {"description": "Media gone"},
               416: {"description": "Range not satisfiable"}},
)
async def get_media(recording_id: RowId, request: Request, session: SessionDep, storage: Storage,
                    access: MediaAccess) -> Response:
    await begin_write(session)
    asked = request.headers.get("range")
    audited = Audit(session, "recording.media", recording_id, access.principal,
                    {"via": access.via, "method": request.method, "range": asked})
    if access.refused is not None:
        await audited(403, refused=access.refused)
        raise LinkNotAccepted(f"this link is refused: {access.refused}", reason=access.refused)
    recording = await _recording(session, recording_id, audited)
    key, size = await _stored_media(storage, recording, audited)
    etag = media.etag_of(recording.sha256 or "")
    decided = media.answer(method=request.method, size=size, etag=etag, range_header=asked,
                           if_range=request.headers.get("if-range"),
                           if_none_match=request.headers.get("if-none-match"))
    head = media.head_of(decided, size=size, etag=etag)
    headers = {**head.headers, "Cache-Control": "private, no-cache"}
    if head.status == status.HTTP_416_RANGE_NOT_SATISFIABLE:
        await audited(head.status)
        return JSONResponse({"error": "range_not_satisfiable", "detail": f"the range {asked!r} lies outside the "
                             f"{size} bytes of recording {recording_id}"}, status_code=head.status, headers=headers)
    if head.span is None:  # 304
        await audited(head.status)
        return Response(status_code=head.status, headers=headers)
    headers["Content-Disposition"] = f'inline; filename="recording-{recording_id}.wav"'
    if request.method == "HEAD":  # the headers alone
        await audited(head.status)
        return Response(status_code=head.status, headers=headers, media_type=CONTENT_TYPE)
    start, end = head.span
    body = await _opened(storage, key, start=start, end=end)
    if body is None:  # deleted since its size was read
        await audited(410)
        raise RecordingGone(f"recording {recording_id}'s media is no longer in storage", reason="missing",
                            sha256=recording.sha256)
    await audited(head.status, bytes=end - start + 1)  # committed before the body streams
    return StreamingResponse(body, status_code=head.status, headers=headers, media_type=CONTENT_TYPE)


async def _opened(storage: RecordingStorage, key: str, *, start: int, end: int) -> AsyncIterator[bytes] | None:
    """The stream of bytes ``start..end``, its first chunk already read (so a missing file is found
    before the response starts), or None when the file is not there."""
    if end < start:  # an empty file
        return _chunks(b"", None)
    chunks = storage.stream(key, start=start, end=end)
    try:
        first = await anext(chunks, b"")
    except FileNotFoundError:
        return None
    return _chunks(first, chunks)


async def _chunks(first: bytes, rest: AsyncIterator[bytes] | None) -> AsyncIterator[bytes]:
    if first:
        yield first
    if rest is not None:
        async for chunk in rest:
            yield chunk


@router.post("/{recording_id}/link", response_model=LinkOut, status_code=status.HTTP_201_CREATED,
             responses={409: {"description": "`recording_not_stored`"},
                        410: {"description": "`recording_gone`: its media was deleted past its retention"}},
             summary="A signed link to the recording's media that works without credentials until it expires "
                     "(supervisor, admin, integration)")
async def create_link(recording_id: RowId, session: SessionDep, storage: Storage,
                      link_to: Annotated[Callable[..., str], Depends(provided("media_link"))], now: NowDep,
                      actor: LinkMaker, body: LinkIn | None = None) -> LinkOut:
    ttl_s = (body or LinkIn()).ttl_s
    audited = Audit(session, "recording.link", recording_id, actor, {"ttl_s": ttl_s})
    recording = await _recording(session, recording_id, audited)
    await _stored_media(storage, recording, audited)
    expires_at = dt.datetime.fromtimestamp(int((now + dt.timedelta(seconds=ttl_s)).timestamp()), dt.timezone.utc)
    url = link_to(recording_id, now, expires_at=expires_at)
    await audited(201, expires_at=expires_at.isoformat())
    return LinkOut(url=url, expires_at=expires_at)
