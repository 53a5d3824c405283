"""A real HTTP receiver for the delivery worker's tests: a Starlette app served by uvicorn on a
loopback port, on the test's own event loop. Each request is checked with
``standardwebhooks.Webhook(secret).verify`` for every secret it holds (by name, so a test sees
which holders would have accepted it) and answered as scripted: an error status, a 429 with a
``Retry-After``, a 410, slowly (to make the sender time out), or not at all (``stop``: nothing
listens on the port until ``start``).

Time: with ``clock`` None the package's own check runs against wall time, unchanged. With a
driven ``clock`` (the one the worker signs with) the same check measures its 5-minute tolerance
on that clock instead (``_OnClock``), so hours can pass in a test without sleeping."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import uvicorn
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import socket

from dialer.kit.ports import LOOPBACK

TOLERANCE = dt.timedelta(minutes=5)  # the package's own


class _OnClock(Webhook):
    """The package's verifier with its timestamp check read on the test's clock: the rest of
    ``verify`` (headers, every offered signature, constant-time compare, JSON) is the package's."""

    def __init__(self, secret: str, clock: Callable[[], dt.datetime]) -> None:
        super().__init__(secret)
        self._clock = clock

    def _Webhook__verify_timestamp(self, header: str) -> dt.datetime:  # overrides Webhook.__verify_timestamp
        try:
            stamp = dt.datetime.fromtimestamp(float(header), tz=dt.timezone.utc)
        except (TypeError, ValueError, OverflowError):
            raise WebhookVerificationError("Invalid Signature Headers") from None
        if abs(stamp - self._clock()) > TOLERANCE:
            raise WebhookVerificationError("Message timestamp too old or too new")
        return stamp


@dataclass(frozen=True)
class Answer:
    status: int = 204
    retry_after: str | None = None
    delay_s: float = 0.0  # answer this late (longer than the worker's timeout: it gives up)
    hold: asyncio.Event | None = None  # answer once the test sets it


@dataclass(frozen=True)
class Received:
    webhook_id: str
    timestamp: int
    signatures: int  # how many were offered
    verified_by: frozenset[str]  # the names of the secrets that verified it
    body: dict[str, Any] | None
    status: int  # what was answered


class Receiver:
    def __init__(self, secrets: dict[str, str], *, clock: Callable[[], dt.datetime] | None = None,
                 default: Answer = Answer()) -> None:
        self.hooks = {name: Webhook(s) if clock is None else _OnClock(s, clock) for name, s in secrets.items()}
        self.default = default
        self.answers: deque[Answer] = deque()
        self.received: list[Received] = []
        self.in_flight = self.peak_in_flight = 0
        self._sock = _held_port()
        self.port: int = self._sock.getsockname()[1]
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/hooks"

    def script(self, *answers: Answer) -> None:
        """Answer the next requests so, in order; then ``default``."""
        self.answers.extend(answers)

    def delivered(self) -> Counter[str]:
        """How many times each ``webhook-id`` was verified and answered 2xx (the receiver's de-duplication key)."""
        return Counter(r.webhook_id for r in self.received if r.verified_by and 200 <= r.status < 300)

    async def _hook(self, request: Request) -> Response:
        body, headers = await request.body(), dict(request.headers)
        verified, parsed = set(), None
        for name, hook in self.hooks.items():
            try:
                parsed = hook.verify(body, headers)
                verified.add(name)
            except WebhookVerificationError:
                pass
        answer = (self.answers.popleft() if self.answers else self.default) if verified else Answer(401)
        self.received.append(Received(
            headers.get("webhook-id", ""), int(headers.get("webhook-timestamp", "0") or 0),
            len(headers.get("webhook-signature", "").split()), frozenset(verified),
            parsed if parsed is not None else _json_or_none(body), answer.status))
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            if answer.delay_s:
                await asyncio.sleep(answer.delay_s)
            if answer.hold is not None:
                await answer.hold.wait()
        finally:
            self.in_flight -= 1
        extra = {"retry-after": answer.retry_after} if answer.retry_after is not None else {}
        return Response(status_code=answer.status, headers=extra)

    async def start(self) -> None:
        """Listen (again, on the same port)."""
        app = Starlette(routes=[Route("/hooks", self._hook, methods=["POST"])])
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False,
                                                     timeout_graceful_shutdown=1))
        self._task = asyncio.create_task(self._server.serve(sockets=[self._sock]))
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise RuntimeError(f"the test receiver did not start on port {self.port}")
            await asyncio.sleep(0.005)

    async def stop(self) -> None:
        """Stop listening: a request now is refused (connection refused), as from a receiver that is down."""
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
            self._sock = _held_port(self.port)  # bound, not listening: connections refused, the port kept
        self._server = self._task = None


def _json_or_none(body: bytes) -> dict[str, Any] | None:
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _held_port(port: int = 0) -> socket.socket:
    """A TCP socket bound to ``port`` on loopback (any free one for 0) and kept: no other process
    can take the port while the receiver is down (bound, not listening: connections are refused)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((LOOPBACK, port))
    return sock
