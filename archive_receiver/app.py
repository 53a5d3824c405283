"""The receiver's HTTP face. ``POST /webhooks``: verify the Standard Webhooks signature and the
timestamp, skip an event already held (same ``webhook-id``), fetch and check a recording's file,
store, and only then answer 2xx — any other answer makes the sender retry later. ``GET /received``
lists what is held; ``GET /health`` says the store answers."""

from __future__ import annotations

import binascii
import hmac
import json
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
from standardwebhooks import Webhook
from standardwebhooks.webhooks import EmptyWebhookSecretError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from archive_receiver.store import Store

log = logging.getLogger("archive_receiver")

MAX_BODY = 1 << 20
"""Events are small (Standard Webhooks asks for well under 20 kB); a larger body is refused unread."""


class Refused(Exception):
    """An answer other than 2xx: an HTTP ``status``, a stable ``code`` and a ``reason`` for a person.
    401: not from the sender (or too old), 400: signed but unusable, 502/503: try again later."""

    def __init__(self, status: int, code: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.code, self.reason = status, code, reason


def wall_clock() -> datetime:
    return datetime.now(timezone.utc)


class Verifier:
    """Standard Webhooks' check, with the receiver's clock. ``Webhook.verify`` reads the wall clock
    itself, so the same steps are taken here: the three headers are present, the timestamp is within
    ``tolerance`` of ``now()``, and one of the header's space-separated signatures equals the one
    ``Webhook(secret).sign(id, timestamp, body)`` computes for one of the secrets (compared in
    constant time). Several secrets: a rotation, the old and the new accepted while both are set."""

    def __init__(self, secrets: Sequence[str], *, now: Callable[[], datetime], tolerance: timedelta) -> None:
        if not secrets:
            raise ValueError("at least one secret is needed")
        self._hooks = [_webhook(secret, number) for number, secret in enumerate(secrets, start=1)]
        self._now, self._tolerance = now, tolerance

    def verify(self, body: bytes, headers: Mapping[str, str]) -> str:
        """The verified ``webhook-id``; raise :class:`Refused` (401) otherwise."""
        msg_id, stamp, signatures = (headers.get(name) for name in
                                     ("webhook-id", "webhook-timestamp", "webhook-signature"))
        if not (msg_id and stamp and signatures):
            raise Refused(401, "missing_headers", "webhook-id, webhook-timestamp and webhook-signature are required")
        try:
            sent_at = datetime.fromtimestamp(int(stamp), timezone.utc)
        except (ValueError, OverflowError, OSError):
            raise Refused(401, "bad_timestamp", "webhook-timestamp is not unix seconds") from None
        now = self._now()
        if now.tzinfo is None:
            raise ValueError("the receiver's clock must return an aware datetime")
        if abs(now - sent_at) > self._tolerance:
            raise Refused(401, "stale_timestamp", f"webhook-timestamp {sent_at.isoformat()} is more than "
                                                  f"{int(self._tolerance.total_seconds())} s from now")
        offered = [signature.encode() for signature in signatures.split(" ") if signature]
        for hook in self._hooks:
            expected = hook.sign(msg_id, sent_at, body).encode()
            if any(hmac.compare_digest(expected, signature) for signature in offered):
                return msg_id
        raise Refused(401, "bad_signature", "no signature matches a configured secret")


def _webhook(secret: str, number: int) -> Webhook:
    try:
        return Webhook(secret)
    except (binascii.Error, ValueError, EmptyWebhookSecretError):
        # The message names the secret's position, never its value.
        raise ValueError(f"secret #{number} is not a Standard Webhooks secret (whsec_ + base64)") from None


@dataclass(frozen=True)
class Media:
    """The file a ``recording.stored`` event announces: where to fetch it and what it must be."""

    url: str
    sha256: str
    size: int
    content_type: str | None

    @classmethod
    def announced(cls, data: Mapping[str, Any]) -> Media:
        recording = data.get("recording")
        if not isinstance(recording, dict):
            raise Refused(400, "bad_payload", "recording.stored without data.recording")
        url, sha256, size = recording.get("media_url"), recording.get("sha256"), recording.get("size_bytes")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise Refused(400, "bad_payload", "data.recording.media_url is not an absolute http(s) link")
        if not (isinstance(sha256, str) and len(sha256) == 64 and all(c in "0123456789abcdef" for c in sha256.lower())):
            raise Refused(400, "bad_payload", "data.recording.sha256 is not a SHA-256 in hex")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise Refused(400, "bad_payload", "data.recording.size_bytes is not a size")
        content_type = recording.get("content_type")
        return cls(url, sha256.lower(), size, content_type if isinstance(content_type, str) else None)


class Receiver:
    def __init__(self, *, verifier: Verifier, store: Store, now: Callable[[], datetime],
                 http: httpx.AsyncClient | None) -> None:
        self.verifier, self.store, self.now, self.http = verifier, store, now, http

    async def webhooks(self, request: Request) -> Response:
        body = await _read_body(request)
        msg_id = self.verifier.verify(body, request.headers)
        event = _parse(body)
        if await self._held(self.store.seen, msg_id):
            log.info("%s %s duplicate", msg_id, event["type"])
            return JSONResponse({"status": "duplicate", "webhook_id": msg_id})
        sha256 = file = None
        if event["type"] == "recording.stored":
            media = Media.announced(event["data"])
            file, sha256 = await self._fetch(media), media.sha256
            event = {**event, "data": _without_link(event["data"])}  # the link is a credential until it expires
        new = await self._held(self.store.record, webhook_id=msg_id, event=event, received_at=self.now(),
                               sha256=sha256, file=file)
        status = "duplicate" if not new else "stored" if file else "recorded"
        log.info("%s %s %s%s", msg_id, event["type"], status, f" {file}" if file else "")
        return JSONResponse({"status": status, "webhook_id": msg_id, "file": file})

    async def _fetch(self, media: Media) -> str:
        """Download the file into the store, check its size and SHA-256, keep it; its path in the store."""
        if self.http is None:
            raise RuntimeError("the app's lifespan did not run (serve it with uvicorn, or pass http=)")
        incoming = await self._held(self.store.incoming)
        try:
            try:
                async with self.http.stream("GET", media.url) as answer:
                    if answer.status_code != 200:
                        raise Refused(502, "media_refused", f"the media link answered {answer.status_code}")
                    async for chunk in answer.aiter_bytes():
                        await self._held(incoming.write, chunk)
                        if incoming.size > media.size:
                            raise Refused(502, "media_mismatch", f"the media is longer than {media.size} bytes")
            except httpx.HTTPError as error:  # its text may quote the link, which is a credential
                raise Refused(503, "media_unreachable", f"the media could not be fetched ({type(error).__name__})")
            if incoming.size != media.size or incoming.sha256 != media.sha256:
                raise Refused(502, "media_mismatch", f"the media has {incoming.size} bytes and SHA-256 "
                                                     f"{incoming.sha256}, not {media.size} and {media.sha256}")
            path: str = await self._held(self.store.keep, incoming, content_type=media.content_type)
            return path
        except BaseException:
            incoming.discard()
            raise

    async def received(self, request: Request) -> Response:
        try:
            limit = min(max(int(request.query_params.get("limit", "100")), 1), 1000)
        except ValueError:
            raise Refused(400, "bad_query", "limit is not a number") from None
        rows = await self._held(self.store.received, type=request.query_params.get("type") or None, limit=limit)
        return JSONResponse(rows)

    async def health(self, request: Request) -> Response:
        await self._held(self.store.check)
        return JSONResponse({"status": "ok"})

    async def _held(self, work: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run blocking store work on a thread; a store that fails answers 503 (the sender retries)."""
        try:
            return await run_in_threadpool(work, *args, **kwargs)
        except (OSError, sqlite3.Error) as error:
            log.exception("the store failed")
            raise Refused(503, "store_unavailable", f"the store failed ({type(error).__name__})") from None


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        raise Refused(413, "too_large", f"the body is larger than {MAX_BODY} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise Refused(413, "too_large", f"the body is larger than {MAX_BODY} bytes")
    return bytes(body)


def _parse(body: bytes) -> dict[str, Any]:
    try:
        event = json.loads(body)
    except ValueError:
        raise Refused(400, "bad_payload", "the body is not JSON") from None
    if not (isinstance(event, dict) and isinstance(event.get("type"), str) and isinstance(event.get("data"), dict)):
        raise Refused(400, "bad_payload", "the body is not an event (type and data)")
    return event


def _without_link(data: dict[str, Any]) -> dict[str, Any]:
    recording = {key: value for key, value in data["recording"].items() if key != "media_url"}
    return {**data, "recording": recording}


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)
    if request.url.path == "/webhooks":
        # The id is unverified here; cut it short. Neither secrets nor media links are ever logged.
        log.warning("%s refused %d %s: %s", (request.headers.get("webhook-id") or "-")[:80], exc.status,
                    exc.code, exc.reason)
    return JSONResponse({"error": exc.code, "detail": exc.reason}, status_code=exc.status)


def create_app(*, secrets: list[str], store_dir: Path, now: Callable[[], datetime] = wall_clock,
               tolerance_s: float = 300, http: httpx.AsyncClient | None = None) -> Starlette:
    """The receiver. ``secrets``: every secret accepted (old and new during a rotation). ``now``: the
    clock the timestamps are checked against. ``http``: the client that fetches media (by default one
    is opened and closed by the app's lifespan, following redirects)."""
    receiver = Receiver(verifier=Verifier(secrets, now=now, tolerance=timedelta(seconds=tolerance_s)),
                        store=Store(Path(store_dir)), now=now, http=http)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if http is not None:
            yield
            return
        async with httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=10.0), follow_redirects=True) as client:
            receiver.http = client
            yield
            receiver.http = None

    routes = [Route("/webhooks", receiver.webhooks, methods=["POST"]),
              Route("/received", receiver.received, methods=["GET"]),
              Route("/health", receiver.health, methods=["GET"])]
    return Starlette(routes=routes, lifespan=lifespan, exception_handlers={Refused: _refused})
