"""The sender's side, as the dialer plays it, for the archive receiver's tests: events in the
dialer's envelope signed with ``standardwebhooks.Webhook.sign``, a small media server standing in
for the signed ``media_url`` links, and both apps served by uvicorn on loopback."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import socket
import uuid
import wave
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from standardwebhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from archive_receiver import create_app

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
SECRET = "whsec_" + base64.b64encode(b"the archive's current secret!!!!").decode()
OLD_SECRET = "whsec_" + base64.b64encode(b"the archive's previous secret!!!").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"somebody else's secret, not ours").decode()


def wav(*, seconds: float = 0.25, channels: int = 2, tone: int = 1) -> bytes:
    """A real two-channel 8 kHz 16-bit WAV, as the dialer stores recordings."""
    out = io.BytesIO()
    with wave.open(out, "wb") as file:
        file.setnchannels(channels)
        file.setsampwidth(2)
        file.setframerate(8000)
        file.writeframes(bytes((i * tone) % 256 for i in range(int(8000 * seconds) * channels * 2)))
    return out.getvalue()


def event(type: str, data: dict[str, Any], *, at: datetime = T0) -> dict[str, Any]:
    """The body the dialer sends (``dialer.outbox.events.envelope``)."""
    return {"id": f"msg_{uuid.uuid4().hex}", "type": type, "version": 1, "timestamp": at.isoformat(), "data": data}


def recording_stored(media_url: str, content: bytes, *, recording_id: int = 7, call_id: int = 70) -> dict[str, Any]:
    """A ``recording.stored`` event as ``dialer.outbox.payloads.recording_data`` shapes it, with the link."""
    return event("recording.stored", {
        "recording": {"id": recording_id, "status": "stored", "content_type": "audio/wav", "channels": 2,
                      "channel_sides": {"1": "party", "2": "agent"}, "duration_s": 1,
                      "size_bytes": len(content), "sha256": hashlib.sha256(content).hexdigest(), "partial": False,
                      "stored_at": T0.isoformat(), "retain_until": "2029-12-01", "legal_hold": False,
                      "media_url": media_url},
        "call": {"id": call_id, "carrier_call_id": f"CA{call_id}", "direction": "outbound",
                 "answered_at": T0.isoformat(), "ended_at": T0.isoformat()},
        "client": {"id": 1}, "case": {"id": 2}, "party": {"id": 3}, "agent": {"id": 4},
    })


def call_completed(call_id: int = 70) -> dict[str, Any]:
    return event("call.completed", {"call": {"id": call_id, "state": "completed", "outcome": "answered"},
                                    "client": {"id": 1, "code": "CMB"}, "case": {"id": 2, "reference": "AC-1"},
                                    "disposition": "promise_to_pay"})


def signed(body: bytes, *, msg_id: str, at: datetime, secrets: tuple[str, ...] = (SECRET,)) -> dict[str, str]:
    """Standard Webhooks headers, one ``v1,`` signature per secret (space-separated), as a sender makes them."""
    signature = " ".join(Webhook(secret).sign(msg_id, at, body) for secret in secrets)
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(at.timestamp())), "webhook-signature": signature,
            "content-type": "application/json"}


class Clock:
    """The receiver's clock, moved by the test."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class MediaServer:
    """Serves ``files[name]`` at ``/recordings/<name>?expires=…&signature=…``; ``refuse`` answers 403
    (an expired link); ``asked`` counts requests per name."""

    files: dict[str, bytes] = field(default_factory=dict)
    refuse: bool = False
    asked: dict[str, int] = field(default_factory=dict)
    url: str = ""

    def app(self) -> Starlette:
        async def serve(request: Request) -> Response:
            name = request.path_params["name"]
            self.asked[name] = self.asked.get(name, 0) + 1
            if self.refuse or name not in self.files:
                return Response("link refused", status_code=403)
            return Response(self.files[name], media_type="audio/wav")
        return Starlette(routes=[Route("/recordings/{name}", serve)])

    def link(self, name: str) -> str:
        return f"{self.url}/recordings/{name}?expires=1796115600&signature=TOKEN-{name}"


@asynccontextmanager
async def serving(*apps: Any) -> AsyncIterator[list[str]]:
    """``apps`` served by uvicorn on this loop, each on a loopback port bound here (no race for it);
    their URLs. They start together and stop together."""
    servers, sockets = [], []
    for app in apps:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sockets.append(sock)
        servers.append(uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on")))
    tasks = [asyncio.create_task(server.serve(sockets=[sock])) for server, sock in zip(servers, sockets)]
    try:
        while not all(server.started for server in servers):
            for task in tasks:
                if task.done():
                    task.result()
                    raise RuntimeError("a server stopped while starting")
            await asyncio.sleep(0.005)
        yield [f"http://127.0.0.1:{sock.getsockname()[1]}" for sock in sockets]
    finally:
        for server in servers:
            server.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)
        for sock in sockets:
            sock.close()


@dataclass
class Rig:
    """A receiver on loopback, its store and clock, the media server, and a client that sends as the dialer."""

    url: str
    store: Path
    clock: Clock
    media: MediaServer
    http: httpx.AsyncClient

    async def deliver(self, body: dict[str, Any] | bytes, *, msg_id: str | None = None, at: datetime | None = None,
                      secrets: tuple[str, ...] = (SECRET,), headers: dict[str, str] | None = None) -> httpx.Response:
        """POST one delivery, signed at ``at`` (default: the receiver's now) with ``secrets``."""
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        msg_id = msg_id or (body["id"] if isinstance(body, dict) else f"msg_{uuid.uuid4().hex}")
        sent = headers if headers is not None else signed(raw, msg_id=msg_id, at=at or self.clock.now,
                                                          secrets=secrets)
        return await self.http.post(f"{self.url}/webhooks", content=raw, headers=sent)

    async def received(self, type: str | None = None) -> list[dict[str, Any]]:
        answer = await self.http.get(f"{self.url}/received", params={"type": type} if type else {})
        assert answer.status_code == 200, answer.text
        rows: list[dict[str, Any]] = answer.json()
        return rows

    def files(self) -> list[Path]:
        """Every file under the store's media/ and tmp/ (a failed delivery leaves none behind)."""
        return sorted(p for p in self.store.rglob("*") if p.is_file() and p.parent != self.store)


@asynccontextmanager
async def rig(tmp_path: Path, *, secrets: tuple[str, ...] = (SECRET,), now: datetime = T0) -> AsyncIterator[Rig]:
    clock, media = Clock(now), MediaServer()
    store = tmp_path / "archive"
    receiver = create_app(secrets=list(secrets), store_dir=store, now=clock)
    async with serving(media.app(), receiver) as (media_url, url), httpx.AsyncClient(timeout=10) as http:
        media.url = media_url
        yield Rig(url, store, clock, media, http)
